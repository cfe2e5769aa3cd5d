// A relay in a process of its own, for the crash and standby-takeover tests. It runs the compiled
// library (EVENT_STORE_DIST, built by the test with swc) and reports its state changes on stdout as JSON
// lines. Settings come as one JSON argument. CRASH_AFTER_PUBLISH=n: SIGKILL itself after the n-th batch
// was acknowledged by Kafka and before its checkpoint is written.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import typeorm from 'typeorm';

const env = JSON.parse(process.argv[2]);
const { Relay } = await import(pathToFileURL(join(env.EVENT_STORE_DIST, 'index.js')).href);
const report = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);

const dataSource = new typeorm.DataSource({ type: 'postgres', url: env.DATABASE_URL, poolSize: 3 });
await dataSource.initialize();
const kafka = new kafkajs.Kafka({
  clientId: `relay-child-${process.pid}`,
  brokers: env.KAFKA_BROKERS.split(','),
  logLevel: kafkajs.logLevel.NOTHING,
});
const crashAfter = Number(env.CRASH_AFTER_PUBLISH ?? 0);
let batches = 0;
const relay = new Relay({
  dataSource,
  schema: env.SCHEMA,
  kafka,
  topic: env.TOPIC,
  partitions: 3,
  registry: new Registry(),
  batchSize: Number(env.BATCH_SIZE ?? 500),
  standbyRetryMs: 100,
  logger: { info() {}, warn() {}, error: (obj, msg) => report({ error: msg, detail: String(obj?.err ?? '') }) },
  hooks: {
    afterPublish(events) {
      batches += 1;
      if (crashAfter && batches >= crashAfter) {
        report({ crash: 'after-publish-before-checkpoint', published: events.length });
        process.kill(process.pid, 'SIGKILL');
      }
    },
  },
});
await relay.start();
let last;
setInterval(() => {
  const state = relay.state();
  if (state !== last) report({ state: (last = state) });
}, 10);
process.on('SIGTERM', async () => {
  await relay.stop();
  await dataSource.destroy();
  process.exit(0);
});
