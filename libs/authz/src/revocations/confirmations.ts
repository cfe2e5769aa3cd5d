import { randomBytes } from 'node:crypto';
import { CONFIRMATIONS_TOPIC } from '@tollgate/contracts';
import type { KafkaConfig } from '@tollgate/config';
import { PartitionPublisher, topicPartitions, topicSpec } from '@tollgate/event-store';
import { createKafka, settleWithin } from '@tollgate/platform';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Revocation confirmation: every authz replica says when it applied each access-reducing event (a key
 * revoked, a user deactivated, a collaborator removed or demoted, a deployment narrowed, groups shrunk, the
 * external-access policy tightened: `reducesAccess`), so an operator (or the CLI after a write that answered
 * `Tollgate-Event-Id`) can see it enforced everywhere instead of trusting "eventually".
 *
 * Each replica publishes on its own topic (`tollgate.authz-confirmations.v1`, not a domain event log): one
 * `applied` message per applied revocation, keyed by the event id, and a `heartbeat` per replica every
 * `heartbeatMs` (keyed by `replica:<id>`; a `leaving` message on a clean stop) so the set of live replicas
 * is known. Every replica reads the whole topic and can answer for all. Without Kafka (embedded mode) the
 * one replica answers from its own model.
 */

export type ConfirmationMessage =
  | {
      type: 'applied';
      eventId: string;
      /** The event's type (absent from messages of older releases). */
      eventType?: string;
      keyId: string | null;
      replicaId: string;
      committedAt: number | null;
      appliedAt: number;
      lagMs: number | null;
    }
  | { type: 'heartbeat'; replicaId: string; at: number; startedAt: number }
  | { type: 'leaving'; replicaId: string; at: number };

export interface ReplicaApplication {
  replicaId: string;
  /** ISO 8601, or null until that replica applied it. */
  appliedAt: string | null;
  lagMs: number | null;
}

/** `GET /v1/revocations/{eventId}` (CONTRACT.md section 3). */
export interface RevocationStatus {
  eventId: string;
  committedAt: string | null;
  replicas: ReplicaApplication[];
  /** Every live replica (this one included) has applied it. */
  appliedByAll: boolean;
}

/** An access-reducing event applied by this replica (see `AccessModel.onAccessReduced`). */
export interface AppliedReduction {
  eventId: string;
  type: string;
  appliedAt: number;
  committedAt: number | null;
  keyId: string | null;
}

/** The part of the access model the confirmations read. */
export interface RevocationSource {
  revocationApplied(eventId: string): number | undefined;
  onAccessReduced(listener: (applied: AppliedReduction) => void): () => void;
  /** What the model holds as applied, restored from a snapshot included. */
  heldReductions(): Iterable<[string, number]>;
}

export interface RevocationConfirmationsOptions {
  model: RevocationSource;
  replicaId: string;
  /** Deployed mode; undefined: embedded, this replica only. */
  kafka?: KafkaConfig;
  topic?: string;
  /** Replica heartbeat period (default 1000 ms). */
  heartbeatMs?: number;
  /** A replica is live while its last heartbeat is at most this old (default max(5 s, 5 heartbeats)). */
  liveWindowMs?: number;
  logger: Logger;
  /** Called per applied access-reducing event (commit → applied on this replica), e.g. for a histogram. */
  onApplied?: (applied: { type: string; lagMs: number | null }) => void;
  /** Held confirmations older than this are not announced again at start (default 7 days, the topic's retention). */
  reconfirmWindowMs?: number;
  now?: () => number;
  /** Entries kept per map before the oldest are forgotten (default 200 000). */
  maxEntries?: number;
}

interface LocalRevocation {
  keyId: string | null;
  committedAt: number | null;
  appliedAt: number;
}

