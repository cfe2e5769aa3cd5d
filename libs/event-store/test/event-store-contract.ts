// One contract for every EventStore: the in-memory fake that unit tests use passes exactly what the
// PostgreSQL store passes (in-memory.spec.ts, postgres-event-store.integration-spec.ts).
import { describe, expect, it } from '@jest/globals';
import { EventReceipt } from '../src/committed-events';
import { withEventReceipt } from './receipts';
import { IdempotencyKeyReusedError, InvalidStreamIdError, VersionConflictError } from '../src/errors';
import type { EventStore, InlineProjection, RecordedEvent } from '../src/types';

const metadata = { actor: 'usr_contract', channel: 'rest', correlationId: 'req_contract' };

/**
 * `makeStore` gives a store (with these inline projections, when given); stream ids carry a per-call prefix
 * so one store may serve every case.
 */
export function eventStoreContract(
  name: string,
  makeStore: (inlineProjections?: InlineProjection<unknown>[]) => Promise<EventStore>,
): void {
  let n = 0;
  const stream = (label: string) => `contract-${Date.now().toString(36)}-${++n}-${label}`;

  describe(`EventStore contract: ${name}`, () => {
    it('appends at the expected version and reads the stream back in order, with the metadata', async () => {
      const store = await makeStore();
      const s = stream('a');
      const first = await store.append(s, 0, [{ type: 'Created', data: { b: 2, a: 1 } }], { metadata });
      const second = await store.append(s, 1, [{ type: 'Changed', data: { x: [1, 'two'] } }], { metadata });
      expect([first.version, second.version]).toEqual([1, 2]);
      const slice = await store.readStream(s);
      expect(slice.version).toBe(2);
      expect(slice.events.map((e) => [e.streamVersion, e.type, e.data])).toEqual([
        [1, 'Created', { a: 1, b: 2 }],
        [2, 'Changed', { x: [1, 'two'] }],
      ]);
      expect(slice.events[0]!.metadata).toMatchObject({ actor: 'usr_contract', channel: 'rest' });
      expect(slice.events[0]!.source).toBe(store.source);
      expect((await store.readStream(s, { fromVersion: 2 })).events.map((e) => e.type)).toEqual(['Changed']);
    });

    it('refuses a stale expected version with VersionConflictError and appends nothing', async () => {
      const store = await makeStore();
      const s = stream('stale');
      await store.append(s, 0, [{ type: 'Created', data: {} }], { metadata });
      await expect(store.append(s, 0, [{ type: 'Again', data: {} }], { metadata })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      expect((await store.readStream(s)).version).toBe(1);
    });

    it("appends at any version with 'any'", async () => {
      const store = await makeStore();
      const s = stream('any');
      await store.append(s, 'any', [{ type: 'One', data: {} }], { metadata });
      const r = await store.append(s, 'any', [{ type: 'Two', data: {} }], { metadata });
      expect(r.version).toBe(2);
    });

    it('refuses an empty or oversized stream id', async () => {
      const store = await makeStore();
      await expect(store.append('', 0, [{ type: 'T', data: {} }], { metadata })).rejects.toBeInstanceOf(
        InvalidStreamIdError,
      );
      await expect(store.append('s'.repeat(201), 0, [{ type: 'T', data: {} }], { metadata })).rejects.toBeInstanceOf(
        InvalidStreamIdError,
      );
    });

    it('replays the first result for the same idempotency key and request, and refuses it for another', async () => {
      const store = await makeStore();
      const s = stream('idem');
      const options = { metadata, idempotencyKey: `key-${s}` };
      const first = await store.append(s, 0, [{ type: 'Created', data: { v: 1 } }], options);
      const again = await store.append(s, 0, [{ type: 'Created', data: { v: 1 } }], options);
      expect(again.replayed).toBe(true);
      expect(again.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
      expect((await store.readStream(s)).version).toBe(1);
      await expect(store.append(s, 0, [{ type: 'Created', data: { v: 2 } }], options)).rejects.toBeInstanceOf(
        IdempotencyKeyReusedError,
      );
      // Another caller's key of the same text is another key.
      const other = await store.append(stream('idem-other'), 0, [{ type: 'Created', data: { v: 2 } }], {
        metadata: { ...metadata, actor: 'usr_other' },
        idempotencyKey: `key-${s}`,
      });
      expect(other.replayed).toBe(false);
    });

    it('appends to several streams all or nothing', async () => {
      const store = await makeStore();
      const [a, b] = [stream('many-a'), stream('many-b')];
      await store.append(b, 0, [{ type: 'Created', data: {} }], { metadata });
      await expect(
        store.appendMany(
          [
            { streamId: a, expectedVersion: 0, events: [{ type: 'Created', data: {} }] },
            { streamId: b, expectedVersion: 0, events: [{ type: 'Revoked', data: {} }] },
          ],
          { metadata },
        ),
      ).rejects.toBeInstanceOf(VersionConflictError);
      expect((await store.readStream(a)).version).toBe(0);
      const done = await store.appendMany(
        [
          { streamId: a, expectedVersion: 0, events: [{ type: 'Created', data: {} }] },
          { streamId: b, expectedVersion: 1, events: [{ type: 'Revoked', data: {} }] },
        ],
        { metadata },
      );
      expect(done.events.map((e) => [e.streamId, e.streamVersion])).toEqual([
        [a, 1],
        [b, 2],
      ]);
      await expect(
        store.appendMany(
          [
            { streamId: a, expectedVersion: 'any', events: [{ type: 'T', data: {} }] },
            { streamId: a, expectedVersion: 'any', events: [{ type: 'T', data: {} }] },
          ],
          { metadata },
        ),
      ).rejects.toBeInstanceOf(InvalidStreamIdError);
    });

    it('reports what it committed, and what it replayed, on the current receipt', async () => {
      const store = await makeStore();
      const s = stream('receipt');
      const options = { metadata, idempotencyKey: `key-${s}` };
      const receipt = new EventReceipt();
      const first = await withEventReceipt(receipt, () => store.append(s, 0, [{ type: 'Created', data: {} }], options));
      expect(receipt.eventIds).toEqual(first.events.map((e) => e.id));
      const replayReceipt = new EventReceipt();
      await withEventReceipt(replayReceipt, () => store.append(s, 0, [{ type: 'Created', data: {} }], options));
      expect(replayReceipt.eventIds).toEqual(first.events.map((e) => e.id));
    });

    describe('inline projections', () => {
      /** Sees what it handles; refuses (throws on) an event whose data says `poison`. */
      const projection = () => {
        const seen: RecordedEvent[] = [];
        const applied: InlineProjection<unknown> = {
          handles: ['Created', 'Renamed'],
          async apply(events) {
            if (events.some((e) => (e.data as { poison?: boolean }).poison)) throw new Error('projection refused');
            seen.push(...events);
          },
        };
        return { seen, applied };
      };

      it('runs in the append, on the events it handles only, with their versions and positions', async () => {
        const { seen, applied } = projection();
        const store = await makeStore([applied]);
        const s = stream('inline');
        const first = await store.append(
          s,
          0,
          [
            { type: 'Created', data: { n: 1 } },
            { type: 'Other', data: {} },
          ],
          { metadata },
        );
        expect(seen.map((e) => [e.id, e.streamVersion, e.position])).toEqual([
          [first.events[0]!.id, 1, first.events[0]!.position],
        ]);
        await store.append(s, 2, [{ type: 'Other', data: {} }], { metadata });
        expect(seen).toHaveLength(1);
        const [a, b] = [stream('inline-many-a'), stream('inline-many-b')];
        const many = await store.appendMany(
          [
            { streamId: a, expectedVersion: 0, events: [{ type: 'Created', data: {} }] },
            { streamId: b, expectedVersion: 0, events: [{ type: 'Renamed', data: {} }] },
          ],
          { metadata },
        );
        expect(seen.slice(1).map((e) => e.id)).toEqual(many.events.map((e) => e.id));
        // A replay of an idempotency key appends nothing, so projects nothing.
        const keyed = { metadata, idempotencyKey: `key-${s}` };
        const k = stream('inline-key');
        await store.append(k, 0, [{ type: 'Created', data: {} }], keyed);
        await store.append(k, 0, [{ type: 'Created', data: {} }], keyed);
        expect(seen).toHaveLength(4);
      });

      it('one that throws rolls the append back: nothing is stored, single or multi-stream', async () => {
        const { seen, applied } = projection();
        const store = await makeStore([applied]);
        const s = stream('inline-poison');
        const poison = { type: 'Created', data: { poison: true } };
        await expect(store.append(s, 0, [poison], { metadata })).rejects.toThrow('projection refused');
        await expect(store.append(s, 0, [poison], { metadata, idempotencyKey: `key-${s}` })).rejects.toThrow(
          'projection refused',
        );
        await expect(
          store.appendMany(
            [
              { streamId: s, expectedVersion: 0, events: [{ type: 'Created', data: {} }] },
              { streamId: stream('inline-poison-b'), expectedVersion: 0, events: [poison] },
            ],
            { metadata },
          ),
        ).rejects.toThrow('projection refused');
        expect((await store.readStream(s)).version).toBe(0);
        expect(seen).toEqual([]);
        // The key was not spent on the failed append.
        const ok = await store.append(s, 0, [{ type: 'Created', data: {} }], { metadata, idempotencyKey: `key-${s}2` });
        expect(ok.replayed).toBe(false);
        expect(seen.map((e) => e.id)).toEqual(ok.events.map((e) => e.id));
      });
    });

    it('lists committed events by position after a given one', async () => {
      const store = await makeStore();
      const s = stream('all');
      const r = await store.append(
        s,
        0,
        [
          { type: 'One', data: {} },
          { type: 'Two', data: {} },
        ],
        { metadata },
      );
      const after = r.events[0]!.position;
      const page = await store.readAll({ after, limit: 1000 });
      expect(page[0]!.id).toBe(r.events[1]!.id);
      for (let i = 1; i < page.length; i++) expect(page[i]!.position).toBeGreaterThan(page[i - 1]!.position);
    });
  });
}
