import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kafka, Producer, ProducerRecord } from 'kafkajs';
import type { PoolClient } from 'pg';
import { Registry } from 'prom-client';
import { eventually, testKafkaBrokers, uniqueName } from '../../../test/support';
import { type ChildRelay, compileLibrary, spawnRelay } from '../test/child-relay';
import { actor, pgFixture, type PgFixture, quietLogger, testKafka } from '../test/fixtures';
import { Recorder } from '../test/log-source-contract';
import { KafkaLogSource, type Projection, ProjectionRunner, type RecordedEvent, Relay } from './index';
import { borrow, giveBack } from './pg';
import { createDataSource } from '@tollgate/database';

const SCHEMAS = ['ooo', 'crash', 'standby', 'inflight', 'bulk', 'topic', 'lossy', 'heldback'];

let fx: PgFixture;
let kafka: Kafka;
let library: ReturnType<typeof compileLibrary>;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  library = compileLibrary();
  fx = await pgFixture(SCHEMAS, 20);
  kafka = testKafka();
});
// Each test stops its relays, readers and child processes, so the next one runs on a quiet machine.
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await fx?.close();
  library?.cleanup();
});

function relayFor(schema: string, topic: string, extra: Partial<ConstructorParameters<typeof Relay>[0]> = {}): Relay {
  const relay = new Relay({
    dataSource: fx.dataSource,
    schema,
    kafka,
    topic,
    partitions: 3,
    registry: new Registry(),
    logger: quietLogger,
    ...extra,
  });
  cleanups.push(() => relay.stop());
  return relay;
}

async function reader(topic: string): Promise<Recorder> {
  const recorder = new Recorder();
  const source = new KafkaLogSource({ kafka, topics: [topic], logger: quietLogger });
  await source.start({}, recorder.handler);
  cleanups.push(() => source.stop());
  return recorder;
}

/** A projection that checks per-stream order as it goes (the runner must guarantee it). */
class StreamLog implements Projection {
  readonly versions = new Map<string, number[]>();
  apply(event: RecordedEvent): void {
    const list = this.versions.get(event.streamId) ?? [];
    list.push(event.streamVersion);
    this.versions.set(event.streamId, list);
  }
  count(): number {
    let n = 0;
    for (const list of this.versions.values()) n += list.length;
    return n;
  }
}

async function runnerOn(topic: string, name: string) {
  const projection = new StreamLog();
  const runner = new ProjectionRunner({
    name,
    source: new KafkaLogSource({ kafka, topics: [topic], logger: quietLogger }),
    projection,
    registry: new Registry(),
    logger: quietLogger,
  });
  await runner.start();
  cleanups.push(() => runner.stop());
  return { runner, projection };
}

async function checkpoint(schema: string): Promise<{ tx_id: string; position: string } | undefined> {
  const rows = await fx.dataSource.query(`SELECT tx_id::text AS tx_id, position FROM "${schema}".relay_checkpoints`);
  return rows[0];
}

function childEnv(schema: string, topic: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EVENT_STORE_DIST: library.dist,
    DATABASE_URL: fx.url,
    KAFKA_BROKERS: testKafkaBrokers().join(','),
    SCHEMA: schema,
    TOPIC: topic,
    ...extra,
  };
}

function track(child: ChildRelay): ChildRelay {
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await child.exited;
  });
  return child;
}