interface RemoteRevocation {
  committedAt: number | null;
  byReplica: Map<string, { appliedAt: number; lagMs: number | null }>;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** One access-reducing event as this replica applied it (`GET /v1/revocations`, newest first). */
export interface RecentReduction {
  eventId: string;
  /** The event type (`KeyRevoked`, `UserDeactivated`, `CollaboratorRemoved`, …). */
  type: string;
  keyId: string | null;
  committedAt: string | null;
  appliedAt: string;
}

/** How many of the latest access-reducing events a replica keeps for `GET /v1/revocations`. */
export const RECENT_REDUCTIONS = 100;

export class RevocationConfirmations {
  readonly topic: string;
  private readonly now: () => number;
  private readonly heartbeatMs: number;
  private readonly liveWindowMs: number;
  private readonly maxEntries: number;
  private readonly startedAt: number;
  private readonly local = new Map<string, LocalRevocation>();
  /** The latest applied reductions, oldest first, at most RECENT_REDUCTIONS. */
  private readonly latest: AppliedReduction[] = [];
  private readonly remote = new Map<string, RemoteRevocation>();
  private readonly replicas = new Map<string, { lastAt: number; leaving: boolean }>();
  private readonly queue: ConfirmationMessage[] = [];
  private unsubscribe: (() => void) | undefined;
  private kafka: Kafka | undefined;
  private producer: Producer | undefined;
  private publisher: PartitionPublisher | undefined;
  private consumer: Consumer | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private isConnected = false;
  private stopped = false;
  private publishFailing = false;

