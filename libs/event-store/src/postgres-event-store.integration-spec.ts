import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PoolClient } from 'pg';
import { Registry } from 'prom-client';
import { eventually } from '../../../test/support';
import { actor, pgFixture, type PgFixture, quietLogger } from '../test/fixtures';
import { eventStoreContract } from '../test/event-store-contract';
import { logSourceContract, Recorder } from '../test/log-source-contract';
import { withEventReceipt } from '../test/receipts';
import {
  EventReceipt,
  IdempotencyKeyReusedError,
  PostgresEventStore,
  PostgresLogSource,
  VersionConflictError,
} from './index';
import { borrow, giveBack } from './pg';

let fx: PgFixture;
beforeAll(async () => {
  fx = await pgFixture(['keys', 'identity']);
});
afterAll(async () => {
  await fx?.close();
});

/** A connection of its own, for holding a transaction open. */
async function connection() {
  const borrowed = await borrow(fx.dataSource);
  const client = borrowed.client as PoolClient;
  // never hand a connection back to the pool inside a transaction: it would hold xmin for everyone
  return {
    client,
    release: async () =>
      giveBack(
        borrowed,
        await client.query('ROLLBACK').then(
          () => undefined,
          (e) => e,
        ),
      ),
  };
}

// The same contract the in-memory fake passes (in-memory.spec.ts).
eventStoreContract('PostgreSQL', async (inlineProjections) =>
  inlineProjections
    ? new PostgresEventStore({ dataSource: fx.dataSource, schema: 'keys', registry: new Registry(), inlineProjections })
    : fx.store('keys'),
);

describe('PostgresEventStore: inline projections', () => {
  it("write through the append's transaction: their rows commit with its events and roll back with them", async () => {
    await fx.dataSource.query(
      'CREATE TABLE keys.inline_counts (stream_id text PRIMARY KEY, n int NOT NULL, last_version int NOT NULL)',
    );
    const store = new PostgresEventStore({
      dataSource: fx.dataSource,
      schema: 'keys',
      registry: new Registry(),
      inlineProjections: [
        {
          handles: ['Counted'],
          async apply(events, tx) {
            for (const e of events) {
              await tx.query(
                `INSERT INTO keys.inline_counts VALUES ($1, 1, $2)
                 ON CONFLICT (stream_id) DO UPDATE SET n = inline_counts.n + 1, last_version = $2`,
                [e.streamId, e.streamVersion],
              );
            }
            if (events.some((e) => (e.data as { refuse?: boolean }).refuse)) throw new Error('refused');
          },
        },
      ],
    });
    const counts = async () =>
      Object.fromEntries(
        (
          (await fx.dataSource.query('SELECT stream_id, n FROM keys.inline_counts')) as {
            stream_id: string;
            n: number;
          }[]
        ).map((r) => [r.stream_id, r.n]),
      );
    await store.append('count-a', 0, [{ type: 'Counted', data: {} }], { metadata: actor });
    await expect(
      store.append('count-a', 1, [{ type: 'Counted', data: { refuse: true } }], { metadata: actor }),
    ).rejects.toThrow('refused');
    // A lost race inserts nothing, so projects nothing.
    await expect(
      store.append('count-a', 0, [{ type: 'Counted', data: {} }], { metadata: actor }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    // Concurrent appends a projection handles each get their own transaction (no group commit), all counted.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.append(`count-b${i}`, 0, [{ type: 'Counted', data: {} }], { metadata: actor }),
      ),
    );
    const after = await counts();
    expect(after['count-a']).toBe(1);
    expect((await store.readStream('count-a')).version).toBe(1);
    expect(Object.keys(after).filter((k) => k.startsWith('count-b'))).toHaveLength(20);
  });
});

