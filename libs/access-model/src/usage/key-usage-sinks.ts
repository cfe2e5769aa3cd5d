import type { KafkaConfig } from '@tollgate/config';
import { KEY_USAGE_TOPIC, type KeysUsed } from '@tollgate/contracts';
import { topicSpec } from '@tollgate/event-store';
import { createKafka, type InProcessBus } from '@tollgate/platform';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { KeyUsageSink } from './key-usage';

/** How long `tollgate.key-usage.v1` keeps a message: a keys service down for less than this misses no use. */
export const KEY_USAGE_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * Deployed mode: `KeysUsed` on `tollgate.key-usage.v1`, keyed by replica id (one partition per replica, so a
 * replica's messages are read in the order it sent them). The topic is created on first use if missing; a
 * failed connect or send rejects, and the publisher keeps the usage for the next interval.
 */
export class KafkaKeyUsageSink implements KeyUsageSink {
  private kafka: Kafka | undefined;
  private producer: Promise<Producer> | undefined;

  constructor(private readonly options: { kafka: KafkaConfig; topic?: string; logger: Logger }) {}

  get topic(): string {
    return this.options.topic ?? KEY_USAGE_TOPIC;
  }

  async publish(message: KeysUsed): Promise<void> {
    const producer = await this.connected();
    await producer.send({
      topic: this.topic,
      messages: [{ key: message.replicaId, value: JSON.stringify(message) }],
    });
  }

  async close(): Promise<void> {
    const producer = await this.producer?.catch(() => undefined);
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  private connected(): Promise<Producer> {
    this.producer ??= this.connect().catch((error: unknown) => {
      // The next interval tries again from scratch.
      this.producer = undefined;
      throw error;
    });
    return this.producer;
  }

  private async connect(): Promise<Producer> {
    const config = this.options.kafka;
    this.kafka ??= createKafka(config, { clientSuffix: 'key-usage', logger: this.options.logger });
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.createTopics({
        waitForLeaders: true,
        topics: [topicSpec(this.topic, config.partitions, KEY_USAGE_RETENTION_MS, config)],
      });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      // Short: a failed send is kept by the publisher and retried at the next interval, not here.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    return producer;
  }
}

/** Embedded mode without Kafka: the keys service of the same process subscribes to the bus. */
export class BusKeyUsageSink implements KeyUsageSink {
  constructor(
    private readonly bus: InProcessBus,
    private readonly topic: string = KEY_USAGE_TOPIC,
  ) {}

  publish(message: KeysUsed): Promise<void> {
    return this.bus.publish(this.topic, message);
  }
}