  constructor(private readonly options: RevocationConfirmationsOptions) {
    this.topic = options.topic ?? CONFIRMATIONS_TOPIC;
    this.now = options.now ?? Date.now;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.liveWindowMs = options.liveWindowMs ?? Math.max(5000, 5 * this.heartbeatMs);
    this.maxEntries = options.maxEntries ?? 200_000;
    this.startedAt = this.now();
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  /**
   * Subscribes to the model; in deployed mode also connects, creates the topic if missing and starts reading
   * it, and announces again what the model already holds (a replica restored from a snapshot applied those
   * events in an earlier life: without this, the others would list it as not having applied them).
   */
  async start(): Promise<void> {
    this.unsubscribe = this.options.model.onAccessReduced((applied) => this.applied(applied));
    if (!this.options.kafka) return;
    this.reconfirmHeld();
    // In the background, like the access model's own log source: the replica serves while Kafka is away;
    // confirmations applied meanwhile are queued and published once connected.
    this.connecting = this.connectLoop();
  }

  /** Messages waiting to be published (oldest first). */
  get pending(): readonly ConfirmationMessage[] {
    return this.queue;
  }

  /** Whether the confirmations topic is being read and written (always false in embedded mode). */
  get connected(): boolean {
    return this.isConnected;
  }

  private async connectLoop(): Promise<void> {
    let backoff = 250;
    while (!this.stopped) {
      try {
        await this.connect();
        this.isConnected = true;
        this.options.logger.info({ topic: this.topic }, 'authz: revocation confirmations connected');
        this.flushing ??= this.flushLoop().finally(() => (this.flushing = undefined));
        return;
      } catch (error) {
        this.options.logger.warn(
          { err: error, topic: this.topic, retryInMs: backoff },
          'authz: confirmations cannot reach Kafka; retrying',
        );
        await settleWithin(this.consumer?.disconnect() ?? Promise.resolve(), 1000);
        await settleWithin(this.producer?.disconnect() ?? Promise.resolve(), 1000);
        this.consumer = undefined;
        this.producer = undefined;
        await new Promise((resolve) => setTimeout(resolve, backoff).unref());
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private async connect(): Promise<void> {
    const kafkaConfig = this.options.kafka!;
    this.kafka ??= createKafka(kafkaConfig, {
      clientSuffix: 'authz-confirmations',
      // Never restart a crashed consumer once stopping (kafkajs would otherwise retry forever).
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 8, restartOnFailure: async () => !this.stopped },
    });
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.createTopics({
        waitForLeaders: true,
        topics: [topicSpec(this.topic, 3, 7 * 24 * 3600 * 1000, kafkaConfig)],
      });
      // One send per partition: a multi-partition kafkajs send can drop a partition's records during a leader
      // change and still resolve (see PartitionPublisher); a dropped confirmation would leave a replica
      // "not applied" in GET /v1/revocations for good.
      this.publisher = new PartitionPublisher(this.topic, await topicPartitions(admin, this.topic), 1);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      // Short: a failed batch stays queued and the flush loop tries again; a send never blocks a stop for long.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    });
    this.producer = producer;
    await producer.connect();
    const consumer = this.kafka.consumer({
      groupId: `tollgate-authz-confirmations-${this.options.replicaId}-${randomBytes(4).toString('hex')}`,
      maxWaitTimeInMs: 50,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          if (!message.value) continue;
          try {
            this.ingest(JSON.parse(message.value.toString('utf8')) as ConfirmationMessage);
          } catch (error) {
            this.options.logger.warn(
              { err: error, offset: message.offset },
              'authz: unreadable confirmation message skipped',
            );
          }
        }
      },
    });
    if (this.stopped) return;
    const beat = () =>
      this.enqueue({ type: 'heartbeat', replicaId: this.options.replicaId, at: this.now(), startedAt: this.startedAt });
    beat();
    this.heartbeat = setInterval(beat, this.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Stops within a few seconds whatever Kafka does: a last best-effort flush and a `leaving` message (skipped
   * while publishing fails: the live window then ends this replica's membership), bounded disconnects.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    await settleWithin(this.connecting ?? Promise.resolve(), 1000);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.producer && this.isConnected) {
      await settleWithin(this.flushing ?? Promise.resolve(), 1000);
      if (!this.publishFailing) {
        this.queue.push({ type: 'leaving', replicaId: this.options.replicaId, at: this.now() });
        await settleWithin(this.sendQueued(), 1000);
      }
    }
    await settleWithin(this.consumer?.disconnect() ?? Promise.resolve(), 1000);
    await settleWithin(this.producer?.disconnect() ?? Promise.resolve(), 1000);
  }

  /** The confirmation status of a revocation, or undefined when no replica knows the event (404). */
  status(eventId: string): RevocationStatus | undefined {
    const self = this.options.replicaId;
    const own = this.local.get(eventId);
    const ownAppliedAt = this.options.model.revocationApplied(eventId) ?? own?.appliedAt;
    const remote = this.remote.get(eventId);
    if (ownAppliedAt === undefined && remote === undefined) return undefined;
    const committedAt = own?.committedAt ?? remote?.committedAt ?? null;
    const lag = (appliedAt: number) => (committedAt === null ? null : Math.max(0, appliedAt - committedAt));

    const entries = new Map<string, ReplicaApplication>();
    entries.set(self, {
      replicaId: self,
      appliedAt: iso(ownAppliedAt ?? null),
      lagMs: ownAppliedAt === undefined ? null : lag(ownAppliedAt),
    });
    const live = this.liveReplicas();
    for (const replicaId of live) {
      if (!entries.has(replicaId)) entries.set(replicaId, { replicaId, appliedAt: null, lagMs: null });
    }
    for (const [replicaId, applied] of remote?.byReplica ?? []) {
      if (replicaId === self) continue;
      entries.set(replicaId, {
        replicaId,
        appliedAt: iso(applied.appliedAt),
        lagMs: applied.lagMs ?? lag(applied.appliedAt),
      });
    }
    const replicas = [...entries.values()].sort((a, b) => a.replicaId.localeCompare(b.replicaId));
    const appliedByAll = [self, ...live].every((id) => entries.get(id)?.appliedAt != null);
    return { eventId, committedAt: iso(committedAt), replicas, appliedByAll };
  }

  /** The latest `limit` access-reducing events this replica applied, newest first. */
  recent(limit: number): RecentReduction[] {
    return this.latest
      .slice(-limit)
      .reverse()
      .map((r) => ({
        eventId: r.eventId,
        type: r.type,
        keyId: r.keyId,
        committedAt: iso(r.committedAt),
        appliedAt: iso(r.appliedAt)!,
      }));
  }

  /** Replicas other than this one whose last heartbeat is within the live window. */
  liveReplicas(): string[] {
    const now = this.now();
    const live: string[] = [];
    for (const [replicaId, r] of this.replicas) {
      if (replicaId !== this.options.replicaId && !r.leaving && now - r.lastAt <= this.liveWindowMs)
        live.push(replicaId);
    }
    return live.sort();
  }

  private applied({ eventId, type, appliedAt, committedAt, keyId }: AppliedReduction): void {
    const lagMs = committedAt === null ? null : Math.max(0, appliedAt - committedAt);
    remember(this.local, eventId, { keyId, committedAt, appliedAt }, this.maxEntries);
    this.latest.push({ eventId, type, appliedAt, committedAt, keyId });
    if (this.latest.length > RECENT_REDUCTIONS) this.latest.shift();
    this.options.onApplied?.({ type, lagMs });
    if (this.options.kafka && !this.stopped) {
      this.enqueue({
        type: 'applied',
        eventId,
        eventType: type,
        keyId,
        replicaId: this.options.replicaId,
        committedAt,
        appliedAt,
        lagMs,
      });
    }
  }

  /** Queues an `applied` message for every held confirmation within the window (no metric: not new). */
  private reconfirmHeld(): void {
    const since = this.now() - (this.options.reconfirmWindowMs ?? 7 * 24 * 3600 * 1000);
    for (const [eventId, appliedAt] of this.options.model.heldReductions()) {
      if (appliedAt < since || this.local.has(eventId)) continue;
      this.enqueue({
        type: 'applied',
        eventId,
        keyId: null,
        replicaId: this.options.replicaId,
        committedAt: null,
        appliedAt,
        lagMs: null,
      });
    }
  }

  /** Takes one message of the confirmations topic into account (the consumer calls it; tests may too). */
  ingest(message: ConfirmationMessage): void {
    if (message.type === 'applied') {
      let entry = this.remote.get(message.eventId);
      if (!entry) {
        entry = { committedAt: message.committedAt, byReplica: new Map() };
        remember(this.remote, message.eventId, entry, this.maxEntries);
      }
      entry.committedAt ??= message.committedAt;
      if (!entry.byReplica.has(message.replicaId)) {
        entry.byReplica.set(message.replicaId, { appliedAt: message.appliedAt, lagMs: message.lagMs });
      }
      this.seen(message.replicaId, undefined);
    } else if (message.type === 'heartbeat') {
      this.seen(message.replicaId, message.at);
    } else if (message.type === 'leaving') {
      const r = this.replicas.get(message.replicaId);
      if (r && message.at >= r.lastAt) r.leaving = true;
    }
  }

  private seen(replicaId: string, at: number | undefined): void {
    const r = this.replicas.get(replicaId);
    if (!r) {
      if (at !== undefined) this.replicas.set(replicaId, { lastAt: at, leaving: false });
      return;
    }
    if (at !== undefined && at > r.lastAt) {
      r.lastAt = at;
      r.leaving = false;
    }
  }

  private enqueue(message: ConfirmationMessage): void {
    if (this.queue.length >= this.maxEntries) this.queue.shift();
    this.queue.push(message);
    if (this.isConnected) this.flushing ??= this.flushLoop().finally(() => (this.flushing = undefined));
  }

  /** Sends whatever is queued, one batch at a time; a failed batch stays queued and is retried. */
  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped && this.isConnected) {
      try {
        await this.sendQueued();
        if (this.publishFailing)
          this.options.logger.info({ topic: this.topic }, 'authz: confirmations publishing again');
        this.publishFailing = false;
      } catch (error) {
        if (!this.publishFailing)
          this.options.logger.warn({ err: error, topic: this.topic }, 'authz: cannot publish confirmations; retrying');
        this.publishFailing = true;
        await new Promise((resolve) => setTimeout(resolve, 500).unref());
      }
    }
  }

  private async sendQueued(): Promise<void> {
    if (!this.producer || !this.publisher || this.queue.length === 0) return;
    const batch = this.queue.slice(0, 5000);
    await this.publisher.publish(
      this.producer,
      batch.map((m) => ({
        key: m.type === 'applied' ? m.eventId : `replica:${m.replicaId}`,
        value: JSON.stringify(m),
      })),
    );
    this.queue.splice(0, batch.length);
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}
