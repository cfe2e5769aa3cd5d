// Topic settings of the topics Tollgate creates (TOLLGATE_KAFKA_REPLICATION_FACTOR / _MIN_INSYNC_REPLICAS).
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { testKafkaClient } from '../../../test/support/kafka';
import { uniqueName } from '../../../test/support';
import { ensureTopic } from './kafka-topics';

describe('ensureTopic', () => {
  let admin: Admin;

  beforeAll(async () => {
    admin = testKafkaClient('kafka-topics-it').admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  const configOf = async (topic: string) => {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    });
    return Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
  };

  it('creates the topic with unlimited retention, the partitions and min.insync.replicas asked', async () => {
    const topic = uniqueName('topic_settings');
    expect(await ensureTopic(admin, topic, 4, { replicationFactor: 1, minInsyncReplicas: 1 })).toEqual([0, 1, 2, 3]);
    const config = await configOf(topic);
    expect(config['retention.ms']).toBe('-1');
    expect(config['min.insync.replicas']).toBe('1');
  });

  it('passes the replication factor to the broker, which refuses more replicas than brokers', async () => {
    await expect(ensureTopic(admin, uniqueName('topic_rf'), 1, { replicationFactor: 3 })).rejects.toThrow(
      /creating Kafka topic .* failed: INVALID_REPLICATION_FACTOR/,
    );
  });
});
