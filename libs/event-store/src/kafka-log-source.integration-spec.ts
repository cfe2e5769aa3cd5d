import { afterAll, beforeAll } from '@jest/globals';
import { Registry } from 'prom-client';
import { uniqueName } from '../../../test/support';
import { actor, pgFixture, type PgFixture, quietLogger, testKafka } from '../test/fixtures';
import { logSourceContract } from '../test/log-source-contract';
import { KafkaLogSource, Relay } from './index';

// The same contract as the PostgreSQL source and the in-memory fake: store → relay → Kafka → source.
let fx: PgFixture;
beforeAll(async () => {
  fx = await pgFixture(['keys']);
});
afterAll(async () => {
  await fx?.close();
});

logSourceContract('Kafka (store → relay → topic)', async () => {
  const kafka = testKafka();
  const topic = uniqueName('contract');
  const relay = new Relay({
    dataSource: fx.dataSource,
    schema: 'keys',
    kafka,
    topic,
    partitions: 3,
    registry: new Registry(),
    logger: quietLogger,
  });
  await relay.start();
  const store = fx.store('keys');
  return {
    append: (streamId, expectedVersion, events) => store.append(streamId, expectedVersion, events, { metadata: actor }),
    createSource: () => new KafkaLogSource({ kafka, topics: [topic], logger: quietLogger }),
    close: () => relay.stop(),
  };
});
