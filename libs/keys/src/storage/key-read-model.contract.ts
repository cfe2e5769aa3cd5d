import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyStream, type KeyCreated, type KeyEvent } from '@tollgate/contracts';
import type { EventStore } from '@tollgate/event-store';
import type { KeyReadModel, KeyUsageStore } from './key-read-model';

export interface ReadModelFixture {
  store: EventStore;
  reads: KeyReadModel & KeyUsageStore;
  close(): Promise<void>;
}

const meta = { metadata: { actor: 'usr_test', channel: 'rest' } };
const hash = (n: number) => n.toString(16).padStart(64, '0');
const userKey = (
  keyId: string,
  userId: string,
  n: number,
  expiresAt: string | null,
  createdAt = '2026-11-26T06:00:00.000Z',
): KeyEvent => ({
  type: 'KeyCreated',
  data: {
    keyId,
    kind: 'user-key',
    secretHash: hash(n),
    name: `name ${keyId}`,
    userId,
    scope: 'inference',
    expiresAt,
    createdAt,
  } satisfies KeyCreated,
});
const accessKey = (keyId: string, deploymentId: string, slot: 'primary' | 'secondary', n: number): KeyEvent => ({
  type: 'KeyCreated',
  data: {
    keyId,
    kind: 'access-key',
    secretHash: hash(n),
    deploymentId,
    slot,
    expiresAt: null,
    createdAt: '2026-11-26T06:00:00.000Z',
  },
});
const revoked = (keyId: string, reason: 'user' | 'rotated' = 'user'): KeyEvent => ({
  type: 'KeyRevoked',
  data: { keyId, reason, revokedAt: '2026-11-26T07:00:00.000Z' },
});

/**
 * The read model's contract, run unchanged against every implementation (in memory in unit tests,
 * PostgreSQL in integration tests). Each run uses its own ids, so implementations may share a database.
 */