describe('PostgresEventStore: append', () => {
  it('appends with optimistic concurrency and reads the stream back', async () => {
    const store = fx.store('keys');
    const first = await store.append('key_a', 0, [{ type: 'KeyCreated', data: { hash: 'h1' } }], {
      metadata: { ...actor, correlationId: 'req_1', causationId: 'cmd_1' },
    });
    expect(first).toMatchObject({ streamId: 'key_a', version: 1, replayed: false });
    const [created] = first.events;
    expect(created).toMatchObject({
      source: '/tollgate/keys',
      streamId: 'key_a',
      streamVersion: 1,
      type: 'KeyCreated',
      data: { hash: 'h1' },
      metadata: {
        actor: 'usr_test',
        channel: 'test',
        correlationId: 'req_1',
        causationId: 'cmd_1',
        idempotencyKey: null,
      },
    });
    expect(created!.id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(created!.metadata.recordedAt).toBe(created!.recordedAt.toISOString());
    await store.append(
      'key_a',
      1,
      [
        { type: 'KeyRenamed', data: {} },
        { type: 'KeyRevoked', data: {} },
      ],
      { metadata: actor },
    );
    const slice = await store.readStream('key_a');
    expect(slice.version).toBe(3);
    expect(slice.events.map((e) => [e.streamVersion, e.type])).toEqual([
      [1, 'KeyCreated'],
      [2, 'KeyRenamed'],
      [3, 'KeyRevoked'],
    ]);
    expect(slice.events[0]).toEqual(created);
    // positions follow versions inside one append
    expect(slice.events[2]!.position).toBe(slice.events[1]!.position + 1);
    expect((await store.readStream('key_a', { fromVersion: 3 })).events.map((e) => e.type)).toEqual(['KeyRevoked']);
    expect((await store.readStream('key_none')).version).toBe(0);
  });

  it('refuses a stale expected version with VersionConflictError', async () => {
    const store = fx.store('keys');
    await store.append('key_b', 0, [{ type: 'KeyCreated', data: {} }], { metadata: actor });
    const error = await store
      .append('key_b', 0, [{ type: 'KeyCreated', data: {} }], { metadata: actor })
      .catch((e) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ code: 'version-conflict', streamId: 'key_b', expectedVersion: 0, actualVersion: 1 });
  });

  it('lets exactly one of many concurrent appends at the same version win', async () => {
    const store = fx.store('keys');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        store.append('key_race', 0, [{ type: 'KeyCreated', data: { i } }], { metadata: actor }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(VersionConflictError);
    expect((await store.readStream('key_race')).version).toBe(1);
  });

  it("'any' appends never conflict, even concurrently", async () => {
    const store = fx.store('keys');
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store.append('key_any', 'any', [{ type: 'Touched', data: { i } }], { metadata: actor }),
      ),
    );
    const slice = await store.readStream('key_any');
    expect(slice.events.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('is append-only: updates and deletes are refused by the database', async () => {
    await expect(fx.dataSource.query(`UPDATE keys.events SET type = 'X'`)).rejects.toThrow(/append-only/);
    await expect(fx.dataSource.query(`DELETE FROM keys.events`)).rejects.toThrow(/append-only/);
  });
});

describe('PostgresEventStore: group commit (appends without an idempotency key)', () => {
  /** The writer transaction of each event: appends of one group share one. */
  async function transactionsOf(streams: string[]): Promise<Map<string, string>> {
    const rows = (await fx.dataSource.query(
      `SELECT stream_id, tx_id::text AS tx FROM keys.events WHERE stream_id = ANY($1)`,
      [streams],
    )) as { stream_id: string; tx: string }[];
    return new Map(rows.map((r) => [r.stream_id, r.tx]));
  }

  it('commits concurrent appends to distinct streams in fewer transactions, each its own event, version and receipt', async () => {
    const store = fx.store('keys');
    const streams = Array.from({ length: 40 }, (_, i) => `key_group_${i}`);
    const receipts = streams.map(() => new EventReceipt());
    const results = await Promise.all(
      streams.map((stream, i) =>
        withEventReceipt(receipts[i]!, () =>
          store.append(
            stream,
            0,
            [
              { type: 'KeyCreated', data: { i } },
              { type: 'KeyRevoked', data: { i } },
            ],
            {
              metadata: { ...actor, causationId: `cause-${i}` },
            },
          ),
        ),
      ),
    );
    results.forEach((result, i) => {
      expect(result.streamId).toBe(streams[i]);
      expect(result.version).toBe(2);
      expect(result.events.map((e) => [e.streamId, e.streamVersion, e.type])).toEqual([
        [streams[i], 1, 'KeyCreated'],
        [streams[i], 2, 'KeyRevoked'],
      ]);
      expect(result.events[0]!.metadata.causationId).toBe(`cause-${i}`);
      expect(receipts[i]!.eventIds).toEqual(result.events.map((e) => e.id));
    });
    const transactions = new Set((await transactionsOf(streams)).values());
    expect(transactions.size).toBeLessThan(streams.length);
    for (const stream of streams) expect((await store.readStream(stream)).events).toHaveLength(2);
  });

  it('a stale expected version in a group fails that append alone; the others commit in the same transaction', async () => {
    const store = fx.store('keys');
    await store.append('key_group_stale', 0, [{ type: 'KeyCreated', data: {} }], { metadata: actor });
    const streams = Array.from({ length: 10 }, (_, i) => `key_group_ok_${i}`);
    const settled = await Promise.allSettled([
      ...streams.map((stream) => store.append(stream, 0, [{ type: 'KeyCreated', data: {} }], { metadata: actor })),
      store.append('key_group_stale', 0, [{ type: 'KeyRevoked', data: {} }], { metadata: actor }),
    ]);
    const stale = settled.pop()!;
    expect(stale.status).toBe('rejected');
    expect((stale as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
    expect((stale as PromiseRejectedResult).reason.actualVersion).toBe(1);
    expect(settled.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(new Set((await transactionsOf(streams)).values()).size).toBeLessThan(streams.length);
    expect((await store.readStream('key_group_stale')).version).toBe(1);
  });

  it('each append of a group gets the version of its own stream, whatever the others were at', async () => {
    const store = fx.store('keys');
    const streams = Array.from({ length: 12 }, (_, i) => `key_group_at_${i}`);
    // Stream i starts at version i % 4.
    for (const [i, stream] of streams.entries())
      for (let v = 0; v < i % 4; v++)
        await store.append(stream, v, [{ type: 'KeyCreated', data: {} }], { metadata: actor });
    const results = await Promise.all(
      streams.map((stream, i) =>
        store.append(
          stream,
          'any',
          [
            { type: 'KeyRevoked', data: { i } },
            { type: 'KeyRevoked', data: { i } },
          ],
          {
            metadata: actor,
          },
        ),
      ),
    );
    results.forEach((result, i) => {
      expect(result.version).toBe((i % 4) + 2);
      expect(result.events.map((e) => [e.streamId, e.streamVersion, e.data])).toEqual([
        [streams[i], (i % 4) + 1, { i }],
        [streams[i], (i % 4) + 2, { i }],
      ]);
    });
    expect(new Set((await transactionsOf(streams.filter((_, i) => i % 4 === 0))).values()).size).toBeLessThan(3);
  });

  it('two appends to one stream never share a group: the second is decided after the first', async () => {
    const store = fx.store('keys');
    const [first, second, third] = await Promise.allSettled([
      store.append('key_group_same', 0, [{ type: 'KeyCreated', data: {} }], { metadata: actor }),
      store.append('key_group_same', 1, [{ type: 'KeyRevoked', data: {} }], { metadata: actor }),
      store.append('key_group_same', 1, [{ type: 'KeyRevoked', data: {} }], { metadata: actor }),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('fulfilled');
    expect(third.status).toBe('rejected');
    expect((await store.readStream('key_group_same')).events.map((e) => e.type)).toEqual(['KeyCreated', 'KeyRevoked']);
  });
});

describe('PostgresEventStore: idempotency keys', () => {
  it('returns the first result for a repeat and appends nothing', async () => {
    const store = fx.store('keys');
    const events = [{ type: 'KeyCreated', data: { name: 'ci' } }];
    const first = await store.append('key_i1', 0, events, { metadata: actor, idempotencyKey: 'idem-1' });
    const again = await store.append('key_i1', 0, events, { metadata: actor, idempotencyKey: 'idem-1' });
    expect(again).toEqual({ ...first, replayed: true });
    expect((await store.readStream('key_i1')).version).toBe(1);
    expect(first.events[0]!.metadata.idempotencyKey).toBe('idem-1');
  });

  it('refuses the same key with a different request', async () => {
    const store = fx.store('keys');
    await store.append('key_i2', 0, [{ type: 'KeyCreated', data: { name: 'a' } }], {
      metadata: actor,
      idempotencyKey: 'idem-2',
    });
    const error = await store
      .append('key_i2', 1, [{ type: 'KeyCreated', data: { name: 'b' } }], { metadata: actor, idempotencyKey: 'idem-2' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(error.code).toBe('idempotency-key-reused');
  });

  it('concurrent requests with one key: one appends, the others get its result', async () => {
    const store = fx.store('keys');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store.append(`key_ic${i}`, 0, [{ type: 'KeyCreated', data: {} }], {
          metadata: actor,
          idempotencyKey: 'idem-concurrent',
          fingerprint: 'same-request',
        }),
      ),
    );
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    const winner = results.find((r) => !r.replayed)!;
    for (const r of results) expect(r.events.map((e) => e.id)).toEqual(winner.events.map((e) => e.id));
    const rows = await fx.dataSource.query(`SELECT count(*)::int AS n FROM keys.events WHERE stream_id LIKE 'key_ic%'`);
    expect(rows[0].n).toBe(1);
  });

  it('forgets keys after the window', async () => {
    const store = fx.store('keys');
    const events = [{ type: 'Touched', data: {} }];
    await store.append('key_i3', 'any', events, { metadata: actor, idempotencyKey: 'idem-3' });
    await fx.dataSource.query(
      `UPDATE keys.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'idem-3'`,
    );
    const later = await store.append('key_i3', 'any', events, { metadata: actor, idempotencyKey: 'idem-3' });
    expect(later).toMatchObject({ replayed: false, version: 2 });
  });
});

describe('gap safety in PostgreSQL (read side)', () => {
  /** A log source on the identity store, started and past its first heartbeat, delivering to a new recorder. */
  async function identitySource(options: Partial<ConstructorParameters<typeof PostgresLogSource>[0]> = {}) {
    const recorder = new Recorder();
    const source = new PostgresLogSource({
      dataSource: fx.dataSource,
      stores: [{ schema: 'identity' }],
      logger: quietLogger,
      ...options,
    });
    await source.start({}, recorder.handler);
    await eventually(() => expect(recorder.items.some((i) => i.kind === 'heartbeat')).toBe(true));
    return { recorder, source };
  }

  it('never skips an event whose transaction commits after a later-numbered one', async () => {
    const store = fx.store('identity');
    const { recorder, source } = await identitySource();
    const beats = () => recorder.items.filter((i) => i.kind === 'heartbeat').length;
    const blocker = await connection();
    try {
      // The blocker holds an uncommitted row with the event id A will use: A takes its position, then
      // waits on the unique index. B takes a later position and commits first.
      await blocker.client.query('BEGIN');
      await blocker.client.query(
        `INSERT INTO identity.events (event_id, stream_id, stream_version, type, data, metadata)
         VALUES ('evt_A', 'usr_blocker', 1, 'Blocker', '{}', '{}')`,
      );
      const a = store.append('usr_a', 0, [{ id: 'evt_A', type: 'UserCreated', data: {} }], { metadata: actor });
      await eventually(async () => {
        const rows = await fx.dataSource.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`,
        );
        expect(rows[0].n).toBeGreaterThan(0);
      });
      const b = await store.append('usr_b', 0, [{ type: 'UserCreated', data: {} }], { metadata: actor });
      // B is committed, but a reader by position would checkpoint past A's smaller position here.
      const beatsBefore = beats();
      await eventually(() => expect(beats()).toBeGreaterThan(beatsBefore + 2));
      expect(recorder.events('usr_')).toEqual([]);
      await blocker.client.query('ROLLBACK');
      const aResult = await a;
      expect(aResult.events[0]!.position).toBeLessThan(b.events[0]!.position);
      await eventually(() => expect(recorder.events('usr_').map((e) => e.streamId)).toEqual(['usr_a', 'usr_b']));
    } finally {
      await blocker.release();
      await source.stop();
    }
  });

  it('reads again soon when an older transaction hid a notified append, not a poll later', async () => {
    const store = fx.store('identity');
    // Polls and heartbeats two minutes apart: after the first beat the source reads on a NOTIFY, or on its
    // own re-read after a read that held committed rows back.
    const { recorder, source } = await identitySource({ pollIntervalMs: 120_000, heartbeatIntervalMs: 120_000 });
    const holder = await connection();
    try {
      // Holds an xid and writes nothing to the store: it ends without a NOTIFY.
      await holder.client.query('BEGIN');
      await holder.client.query('SELECT pg_current_xact_id()');
      const later = await store.append('usr_heldback', 0, [{ type: 'UserCreated', data: {} }], { metadata: actor });
      // Its NOTIFY wakes the source, whose read cannot return it while the holder keeps xmin behind it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(recorder.events('usr_heldback')).toEqual([]);
      await holder.client.query('COMMIT');
      // Without the held-back re-read the source would sleep its 120 s poll: this waits 20 s at most.
      await eventually(() => expect(recorder.events('usr_heldback').map((e) => e.id)).toEqual([later.events[0]!.id]), {
        timeoutMs: 20_000,
      });
    } finally {
      await holder.release();
      await source.stop();
    }
  }, 60_000);

  it('the watermark never passes the start of the oldest in-flight writer transaction', async () => {
    const store = fx.store('identity');
    const { recorder, source } = await identitySource({ heartbeatIntervalMs: 20 });
    const writer = await connection();
    try {
      await writer.client.query('BEGIN');
      await writer.client.query(
        `INSERT INTO identity.events (event_id, stream_id, stream_version, type, data, metadata)
         VALUES ('evt_slow', 'usr_w_slow', 1, 'UserCreated', '{}', '{"actor":"usr_test","channel":"test"}')`,
      );
      // The writer has its transaction id now (its first write), so it is "in flight" from here on.
      const started = await writer.client.query<{ t: number }>(
        `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS t`,
      );
      const writerStart = Number(started.rows[0]!.t);
      // Other writers keep committing while it is open; heartbeats keep coming.
      await store.append('usr_w_fast', 0, [{ type: 'UserCreated', data: {} }], { metadata: actor });
      const fastCommitted = Date.now();
      const beatsBefore = recorder.items.filter((i) => i.kind === 'heartbeat').length;
      await eventually(() =>
        expect(recorder.items.filter((i) => i.kind === 'heartbeat').length).toBeGreaterThan(beatsBefore + 5),
      );
      const marks = recorder.items.flatMap((i) => (i.kind === 'heartbeat' ? [i.watermark] : []));
      expect(Math.max(...marks)).toBeLessThanOrEqual(writerStart);
      expect(recorder.events('usr_w_fast')).toEqual([]);
      await writer.client.query('COMMIT');
      // once it commits: both arrive, the slow one first (older transaction), then the watermark moves on
      await eventually(() => {
        const last = recorder.items.at(-1)!;
        expect(last.kind === 'heartbeat' && last.watermark > fastCommitted).toBe(true);
      });
      expect(recorder.events('usr_w_').map((e) => e.streamId)).toEqual(['usr_w_slow', 'usr_w_fast']);
    } finally {
      await writer.release();
      await source.stop();
    }
  });
});

logSourceContract('PostgreSQL (embedded mode)', async () => {
  const store = fx.store('keys');
  return {
    append: (streamId, expectedVersion, events) => store.append(streamId, expectedVersion, events, { metadata: actor }),
    createSource: () =>
      new PostgresLogSource({
        dataSource: fx.dataSource,
        stores: [{ schema: 'keys' }, { schema: 'identity' }],
        logger: quietLogger,
      }),
    close: async () => {},
  };
});

describe('PostgresEventStore: appendMany (several streams, one transaction)', () => {
  it('appends to every stream at its expected version in one transaction, reported on the receipt', async () => {
    const store = fx.store('keys');
    await store.append('many_a', 0, [{ type: 'KeyCreated', data: { n: 1 } }], { metadata: actor });
    const receipt = new EventReceipt();
    const result = await withEventReceipt(receipt, () =>
      store.appendMany(
        [
          { streamId: 'many_a', expectedVersion: 1, events: [{ type: 'KeyRevoked', data: { n: 1 } }] },
          { streamId: 'many_b', expectedVersion: 0, events: [{ type: 'KeyCreated', data: { n: 2 } }] },
        ],
        { metadata: actor },
      ),
    );
    expect(result.replayed).toBe(false);
    expect(result.events.map((e) => [e.streamId, e.streamVersion])).toEqual([
      ['many_a', 2],
      ['many_b', 1],
    ]);
    expect(receipt.eventIds).toEqual(result.events.map((e) => e.id));
    const rows = await fx.dataSource.query(`SELECT DISTINCT tx_id FROM keys.events WHERE event_id = ANY($1)`, [
      result.events.map((e) => e.id),
    ]);
    expect(rows).toHaveLength(1);
  });

  it('appends nothing at all when one stream is not at its expected version', async () => {
    const store = fx.store('keys');
    await store.append('many_c', 0, [{ type: 'KeyCreated', data: {} }], { metadata: actor });
    const attempt = store.appendMany(
      [
        { streamId: 'many_d', expectedVersion: 0, events: [{ type: 'KeyCreated', data: {} }] },
        { streamId: 'many_c', expectedVersion: 0, events: [{ type: 'KeyRevoked', data: {} }] },
      ],
      { metadata: actor },
    );
    await expect(attempt).rejects.toBeInstanceOf(VersionConflictError);
    await expect(attempt).rejects.toMatchObject({ streamId: 'many_c', actualVersion: 1 });
    expect((await store.readStream('many_d')).version).toBe(0);
    expect((await store.readStream('many_c')).version).toBe(1);
  });

  it('replays the stored events for the same idempotency key and fingerprint (receipt included)', async () => {
    const store = fx.store('keys');
    const appends = [{ streamId: 'many_e', expectedVersion: 0, events: [{ type: 'KeyCreated', data: {} }] }];
    const options = { metadata: actor, idempotencyKey: 'many-1', fingerprint: 'f1' };
    const first = await store.appendMany(appends, options);
    const receipt = new EventReceipt();
    const again = await withEventReceipt(receipt, () =>
      store.appendMany([{ ...appends[0]!, streamId: 'many_f' }], options),
    );
    expect(again).toEqual({ events: first.events, replayed: true });
    expect(receipt.eventIds).toEqual(first.events.map((e) => e.id));
    expect((await store.readStream('many_f')).version).toBe(0);
    await expect(store.appendMany(appends, { ...options, fingerprint: 'f2' })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
  });
});
