import type { KafkaConfig } from '@tollgate/config';
import { KEY_USAGE_TOPIC } from '@tollgate/contracts';
import { topicSpec } from '@tollgate/event-store';
import { createKafka, type InProcessBus, settleWithin } from '@tollgate/platform';
import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';
import { foldKeyUsage } from '../domain/key-usage';
import type { Clock } from '../domain/time';
import type { KeyUsageStore } from '../storage/key-read-model';

/** As the authz replicas create it (`KEY_USAGE_RETENTION_MS` of @tollgate/authz), should this side come first. */
const RETENTION_MS = 7 * 24 * 3600 * 1000;

export interface KeyUsageFollowerOptions {
  store: KeyUsageStore;
  logger: Logger;
  clock: Clock;
  topic?: string;
  /** Deployed mode: read the topic. Else `bus` (embedded mode, no Kafka). */
  kafka?: KafkaConfig;
  bus?: InProcessBus;
}

/**
 * Folds the authz replicas' `KeysUsed` batches into the keys service's `key_usage` table. With Kafka, the keys
 * replicas share one consumer group, so each batch is usually folded once; offsets are committed only after
 * the batch is stored, so a batch is folded at least once (twice is harmless: the table keeps the greatest
 * value per key). Without Kafka, the authz module of the same process hands its batches over the bus.
 */
export class KeyUsageFollower {
  private consumer: Consumer | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: KeyUsageFollowerOptions) {}

  get topic(): string {
    return this.options.topic ?? KEY_USAGE_TOPIC;
  }

  /** Starts following; with Kafka in the background (the service serves while Kafka is away). */
  start(): void {
    if (this.options.kafka) this.running = this.connectLoop(this.options.kafka);
    else if (this.options.bus)
      this.unsubscribe = this.options.bus.subscribe<unknown>(this.topic, (message) => this.fold([message]));
  }

  /** Stops within a few seconds whatever Kafka does (a consumer leaving mid-rebalance can otherwise hang). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await settleWithin(this.running ?? Promise.resolve(), 1000);
    await settleWithin(this.consumer?.disconnect() ?? Promise.resolve(), 3000);
  }

  /** Stores one batch of raw messages (the Kafka consumer and the bus call it; a failure is retried by them). */
  async fold(messages: readonly unknown[]): Promise<void> {
    const { uses, invalid, ahead } = foldKeyUsage(messages, this.options.clock());
    if (invalid > 0 || ahead > 0)
      this.options.logger.warn({ invalid, ahead, topic: this.topic }, 'keys: key usage entries skipped');
    await this.options.store.recordUsage(uses);
  }

  private async connectLoop(config: KafkaConfig): Promise<void> {
    for (let backoff = 250; !this.stopped; backoff = Math.min(backoff * 2, 5000)) {
      try {
        await this.connect(config);
        this.options.logger.info({ topic: this.topic }, 'keys: following key usage');
        return;
      } catch (err) {
        this.options.logger.warn({ err, retryInMs: backoff }, 'keys: cannot follow key usage yet; retrying');
        await this.consumer?.disconnect().catch(() => undefined);
        this.consumer = undefined;
        await new Promise((resolve) => setTimeout(resolve, backoff).unref());
      }
    }
  }

  private async connect(config: KafkaConfig): Promise<void> {
    const kafka = createKafka(config, {
      clientSuffix: 'keys-key-usage',
      logger: this.options.logger,
      // A failed fold (database away) crashes the consumer: restarted from the last committed offset.
      retry: { initialRetryTime: 250, maxRetryTime: 5000, retries: 8, restartOnFailure: async () => !this.stopped },
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.createTopics({
        waitForLeaders: true,
        topics: [topicSpec(this.topic, config.partitions, RETENTION_MS, config)],
      });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const consumer = kafka.consumer({
      // One group for every keys replica: stable across restarts, so a restart resumes where it stopped.
      groupId: `tollgate-keys-${this.topic}`,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const messages: unknown[] = [];
        for (const message of batch.messages) {
          if (!message.value) continue;
          try {
            messages.push(JSON.parse(message.value.toString('utf8')));
          } catch {
            messages.push(undefined); // counted as invalid by the fold
          }
        }
        // Throws when the database fails: kafkajs does not resolve the batch, so it is read again.
        await this.fold(messages);
      },
    });
  }
}