export function describeKeyReadModelContract(name: string, setup: () => Promise<ReadModelFixture>): void {
  describe(`KeyReadModel contract: ${name}`, () => {
    let f: ReadModelFixture;
    const run = Math.random().toString(36).slice(2, 8);
    const id = (s: string) => `key_${s}${run}`;
    const alice = `usr_alice${run}`;
    const bob = `usr_bob${run}`;
    const dep = `dep_a${run}`;
    const revocationIds: Record<string, string> = {};

    beforeAll(async () => {
      f = await setup();
      const add = async (keyId: string, ...events: KeyEvent[]) => {
        const result = await f.store.append(keyStream(keyId), 'any', events, meta);
        for (const e of result.events) if (e.type === 'KeyRevoked') revocationIds[keyId] = e.id;
      };
      await add(id('a1'), userKey(id('a1'), alice, 1, '2026-12-01T00:00:00.000Z'));
      await add(id('a2'), userKey(id('a2'), alice, 2, '2026-11-27T00:00:00.000Z'));
      await add(id('a3'), userKey(id('a3'), alice, 3, '2026-11-28T00:00:00.000Z'));
      await add(id('a3'), revoked(id('a3')));
      await add(id('a4'), userKey(id('a4'), alice, 4, '2026-11-20T00:00:00.000Z')); // expired
      await add(id('a5'), userKey(id('a5'), alice, 5, null));
      await add(id('b1'), userKey(id('b1'), bob, 6, '2026-11-29T00:00:00.000Z'));
      await add(id('p1'), accessKey(id('p1'), dep, 'primary', 7));
      await add(id('s1'), accessKey(id('s1'), dep, 'secondary', 8));
      await add(id('p1'), revoked(id('p1'), 'rotated'));
      await add(id('p2'), accessKey(id('p2'), dep, 'primary', 9));
      await add(id('x1'), accessKey(id('x1'), `dep_other${run}`, 'primary', 10));
    });
    afterAll(() => f?.close());

    it('finds a key by id and by secret hash, with its revocation and version', async () => {
      const key = await f.reads.byId(id('a3'));
      expect(key).toMatchObject({
        keyId: id('a3'),
        kind: 'user-key',
        userId: alice,
        scope: 'inference',
        name: `name ${id('a3')}`,
        revokedAt: '2026-11-26T07:00:00.000Z',
        revocationReason: 'user',
        revocationEventId: revocationIds[id('a3')],
        version: 2,
      });
      expect((await f.reads.bySecretHash(hash(1)))?.keyId).toBe(id('a1'));
      expect((await f.reads.byId(id('a1')))?.version).toBe(1);
      expect(await f.reads.byId(id('nope'))).toBeUndefined();
      expect(await f.reads.bySecretHash('f'.repeat(64))).toBeUndefined();
    });

    it("lists a user's keys (user keys only, revoked included), oldest first", async () => {
      expect((await f.reads.userKeys(alice)).map((k) => k.keyId)).toEqual([
        id('a1'),
        id('a2'),
        id('a3'),
        id('a4'),
        id('a5'),
      ]);
      expect((await f.reads.userKeys(bob)).map((k) => k.keyId)).toEqual([id('b1')]);
      expect(await f.reads.userKeys(`usr_nobody${run}`)).toEqual([]);
    });

    it('counts active keys per owner (neither revoked nor expired)', async () => {
      const counts = (await f.reads.countsByUser('2026-11-26T12:00:00.000Z')).filter((c) => c.userId.endsWith(run));
      expect(counts).toEqual(
        expect.arrayContaining([
          { userId: alice, active: 3 },
          { userId: bob, active: 1 },
        ]),
      );
      expect(counts).toHaveLength(2);
    });

    it('lists unrevoked keys expiring within a window, soonest first, for one user or all', async () => {
      const from = '2026-11-26T12:00:00.000Z';
      const mine = await f.reads.expiring(from, '2026-11-30T00:00:00.000Z', alice);
      expect(mine.map((k) => k.keyId)).toEqual([id('a2')]);
      const all = (await f.reads.expiring(from, '2026-12-01T00:00:00.000Z')).filter((k) => k.keyId.endsWith(run));
      expect(all.map((k) => k.keyId)).toEqual([id('a2'), id('b1'), id('a1')]);
    });

    it('lists the unrevoked keys of users and deployments (expired included), oldest first', async () => {
      const ids = async (userIds: string[], deploymentIds: string[]) =>
        (await f.reads.unrevoked({ userIds, deploymentIds })).map((k) => k.keyId);
      expect(await ids([alice], [])).toEqual([id('a1'), id('a2'), id('a4'), id('a5')]);
      expect(await ids([], [dep])).toEqual([id('s1'), id('p2')]);
      expect(await ids([bob], [dep, `dep_other${run}`])).toEqual([id('b1'), id('s1'), id('p2'), id('x1')]);
      // an access key is never a user's, a user key never a deployment's
      expect(await ids([dep], [alice])).toEqual([]);
      expect(await ids([], [])).toEqual([]);
    });

    it("shows each key's last use, which only moves forward, in every listing", async () => {
      expect((await f.reads.byId(id('b1')))?.lastUsedAt).toBeNull();
      await f.reads.recordUsage([
        { keyId: id('a2'), lastUsedAt: '2026-11-26T08:01:00.000Z' },
        { keyId: id('b1'), lastUsedAt: '2026-11-26T08:05:00.000Z' },
      ]);
      // a late or replayed batch with an older minute changes nothing; a newer one moves it
      await f.reads.recordUsage([
        { keyId: id('a2'), lastUsedAt: '2026-11-26T08:03:00.000Z' },
        { keyId: id('b1'), lastUsedAt: '2026-11-26T08:04:00.000Z' },
      ]);
      await f.reads.recordUsage([]);
      expect((await f.reads.byId(id('a2')))?.lastUsedAt).toBe('2026-11-26T08:03:00.000Z');
      expect((await f.reads.byId(id('b1')))?.lastUsedAt).toBe('2026-11-26T08:05:00.000Z');
      const listed = await f.reads.userKeys(alice);
      expect(listed.map((k) => k.lastUsedAt)).toEqual([null, '2026-11-26T08:03:00.000Z', null, null, null]);
      const expiring = await f.reads.expiring('2026-11-26T12:00:00.000Z', '2026-11-30T00:00:00.000Z', alice);
      expect(expiring.map((k) => k.lastUsedAt)).toEqual(['2026-11-26T08:03:00.000Z']);
    });

    it("gives a deployment's access-key events in commit order", async () => {
      const events = await f.reads.accessKeyEvents(dep);
      expect(events.map((e) => `${e.type}:${(e.data as { keyId: string }).keyId}`)).toEqual([
        `KeyCreated:${id('p1')}`,
        `KeyCreated:${id('s1')}`,
        `KeyRevoked:${id('p1')}`,
        `KeyCreated:${id('p2')}`,
      ]);
    });
  });
}
