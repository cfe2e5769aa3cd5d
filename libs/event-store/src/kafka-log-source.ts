import type { Admin, Consumer, Kafka } from 'kafkajs';
import { decodeMessage } from './envelope';
import { ulid } from './ids';
import { ensureTopic } from './kafka-topics';
import type { LogBatchHandler, LogItem, LogSource, Offsets, PartitionKey } from './log-source';
import { consoleLogger, type Logger } from './types';

export interface KafkaLogSourceOptions {
  kafka: Kafka;
  topics: string[];
  /** Each instance uses a unique consumer group `<prefix>-<random>` and reads all partitions (default `tollgate-reader`). */
  groupIdPrefix?: string;
  /** Fetch long-poll (default 25 ms). */
  maxWaitTimeInMs?: number;
  /** Partitions when a missing topic is created (default 6, as the relay). */
  partitionsIfCreated?: number;
  logger?: Logger;
}

/**
 * Reads all partitions of the topics from given offsets (Kafka offsets as decimal strings: the next
 * offset to read). kafkajs has no manual assignment, so each instance joins a consumer group of its own
 * (it gets every partition) and never commits. The given offsets are applied with `consumer.seek` from
 * the group-join event, which kafkajs emits after the assignment and before its first fetch, so no message
 * from an earlier position is ever fetched; partitions without an offset start at the beginning. (Not
 * `admin.setOffsets`: kafkajs runs it through a temporary consumer, about 5 s per topic.) Decodes
 * CloudEvents binary mode.
 */
export class KafkaLogSource implements LogSource {
  private readonly logger: Logger;
  private admin?: Admin;
  private consumer?: Consumer;
  private groupId?: string;
  private known: PartitionKey[] = [];

  constructor(readonly options: KafkaLogSourceOptions) {
    this.logger = options.logger ?? consoleLogger;
  }

  async start(from: Offsets, handler: LogBatchHandler): Promise<void> {
    if (this.consumer) throw new Error('KafkaLogSource already started');
    const { kafka, topics } = this.options;
    const admin = kafka.admin();
    this.admin = admin;
    await admin.connect();
    const groupId = `${this.options.groupIdPrefix ?? 'tollgate-reader'}-${ulid().toLowerCase()}`;
    this.groupId = groupId;
    const known: PartitionKey[] = [];
    // Per partition, the next offset to hand to the handler: the stored offset until something is delivered.
    // Every group join (the first one included) seeks each listed partition there; the others start at the
    // beginning (fromBeginning, and the group has no committed offsets).
    const delivered = new Map<string, { topic: string; partition: number; next: string }>();
    for (const topic of topics) {
      const partitions = await ensureTopic(admin, topic, this.options.partitionsIfCreated ?? 6);
      for (const p of partitions) {
        const key = `${topic}:${p}`;
        known.push(key);
        const offset = from[key];
        if (offset === undefined) continue;
        const next = BigInt(offset); // throws on a malformed offset, before anything joins
        if (next < 0n) throw new Error(`KafkaLogSource: negative stored offset ${offset} for ${key}`);
        delivered.set(key, { topic, partition: p, next: next.toString() });
      }
    }
    this.known = known;
    const consumer = kafka.consumer({
      groupId,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 25,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 100, retries: 10 },
    });
    this.consumer = consumer;
    // GROUP_JOIN is emitted synchronously inside consumer.run() (and on every re-join or crash restart), after
    // the new assignment and before the fetch loop is (re)scheduled: a seek made here is applied by the very
    // first fetch of that generation. We never commit, so without it the first join would start at the
    // beginning and a re-join (session lost, broker restart) would restart there too: seek every partition
    // to its stored or delivered offset instead (duplicates at worst, never gaps).
    let joins = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joins += 1;
      if (joins > 1) this.logger.warn({ groupId, joins }, 'kafka log source: re-joined, seeking to delivered offsets');
      for (const { topic, partition, next } of delivered.values()) consumer.seek({ topic, partition, offset: next });
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, isStale }) => {
        const items: LogItem[] = [];
        const partition = `${batch.topic}:${batch.partition}`;
        // Belt and braces: a batch fetched before a seek took effect could start before what is due; never
        // hand the handler anything before the stored or delivered offset of its partition.
        const due = delivered.get(partition)?.next;
        for (const message of batch.messages) {
          if (isStale()) return; // a seek or rebalance made the rest obsolete
          const offset = message.offset;
          if (due !== undefined && BigInt(offset) < BigInt(due)) continue;
          const next = (BigInt(offset) + 1n).toString();
          let decoded;
          try {
            decoded = decodeMessage(message);
          } catch (error) {
            decoded = { kind: 'unknown' as const, reason: String((error as Error).message) };
          }
          if (decoded.kind === 'event') items.push({ kind: 'event', partition, offset, next, event: decoded.event });
          else if (decoded.kind === 'heartbeat') {
            items.push({ kind: 'heartbeat', partition, offset, next, watermark: decoded.watermark });
          } else {
            this.logger.error(
              { partition, offset, reason: decoded.reason },
              'kafka log source: foreign message ignored',
            );
          }
        }
        if (items.length > 0) await handler(items);
        const last = batch.messages[batch.messages.length - 1];
        if (last && (due === undefined || BigInt(last.offset) >= BigInt(due))) {
          delivered.set(partition, {
            topic: batch.topic,
            partition: batch.partition,
            next: (BigInt(last.offset) + 1n).toString(),
          });
        }
      },
    });
  }

  partitions(): PartitionKey[] {
    return [...this.known];
  }

  async lag(offsets: Offsets): Promise<number> {
    if (!this.admin) return 0;
    let total = 0;
    for (const topic of this.options.topics) {
      for (const p of await this.admin.fetchTopicOffsets(topic)) {
        const at = offsets[`${topic}:${p.partition}`];
        const position = at !== undefined ? BigInt(at) : BigInt(p.low);
        const behind = BigInt(p.high) - position;
        if (behind > 0n) total += Number(behind);
      }
    }
    return total;
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    const admin = this.admin;
    this.consumer = undefined;
    this.admin = undefined;
    await consumer?.disconnect().catch(() => undefined);
    if (admin) {
      // the group was this instance's alone
      if (this.groupId) await admin.deleteGroups([this.groupId]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }
}