describe('Relay', () => {
  it('creates its topic with the configured partitions and unlimited retention', async () => {
    const topic = uniqueName('topic');
    const relay = relayFor('topic', topic);
    await relay.start();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]!.partitions).toHaveLength(3);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['retention.ms'] }],
      });
      expect(configs.resources[0]!.configEntries.find((c) => c.configName === 'retention.ms')?.configValue).toBe('-1');
    } finally {
      await admin.disconnect();
    }
    await eventually(() => expect(relay.state()).toBe('active'));
  });

  it('gives its connection back to the pool without its own synchronous_commit', async () => {
    // One connection: the relay's, once it stopped, is the one the check gets.
    const pool = createDataSource({
      url: fx.url,
      schema: 'topic',
      migrations: [],
      name: uniqueName('one_conn'),
      poolSize: 1,
    });
    await pool.initialize();
    cleanups.push(() => pool.destroy());
    const relay = relayFor('topic', uniqueName('topic'), { dataSource: pool });
    await relay.start();
    await eventually(() => expect(relay.state()).toBe('active'));
    await relay.stop();
    // The session's own SET is gone: the setting comes from the server again, whatever the server says.
    const rows: { source: string }[] = await pool.query(
      `SELECT source FROM pg_settings WHERE name = 'synchronous_commit'`,
    );
    expect(rows[0]!.source).not.toBe('session');
  });

  it('never skips an event whose transaction commits after a later-numbered one', async () => {
    const topic = uniqueName('ooo');
    const store = fx.store('ooo');
    const relay = relayFor('ooo', topic, { heartbeatIntervalMs: 50 });
    await relay.start();
    const recorder = await reader(topic);
    const beats = () => recorder.items.filter((i) => i.kind === 'heartbeat').length;
    await eventually(() => expect(beats()).toBeGreaterThan(0));
    const blocker = await borrow(fx.dataSource);
    const client = blocker.client as PoolClient;
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ooo.events (event_id, stream_id, stream_version, type, data, metadata)
         VALUES ('evt_first', 'str_blocker', 1, 'Blocker', '{}', '{}')`,
      );
      // A takes the smaller position and waits on the blocker; B takes a larger one and commits first.
      const a = store.append('str_a', 0, [{ id: 'evt_first', type: 'Created', data: {} }], { metadata: actor });
      await eventually(async () => {
        const rows = await fx.dataSource.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`,
        );
        expect(rows[0].n).toBeGreaterThan(0);
      });
      const b = await store.append('str_b', 0, [{ type: 'Created', data: {} }], { metadata: actor });
      // heartbeats keep flowing while B waits behind the open transactions: B is not published yet
      const beatsBefore = beats();
      await eventually(() => expect(beats()).toBeGreaterThan(beatsBefore + 6));
      expect(recorder.events('str_')).toEqual([]);
      await client.query('ROLLBACK');
      const aResult = await a;
      expect(aResult.events[0]!.position).toBeLessThan(b.events[0]!.position);
      await eventually(() =>
        expect(
          recorder
            .events('str_')
            .map((e) => e.id)
            .sort(),
        ).toEqual([aResult.events[0]!.id, b.events[0]!.id].sort()),
      );
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await giveBack(blocker);
    }
  });

  it('reads again soon when an unrelated transaction hid a notified append, not a poll later', async () => {
    const topic = uniqueName('heldback');
    const store = fx.store('heldback');
    // Polls and heartbeats two minutes apart: after its first beat the relay reads on a NOTIFY, or on its own
    // re-read when a read was held back.
    const relay = relayFor('heldback', topic, { pollIntervalMs: 120_000, heartbeatIntervalMs: 120_000 });
    await relay.start();
    const recorder = await reader(topic);
    await store.append('str_first', 0, [{ type: 'Created', data: {} }], { metadata: actor });
    await eventually(() => expect(recorder.events('str_first')).toHaveLength(1));
    await eventually(() => expect(recorder.items.some((i) => i.kind === 'heartbeat')).toBe(true));
    const holder = await borrow(fx.dataSource);
    const client = holder.client as PoolClient;
    try {
      // Holds an xid and writes nothing to the store: it ends without a NOTIFY.
      await client.query('BEGIN');
      await client.query('SELECT pg_current_xact_id()');
      const second = await store.append('str_second', 0, [{ type: 'Created', data: {} }], { metadata: actor });
      // The append's NOTIFY wakes the relay, whose read cannot return it while the holder keeps xmin behind it.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(recorder.events('str_second')).toEqual([]);
      await client.query('COMMIT');
      // Without the held-back re-read the relay would sleep its 120 s poll: this waits 20 s at most.
      await eventually(() => expect(recorder.events('str_second').map((e) => e.id)).toEqual([second.events[0]!.id]), {
        timeoutMs: 20_000,
      });
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await giveBack(holder);
    }
  }, 60_000);

  it('keeps the watermark behind a writer in flight, and moves it past the commit afterwards', async () => {
    const topic = uniqueName('inflight');
    const store = fx.store('inflight');
    const relay = relayFor('inflight', topic, { heartbeatIntervalMs: 25 });
    await relay.start();
    const recorder = await reader(topic);
    await eventually(() =>
      expect(recorder.items.filter((i) => i.kind === 'heartbeat').length).toBeGreaterThanOrEqual(3),
    );
    const writer = await borrow(fx.dataSource);
    const client = writer.client as PoolClient;
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO inflight.events (event_id, stream_id, stream_version, type, data, metadata)
         VALUES ('evt_slow', 'str_slow', 1, 'Created', '{}', '{"actor":"usr_test","channel":"test"}')`,
      );
      const { rows } = await client.query(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS t`);
      const inFlightSince = Number(rows[0].t);
      await store.append('str_fast', 0, [{ type: 'Created', data: {} }], { metadata: actor });
      const beats = () => recorder.items.flatMap((i) => (i.kind === 'heartbeat' ? [i.watermark] : []));
      const before = beats().length;
      await eventually(() => expect(beats().length).toBeGreaterThan(before + 3 * 5));
      expect(Math.max(...beats())).toBeLessThanOrEqual(inFlightSince);
      expect(relay.watermark()!).toBeLessThanOrEqual(inFlightSince);
      expect(recorder.events('str_')).toEqual([]);
      await client.query('COMMIT');
      const committed = Date.now() + 1;
      await eventually(() => expect(relay.watermark()!).toBeGreaterThanOrEqual(committed));
      await eventually(() => {
        // on every partition, a heartbeat ≥ the commit time, after both events
        const byPartition = new Map<string, number>();
        for (const item of recorder.items)
          if (item.kind === 'heartbeat') byPartition.set(item.partition, item.watermark);
        expect([...byPartition.values()].filter((w) => w >= committed)).toHaveLength(3);
      });
      expect(
        recorder
          .events('str_')
          .map((e) => e.streamId)
          .sort(),
      ).toEqual(['str_fast', 'str_slow']);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await giveBack(writer);
    }
  });

  it('names the transaction holding the watermark back (pid, database, start, state, statement)', async () => {
    const warnings: { msg?: string; fields: Record<string, unknown> }[] = [];
    const logger = {
      ...quietLogger,
      warn: (fields: object, msg?: string) => void warnings.push({ msg, fields: fields as Record<string, unknown> }),
    };
    const relay = relayFor('inflight', uniqueName('holder'), {
      heartbeatIntervalMs: 25,
      holderWarnAfterMs: 200,
      holderWarnIntervalMs: 100,
      logger,
    });
    await relay.start();
    await eventually(() => expect(relay.watermark()).not.toBeNull());
    const holder = await borrow(fx.dataSource);
    const client = holder.client as PoolClient;
    try {
      // Any transaction holding an xid holds pg_snapshot_xmin back, whatever it touches.
      await client.query('BEGIN');
      const { rows } = await client.query<{ pid: number }>(
        'SELECT pg_backend_pid() AS pid, pg_current_xact_id() AS xid /* the long one */',
      );
      const named = () =>
        warnings
          .map((w) => w.fields.holder as Record<string, unknown> | undefined)
          .filter((h) => h?.pid === rows[0]!.pid);
      await eventually(() => expect(named().length).toBeGreaterThan(0));
      expect(named()[0]).toMatchObject({
        state: 'idle in transaction',
        database: expect.any(String),
        xactStart: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        query: expect.stringContaining('the long one'),
      });
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await giveBack(holder);
    }
  });

  it('a crash between publish and checkpoint yields duplicates, never gaps (process killed in the window)', async () => {
    const topic = uniqueName('crash');
    const store = fx.store('crash');
    for (let s = 0; s < 12; s++) {
      await store.append(
        `str_c${s}`,
        0,
        Array.from({ length: 10 }, (_, i) => ({ type: 'Step', data: { i } })),
        { metadata: actor },
      );
    }
    const crashing = track(spawnRelay(childEnv('crash', topic, { CRASH_AFTER_PUBLISH: '1', BATCH_SIZE: '50' })));
    const exit = await crashing.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(crashing.lines).toContainEqual({ crash: 'after-publish-before-checkpoint', published: 50 });
    // the 50 events are in Kafka, but the checkpoint never moved
    expect(await checkpoint('crash')).toEqual({ tx_id: '0', position: '0' });

    const { runner, projection } = await runnerOn(topic, 'crash');
    const relay = relayFor('crash', topic);
    await relay.start();
    await eventually(() => expect(projection.count()).toBe(120), { timeoutMs: 20_000 });
    await eventually(() => expect(runner.stats().duplicates).toBe(50));
    expect(runner.stats().gaps).toBe(0);
    for (let s = 0; s < 12; s++) expect(projection.versions.get(`str_c${s}`)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(runner.health().status).not.toBe('halted');
  });

  it('a standby in another process takes over within seconds when the active relay dies', async () => {
    const topic = uniqueName('standby');
    const store = fx.store('standby');
    const first = track(spawnRelay(childEnv('standby', topic)));
    await eventually(() => expect(first.states()).toContain('active'), { timeoutMs: 20_000 });
    const second = track(spawnRelay(childEnv('standby', topic)));
    await eventually(() => expect(second.states()).toContain('standby'), { timeoutMs: 20_000 });
    const { runner, projection } = await runnerOn(topic, 'standby');
    for (let s = 0; s < 10; s++) await store.append(`str_s${s}`, 0, [{ type: 'Step', data: {} }], { metadata: actor });
    await eventually(() => expect(projection.count()).toBe(10), { timeoutMs: 15_000 });
    expect(second.states()).toEqual(['standby']);

    const killedAt = Date.now();
    first.kill('SIGKILL');
    await first.exited;
    await eventually(() => expect(second.states()).toContain('active'), { timeoutMs: 10_000, intervalMs: 10 });
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(5000);

    for (let s = 0; s < 10; s++) await store.append(`str_s${s}`, 1, [{ type: 'Step', data: {} }], { metadata: actor });
    await eventually(() => expect(projection.count()).toBe(20), { timeoutMs: 15_000 });
    expect(runner.stats().gaps).toBe(0);
    for (let s = 0; s < 10; s++) expect(projection.versions.get(`str_s${s}`)).toEqual([1, 2]);
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('a batch the broker acknowledged and lost is published again after the next producer failure', async () => {
    // A broker acknowledging a batch and losing it is what the fault suite saw during broker kills; here a
    // producer wrapper plays that broker: it swallows one event batch (answering success), then fails the
    // next send as the broker did (OUT_OF_ORDER_SEQUENCE_NUMBER). Every send must also hold one partition.
    const topic = uniqueName('lossy');
    const store = fx.store('lossy');
    const sends: ProducerRecord[] = [];
    let loseNextEvents = false;
    let failNextSend = false;
    const isEvents = (record: ProducerRecord) => record.messages.some((m) => m.key !== null);
    const wrap = (producer: Producer): Producer =>
      Object.assign(Object.create(producer) as Producer, {
        send: async (record: ProducerRecord) => {
          sends.push(record);
          if (failNextSend) {
            failNextSend = false;
            throw new Error('The broker received an out of order sequence number');
          }
          if (loseNextEvents && isEvents(record)) {
            loseNextEvents = false;
            return [];
          }
          return producer.send(record);
        },
      });
    const lossyKafka = { admin: () => kafka.admin(), producer: (config) => wrap(kafka.producer(config)) } as Kafka;
    const relay = relayFor('lossy', topic, { kafka: lossyKafka, standbyRetryMs: 50 });
    await relay.start();
    const recorder = await reader(topic);

    await store.append('str_lossy_a', 0, [{ type: 'Step', data: {} }], { metadata: actor });
    await eventually(() => expect(recorder.events('str_lossy_a')).toHaveLength(1), { timeoutMs: 15_000 });
    loseNextEvents = true;
    await store.append('str_lossy_a', 1, [{ type: 'Step', data: {} }], { metadata: actor });
    await eventually(() => expect(loseNextEvents).toBe(false), { timeoutMs: 15_000 });
    // the swallowed batch was checkpointed: nothing but the rewind can bring it back
    await eventually(async () => expect((await checkpoint('lossy'))?.position).not.toBe('0'));
    failNextSend = true;
    await store.append('str_lossy_b', 0, [{ type: 'Step', data: {} }], { metadata: actor });

    await eventually(
      () => {
        const versions = recorder.events('str_lossy_a').map((e) => e.streamVersion);
        expect([...new Set(versions)]).toEqual([1, 2]);
        expect(recorder.events('str_lossy_b')).not.toHaveLength(0);
      },
      { timeoutMs: 20_000 },
    );
    for (const record of sends) expect(new Set(record.messages.map((m) => m.partition)).size).toBe(1);
  });

  it('10,000 events over 500 streams arrive complete and in order per stream', async () => {
    const topic = uniqueName('bulk');
    const store = fx.store('bulk');
    const relay = relayFor('bulk', topic);
    await relay.start();
    const recorder = await reader(topic);
    const streams = 500;
    const rounds = 5; // 4 events per append
    let next = 0;
    const jobs: (() => Promise<unknown>)[] = [];
    for (let r = 0; r < rounds; r++) {
      for (let s = 0; s < streams; s++) {
        jobs.push(() =>
          store.append(
            `str_bulk${s}`,
            r * 4,
            [0, 1, 2, 3].map((k) => ({ type: 'Step', data: { r, k } })),
            {
              metadata: actor,
            },
          ),
        );
      }
    }
    // 8 writers at a time; appends to one stream stay in submission order per round
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < jobs.length) await jobs[next++]!();
      }),
    );
    await eventually(() => expect(recorder.events('str_bulk').length).toBeGreaterThanOrEqual(10_000), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    // exactly once in a run without failures (a crash would add duplicates, see above)
    expect(recorder.events('str_bulk')).toHaveLength(10_000);
    const byStream = new Map<string, number[]>();
    for (const event of recorder.events('str_bulk')) {
      const list = byStream.get(event.streamId) ?? [];
      list.push(event.streamVersion);
      byStream.set(event.streamId, list);
    }
    expect(byStream.size).toBe(500);
    const expected = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const versions of byStream.values()) expect(versions).toEqual(expected);
  }, 120_000);
});
