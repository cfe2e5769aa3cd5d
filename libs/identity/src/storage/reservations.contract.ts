import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReservationStore } from './reservations';

export interface ReservationsFixture {
  reservations: ReservationStore;
  /** Makes every reservation held now older than the orphan age. */
  age(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The reservations' contract, run unchanged against every implementation (in memory in unit tests,
 * PostgreSQL in integration tests). Each run uses its own names and ids, so implementations may share a
 * database.
 */
export function describeReservationsContract(name: string, setup: () => Promise<ReservationsFixture>): void {
  describe(`ReservationStore contract: ${name}`, () => {
    let f: ReservationsFixture;
    const run = Math.random().toString(36).slice(2, 8);
    const id = (s: string) => `${s}${run}`;
    const route = (host: string, pathPrefix = '/') => ({ host: id(host), pathPrefix });

    beforeAll(async () => {
      f = await setup();
    });
    afterAll(() => f?.close());

    it('a user name is held by one user; its holder may take it again, release it, or lose it only when old', async () => {
      const r = f.reservations;
      expect(await r.reserveUserName(id('ada'), id('usr_1'))).toEqual({ ok: true });
      expect(await r.reserveUserName(id('ada'), id('usr_1'))).toEqual({ ok: true });
      expect(await r.reserveUserName(id('ada'), id('usr_2'))).toEqual({ ok: false, heldBy: id('usr_1'), old: false });
      // Only the holder releases it.
      await r.releaseUserName(id('ada'), id('usr_2'));
      expect(await r.reserveUserName(id('ada'), id('usr_2'))).toMatchObject({ ok: false, heldBy: id('usr_1') });
      await r.releaseUserName(id('ada'), id('usr_1'));
      expect(await r.reserveUserName(id('ada'), id('usr_2'))).toEqual({ ok: true });

      expect(await r.reserveUserName(id('bea'), id('usr_3'))).toEqual({ ok: true });
      await f.age();
      expect(await r.reserveUserName(id('bea'), id('usr_4'))).toEqual({ ok: false, heldBy: id('usr_3'), old: true });
      expect(await r.takeOverUserName(id('bea'), id('usr_x'), id('usr_4'))).toBe(false);
      expect(await r.takeOverUserName(id('bea'), id('usr_3'), id('usr_4'))).toBe(true);
      // Taken over now: young again, and no longer the orphan holder's.
      expect(await r.reserveUserName(id('bea'), id('usr_5'))).toEqual({ ok: false, heldBy: id('usr_4'), old: false });
      expect(await r.takeOverUserName(id('bea'), id('usr_3'), id('usr_5'))).toBe(false);
    });

    it('an (idp, subject) link names one user, per connector', async () => {
      const r = f.reservations;
      expect(await r.findSubject(id('corp'), '00u1')).toBeUndefined();
      expect(await r.linkSubject(id('corp'), '00u1', id('usr_1'))).toEqual({ ok: true });
      expect(await r.linkSubject(id('corp'), '00u1', id('usr_1'))).toEqual({ ok: true });
      expect(await r.linkSubject(id('corp'), '00u1', id('usr_2'))).toEqual({
        ok: false,
        heldBy: id('usr_1'),
        old: false,
      });
      expect(await r.linkSubject(id('other'), '00u1', id('usr_2'))).toEqual({ ok: true });
      expect(await r.findSubject(id('corp'), '00u1')).toEqual({ userId: id('usr_1'), old: false });
      await r.unlinkSubject(id('corp'), '00u1', id('usr_2'));
      expect((await r.findSubject(id('corp'), '00u1'))?.userId).toBe(id('usr_1'));
      await f.age();
      expect(await r.findSubject(id('corp'), '00u1')).toEqual({ userId: id('usr_1'), old: true });
      expect(await r.takeOverSubject(id('corp'), '00u1', id('usr_9'), id('usr_3'))).toBe(false);
      expect(await r.takeOverSubject(id('corp'), '00u1', id('usr_1'), id('usr_3'))).toBe(true);
      expect(await r.findSubject(id('corp'), '00u1')).toEqual({ userId: id('usr_3'), old: false });
      await r.unlinkSubject(id('corp'), '00u1', id('usr_3'));
      expect(await r.findSubject(id('corp'), '00u1')).toBeUndefined();
    });

    it('routes are reserved all or nothing, each new one reported once', async () => {
      const r = f.reservations;
      const [a, b, c] = [route('a.example.com'), route('b.example.com', '/v1'), route('c.example.com')];
      expect(await r.reserveRoutes(id('dep_1'), [])).toEqual({ reserved: [] });
      expect(await r.reserveRoutes(id('dep_1'), [a, a])).toEqual({ reserved: [a] });
      expect(await r.reserveRoutes(id('dep_1'), [a, b])).toEqual({ reserved: [b] });
      expect(await r.reserveRoutes(id('dep_2'), [c, a])).toEqual({
        conflicts: [{ ...a, heldBy: id('dep_1'), old: false }],
      });
      // Nothing of a refused reservation was kept: c is free.
      expect(await r.reserveRoutes(id('dep_3'), [c])).toEqual({ reserved: [c] });
      // The same host under another prefix is another route.
      expect(await r.reserveRoutes(id('dep_2'), [{ ...a, pathPrefix: '/v2' }])).toEqual({
        reserved: [{ ...a, pathPrefix: '/v2' }],
      });
      await r.releaseRoutes(id('dep_2'), [a]);
      await r.releaseRoutes(id('dep_1'), [b]);
      expect(await r.reserveRoutes(id('dep_2'), [b])).toEqual({ reserved: [b] });
      await f.age();
      expect(await r.reserveRoutes(id('dep_4'), [a])).toEqual({
        conflicts: [{ ...a, heldBy: id('dep_1'), old: true }],
      });
      expect(await r.takeOverRoute(a, id('dep_9'), id('dep_4'))).toBe(false);
      expect(await r.takeOverRoute(a, id('dep_1'), id('dep_4'))).toBe(true);
      expect(await r.reserveRoutes(id('dep_1'), [a])).toEqual({
        conflicts: [{ ...a, heldBy: id('dep_4'), old: false }],
      });
    });
  });
}
