import type { Admin, Batch, Consumer, Kafka } from 'kafkajs';
import { decodeMessage } from './envelope';
import { ulid } from './ids';
import { interruptibleSleep } from './interruptible-sleep';
import { ensureTopic, type TopicReplication } from './kafka-topics';
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
  /** Replication of a topic it creates (default: the broker's). */
  replicationIfCreated?: TopicReplication;
  logger?: Logger;
}

/** Consumer retries before kafkajs gives up and crashes (about 2.5 s of backoff): then a new session starts. */
const CONSUMER_RETRY = { initialRetryTime: 100, maxRetryTime: 1000, retries: 5 };
/** Bounds the wait for a member that vanished without leaving (the broker's minimum is 6 s by default). */
const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 1000;
/** Backoff between failed attempts to start a new session while the brokers are away. */
const RESTART_BACKOFF_MS = { first: 200, max: 2000 };

/**
 * Reads all partitions of the topics from given offsets (Kafka offsets as decimal strings: the next
 * offset to read). kafkajs has no manual assignment, so each session joins a consumer group of its own
 * (it gets every partition) and never commits. The given offsets are applied with `consumer.seek` from
 * the group-join event, which kafkajs emits after the assignment and before its first fetch, so no message
 * from an earlier position is ever fetched; partitions without an offset start at the beginning. (Not
 * `admin.setOffsets`: kafkajs runs it through a temporary consumer, about 5 s per topic.) Decodes
 * CloudEvents binary mode.
 *
 * Surviving a broker restart: the offsets are this reader's own, so a consumer that lost its brokers is not
 * nursed back into its old group (kafkajs would rejoin with a new member id and the coordinator would wait
 * out the old member's session first: 30 s by default). When kafkajs gives up (a crash), the session is
 * dropped and a new one starts in a fresh group, seeking to the delivered offsets, again and again until
 * the brokers answer: recovery then takes one join, not a session timeout.
 */
export class KafkaLogSource implements LogSource {
  private readonly logger: Logger;
  private admin?: Admin;
  private consumer?: Consumer;
  private groupId?: string;
  private known: readonly PartitionKey[] = [];
  private delivered = new Map<string, { topic: string; partition: number; next: string }>();
  private handler?: LogBatchHandler;
  private stopped = false;
  private restarting?: Promise<void>;
  private readonly abandoned: { consumer: Consumer; groupId: string }[] = [];
  private problem: string | undefined;
  private sessions = 0;
  private wake?: () => void;

  constructor(readonly options: KafkaLogSourceOptions) {
    this.logger = options.logger ?? consoleLogger;
  }

  async start(from: Offsets, handler: LogBatchHandler): Promise<void> {
    if (this.handler) throw new Error('KafkaLogSource already started');
    this.handler = handler;
    const { kafka, topics } = this.options;
    const admin = kafka.admin();
    this.admin = admin;
    await admin.connect();
    const known: PartitionKey[] = [];
    // Per partition, the next offset to hand to the handler: the stored offset until something is delivered.
    // Every group join (the first one included) seeks each listed partition there; the others start at the
    // beginning (fromBeginning, and the group has no committed offsets).
    for (const topic of topics) {
      const partitions = await ensureTopic(
        admin,
        topic,
        this.options.partitionsIfCreated ?? 6,
        this.options.replicationIfCreated,
      );
      for (const p of partitions) {
        const key = `${topic}:${p}`;
        known.push(key);
        const offset = from[key];
        if (offset === undefined) continue;
        const next = BigInt(offset); // throws on a malformed offset, before anything joins
        if (next < 0n) throw new Error(`KafkaLogSource: negative stored offset ${offset} for ${key}`);
        this.delivered.set(key, { topic, partition: p, next: next.toString() });
      }
    }
    this.known = known;
    await this.startSession();
  }

  /** Why the source is not delivering right now (a session being replaced), or undefined. */
  trouble(): string | undefined {
    return this.problem;
  }

