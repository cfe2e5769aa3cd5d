// Event store benchmark: appends/s on PostgreSQL, relay publish rate, commit-to-consumed latency on a
// real Kafka. Starts its own broker and PostgreSQL. Run: npm run bench:event-store (about a minute).
// Last line: BENCH event-store {...} (see /work/shared/BENCHMARKS.md).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import {
  createDataSource,
  databaseUrl,
  ensureDatabase,
  runMigrations,
  startEmbeddedPostgres,
} from '@tollgate/database';
import {
  createEventStoreMigrations,
  eventToMessage,
  KafkaLogSource,
  type LogItem,
  type Logger,
  PostgresEventStore,
  type RecordedEvent,
  Relay,
} from '@tollgate/event-store';

const APPENDS = Number(process.env.BENCH_APPENDS ?? 5000);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 8);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1500);

const logger: Logger = {
  info: () => {},
  warn: (obj, msg) => console.warn('warn', msg, obj),
  error: (obj, msg) => console.error('error', msg, obj),
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

async function main(): Promise<void> {
  const root = new URL('../../', import.meta.url); // dist/bench → repository root
  const { startKafka } = (await import(
    new URL('deploy/kafka/local-kafka.mjs', root).href
  )) as typeof import('../deploy/kafka/local-kafka.mjs');
  const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-bench-pg-'));
  const [kafkaHandle, postgres] = await Promise.all([
    startKafka(),
    // Durable commits (fsync and synchronous_commit on), as `npm start` runs it: a throwaway cluster would
    // turn them off and measure a write path no deployment has. The directory is removed at the end.
    startEmbeddedPostgres({ dataDir, persistent: true }),
  ]);
  const stops: (() => Promise<unknown>)[] = [
    () => kafkaHandle.stop(),
    () => postgres.stop(),
    () => rm(dataDir, { recursive: true, force: true }),
  ];
  try {
    await ensureDatabase(postgres.url, 'bench');
    const url = databaseUrl(postgres.url, 'bench');
    const schemas = ['bench_appends', 'bench_latency'];
    const dataSource = createDataSource({
      url,
      schema: schemas[0],
      migrations: schemas.flatMap((s) => createEventStoreMigrations(s)),
      poolSize: 16,
    });
    await runMigrations(dataSource);
    stops.unshift(() => dataSource.destroy());
    const registry = new Registry();
    const kafka = new kafkajs.Kafka({
      clientId: 'bench',
      brokers: kafkaHandle.brokers,
      logLevel: kafkajs.logLevel.ERROR,
    });
    const metadata = { actor: 'usr_bench', channel: 'bench' };

    // 1. appends/s: WRITERS concurrent writers, one event per append, over 1000 streams.
    const store = new PostgresEventStore({ dataSource, schema: 'bench_appends', registry });
    const versions = new Map<string, number>();
    let next = 0;
    const appendOne = async (i: number) => {
      const streamId = `str_${i % 1000}`;
      const expected = versions.get(streamId) ?? 0;
      versions.set(streamId, expected + 1);
      await store.append(streamId, expected, [{ type: 'Stepped', data: { i, note: 'benchmark payload' } }], {
        metadata,
      });
    };
    // warm-up
    for (let i = 0; i < 200; i++) await appendOne(next++);
    let started = performance.now();
    const end = next + APPENDS;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < end) await appendOne(next++);
      }),
    );
    const appendSeconds = (performance.now() - started) / 1000;
    const appendsPerS = APPENDS / appendSeconds;
    // fill a backlog for the relay, in larger appends
    for (let written = next; written < BACKLOG;) {
      const jobs: Promise<unknown>[] = [];
      for (let w = 0; w < WRITERS && written < BACKLOG; w++, written++) {
        jobs.push(store.append(`str_bulk_${written}`, 0, [{ type: 'Stepped', data: { i: written } }], { metadata }));
      }
      await Promise.all(jobs);
    }
    const total = Number((await dataSource.query(`SELECT count(*)::int AS n FROM bench_appends.events`))[0].n);

    // 2. relay publish rate: drain the backlog.
    const relay = new Relay({
      dataSource,
      schema: 'bench_appends',
      kafka,
      topic: 'bench.appends.v1',
      registry,
      logger,
    });
    started = performance.now();
    await relay.start();
    for (;;) {
      const rows = await dataSource.query(`SELECT position FROM bench_appends.relay_checkpoints`);
      const done = await dataSource.query(
        `SELECT count(*)::int AS n FROM bench_appends.events e, bench_appends.relay_checkpoints c
         WHERE (e.tx_id, e.position) <= (c.tx_id, c.position)`,
      );
      if (rows[0] && Number(done[0].n) >= total) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const publishSeconds = (performance.now() - started) / 1000;
    const publishPerS = total / publishSeconds;
    await relay.stop();

    // 3. commit-to-consumed latency: one append at a time, timed from its commit to the consumer's handler.
    const latencyStore = new PostgresEventStore({ dataSource, schema: 'bench_latency', registry });
    const latencyRelay = new Relay({
      dataSource,
      schema: 'bench_latency',
      kafka,
      topic: 'bench.latency.v1',
      registry,
      logger,
    });
    await latencyRelay.start();
    const consumedAt = new Map<string, number>();
    const source = new KafkaLogSource({ kafka, topics: ['bench.latency.v1'], maxWaitTimeInMs: 20, logger });
    let waiting: { id: string; resolve: () => void } | undefined;
    await source.start({}, async (items: readonly LogItem[]) => {
      const now = performance.now();
      for (const item of items) {
        if (item.kind !== 'event') continue;
        consumedAt.set(item.event.id, now);
        if (waiting && waiting.id === item.event.id) waiting.resolve();
      }
    });
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES + 50; i++) {
      const result = await latencyStore.append(`str_lat_${i % 100}`, 'any', [{ type: 'Stepped', data: { i } }], {
        metadata,
      });
      const committed = performance.now();
      const id = result.events[0]!.id;
      if (!consumedAt.has(id)) await new Promise<void>((resolve) => (waiting = { id, resolve }));
      if (i >= 50) samples.push(Math.max(0, consumedAt.get(id)! - committed));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await source.stop();
    await latencyRelay.stop();
    samples.sort((a, b) => a - b);

    const baseline = await kafkaBaseline(kafka, logger);

    const figures = {
      appends_per_s: round(appendsPerS, 0),
      publish_per_s: round(publishPerS, 0),
      commit_to_consumed_p50_ms: round(percentile(samples, 50)),
      commit_to_consumed_p99_ms: round(percentile(samples, 99)),
      commit_to_consumed_max_ms: round(samples[samples.length - 1]!),
    };
    console.log('');
    console.log('event-store benchmark (2 cores, embedded PostgreSQL, single-node Kafka)');
    console.log(`  appends/s (${WRITERS} writers, 1 event each, ${APPENDS} appends)   ${figures.appends_per_s}`);
    console.log(`  relay publish rate (backlog of ${total} events)          ${figures.publish_per_s} events/s`);
    console.log(
      `  commit → consumed, ${samples.length} samples               p50 ${figures.commit_to_consumed_p50_ms} ms  p99 ${figures.commit_to_consumed_p99_ms} ms  max ${figures.commit_to_consumed_max_ms} ms`,
    );
    console.log(
      `  baseline: produce → same consumer, no PostgreSQL or relay, ${baseline.length} samples   p50 ${round(percentile(baseline, 50))} ms  p99 ${round(percentile(baseline, 99))} ms  max ${round(baseline[baseline.length - 1]!)} ms`,
    );
    console.log(`BENCH event-store ${JSON.stringify(figures)}`);
  } finally {
    for (const stop of stops) await stop().catch((error) => console.error('cleanup:', error));
  }
}

