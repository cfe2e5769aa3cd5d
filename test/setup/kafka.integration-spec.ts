// The run's Kafka broker (started by global-setup.ts) works end to end through kafkajs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { eventually, testKafkaBrokers, uniqueName } from '../support';

interface Received {
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

describe('test Kafka broker', () => {
  const kafka = new Kafka({ clientId: 'tollgate-infra-test', brokers: testKafkaBrokers(), logLevel: logLevel.WARN });
  const topic = uniqueName('infra_roundtrip');
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('has the topic with 3 partitions', async () => {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);
  });

  it('delivers keyed messages with headers from an idempotent producer to a consumer group', async () => {
    const keys = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    const sent = Array.from({ length: 30 }, (_, i) => ({
      key: keys[i % keys.length]!,
      value: JSON.stringify({ seq: i }),
      headers: { ce_id: `evt-${i}`, ce_type: 'InfraRoundTrip' },
    }));
    for (const batch of [sent.slice(0, 15), sent.slice(15)]) {
      await producer.send({ topic, messages: batch, acks: -1 });
    }

    const received: Received[] = [];
    consumer = kafka.consumer({ groupId: uniqueName('infra_group'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        received.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          headers,
        });
      },
    });

    await eventually(() => expect(received).toHaveLength(sent.length), { timeoutMs: 20_000, intervalMs: 100 });

    // Every message arrived once, with its key, value and headers intact.
    const byId = new Map(received.map((message) => [message.headers.ce_id, message]));
    expect(byId.size).toBe(sent.length);
    for (const message of sent) {
      expect(byId.get(message.headers.ce_id)).toMatchObject({
        key: message.key,
        value: message.value,
        headers: message.headers,
      });
    }
    // One key, one partition, and the key's messages in the order they were sent.
    for (const key of keys) {
      const ofKey = received.filter((message) => message.key === key);
      expect(new Set(ofKey.map((message) => message.partition)).size).toBe(1);
      expect(ofKey.map((message) => JSON.parse(message.value).seq)).toEqual(
        sent.map((message, i) => (message.key === key ? i : -1)).filter((i) => i >= 0),
      );
    }
    // Six keys over three partitions: the default partitioner spreads them over more than one.
    expect(new Set(received.map((message) => message.partition)).size).toBeGreaterThan(1);
  });

  it('commits and aborts transactions for a read_committed consumer (single-node transaction log)', async () => {
    const txTopic = uniqueName('infra_tx');
    await admin.createTopics({ topics: [{ topic: txTopic, numPartitions: 3 }], waitForLeaders: true });
    // Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the previous commit's markers are
    // written; kafkajs retries it but logs each retry as an ERROR, hence a quiet client here.
    const quiet = new Kafka({
      clientId: 'tollgate-infra-test-tx',
      brokers: testKafkaBrokers(),
      logLevel: logLevel.NOTHING,
    });
    const transactional = quiet.producer({
      transactionalId: uniqueName('infra_txid'),
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { initialRetryTime: 10 },
    });
    const reader = kafka.consumer({
      groupId: uniqueName('infra_tx_group'),
      maxWaitTimeInMs: 100,
      readUncommitted: false,
    });
    try {
      await transactional.connect();
      const committed = await transactional.transaction();
      await committed.send({
        topic: txTopic,
        messages: [
          { key: 'a', value: 'committed-1' },
          { key: 'b', value: 'committed-2' },
        ],
      });
      await committed.commit();
      const aborted = await transactional.transaction();
      await aborted.send({ topic: txTopic, messages: [{ key: 'a', value: 'aborted' }] });
      await aborted.abort();
      const last = await transactional.transaction();
      await last.send({ topic: txTopic, messages: [{ key: 'c', value: 'committed-3' }] });
      await last.commit();

      const values: string[] = [];
      await reader.connect();
      await reader.subscribe({ topic: txTopic, fromBeginning: true });
      await reader.run({ eachMessage: async ({ message }) => void values.push(message.value?.toString() ?? '') });
      await eventually(() => expect(values.sort()).toEqual(['committed-1', 'committed-2', 'committed-3']), {
        timeoutMs: 20_000,
        intervalMs: 100,
      });
    } finally {
      await reader.disconnect();
      await transactional.disconnect();
      await admin.deleteTopics({ topics: [txTopic] }).catch(() => undefined);
    }
  });
});