  /** One consumer in a group of its own; a crash (kafkajs gave up) replaces it with a new session. */
  private async startSession(): Promise<void> {
    const { kafka, topics } = this.options;
    const groupId = `${this.options.groupIdPrefix ?? 'tollgate-reader'}-${ulid().toLowerCase()}`;
    const consumer = kafka.consumer({
      groupId,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 25,
      allowAutoTopicCreation: false,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      // Never restart inside the old group: onCrash starts a new session instead.
      retry: { ...CONSUMER_RETRY, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    this.groupId = groupId;
    this.sessions += 1;
    const session = this.sessions;
    // GROUP_JOIN is emitted synchronously inside consumer.run() (and on every re-join), after the new
    // assignment and before the fetch loop is (re)scheduled: a seek made here is applied by the very first
    // fetch of that generation. We never commit, so without it a join would start at the beginning: seek
    // every partition to its stored or delivered offset instead (duplicates at worst, never gaps).
    let joins = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joins += 1;
      if (joins > 1) this.logger.warn({ groupId, joins }, 'kafka log source: re-joined, seeking to delivered offsets');
      if (this.problem !== undefined) {
        this.logger.warn({ groupId, session }, 'kafka log source: new session joined, delivering again');
        this.problem = undefined;
      }
      for (const { topic, partition, next } of this.delivered.values())
        consumer.seek({ topic, partition, offset: next });
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (this.consumer !== consumer || this.stopped) return;
      this.onCrash(consumer, groupId, event.payload.error);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch, isStale }) => this.deliver(batch, isStale),
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private async deliver(batch: Batch, isStale: () => boolean): Promise<void> {
    const items: LogItem[] = [];
    const partition = `${batch.topic}:${batch.partition}`;
    // Belt and braces: a batch fetched before a seek took effect could start before what is due; never
    // hand the handler anything before the stored or delivered offset of its partition.
    const due = this.delivered.get(partition)?.next;
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
        this.logger.error({ partition, offset, reason: decoded.reason }, 'kafka log source: foreign message ignored');
      }
    }
    if (items.length > 0) await this.handler!(items);
    const last = batch.messages[batch.messages.length - 1];
    if (last && (due === undefined || BigInt(last.offset) >= BigInt(due))) {
      this.delivered.set(partition, {
        topic: batch.topic,
        partition: batch.partition,
        next: (BigInt(last.offset) + 1n).toString(),
      });
    }
  }

  /** kafkajs gave up on this consumer: drop it and start sessions in fresh groups until one runs. */
  private onCrash(consumer: Consumer, groupId: string, error: Error): void {
    this.problem = `kafka consumer lost its brokers (${error.message}); starting a new session`;
    this.logger.warn({ groupId, err: error }, 'kafka log source: consumer gave up; starting a new session');
    this.abandoned.push({ consumer, groupId });
    // A session may crash while the loop below is still starting it (e.g. "coordinator loading" right after a
    // broker restart): the running loop sees it in `abandoned` and goes round again.
    this.restarting ??= this.restartSessions().finally(() => (this.restarting = undefined));
  }

  private async restartSessions(): Promise<void> {
    let backoff = RESTART_BACKOFF_MS.first;
    while (!this.stopped && this.abandoned.length > 0) {
      const dropped = this.abandoned.splice(0);
      for (const { consumer } of dropped) await consumer.disconnect().catch(() => undefined);
      try {
        await this.startSession();
        // An abandoned group is empty once its member's session expires; deleting it is tidiness only.
        void this.admin?.deleteGroups(dropped.map((d) => d.groupId)).catch(() => undefined);
        backoff = RESTART_BACKOFF_MS.first;
      } catch (err) {
        // Not logged per attempt: the replica's stale/fresh transition log carries this as its cause.
        this.problem = `kafka unreachable (${(err as Error).message}); retrying`;
        this.abandoned.push(...dropped.slice(-1));
        await interruptibleSleep(backoff, (wake) => (this.wake = wake));
        backoff = Math.min(backoff * 2, RESTART_BACKOFF_MS.max);
      }
    }
  }

  partitions(): readonly PartitionKey[] {
    return this.known;
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
    this.stopped = true;
    this.wake?.();
    await this.restarting;
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