/**
 * Baseline in the same run: the same consumer (KafkaLogSource) and the same envelope, but the message is
 * produced directly (no PostgreSQL, no relay): what Kafka + kafkajs alone cost.
 */
async function kafkaBaseline(kafka: kafkajs.Kafka, logger: Logger): Promise<number[]> {
  const topic = 'bench.baseline.v1';
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  let waiting: { id: string; resolve: (t: number) => void } | undefined;
  const source = new KafkaLogSource({ kafka, topics: [topic], maxWaitTimeInMs: 20, logger });
  await source.start({}, async (items) => {
    const now = performance.now();
    for (const item of items) if (item.kind === 'event' && item.event.id === waiting?.id) waiting.resolve(now);
  });
  const samples: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const id = `evt_baseline_${i}`;
    const got = new Promise<number>((resolve) => (waiting = { id, resolve }));
    const sent = performance.now();
    const event: RecordedEvent = {
      id,
      source: '/bench',
      streamId: `str_lat_${i % 100}`,
      streamVersion: i + 1,
      position: i + 1,
      type: 'Stepped',
      data: { i },
      metadata: { actor: 'usr_bench', channel: 'bench' },
      recordedAt: new Date(),
    };
    await producer.send({ topic, acks: -1, messages: [eventToMessage(event)] });
    const consumed = await got;
    if (i >= 50) samples.push(consumed - sent);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await source.stop();
  await producer.disconnect();
  return samples.sort((a, b) => a - b);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
