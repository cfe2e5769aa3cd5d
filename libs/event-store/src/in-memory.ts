import { canonicalJson } from './decider';
import { IdempotencyKeyReusedError, InvalidStreamIdError, VersionConflictError } from './errors';
import { newEventId } from './ids';
import type { LogBatchHandler, LogItem, LogSource, Offsets, PartitionKey } from './log-source';
import { eventsFingerprint } from './postgres-event-store';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  RecordedEvent,
  StreamSlice,
} from './types';

type Entry = { kind: 'event'; event: RecordedEvent } | { kind: 'heartbeat'; watermark: number };

/** Java-compatible-enough string hash for partitioning (stable, not Kafka's murmur2). */
function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

/**
 * In-memory partitioned log for unit tests: events are "published" synchronously on append, followed by a
 * heartbeat on every partition carrying the current time as watermark. No timers.
 */
export class InMemoryLog {
  private readonly parts: Entry[][];
  private readonly now: () => number;
  private readonly subscribers = new Set<InMemoryLogSource>();

  constructor(readonly options: { partitions?: number; now?: () => number } = {}) {
    this.parts = Array.from({ length: options.partitions ?? 3 }, () => []);
    this.now = options.now ?? Date.now;
  }

  partitionKeys(): PartitionKey[] {
    return this.parts.map((_, i) => `memory:${i}`);
  }

  partitionOf(streamId: string): number {
    return hash(streamId) % this.parts.length;
  }

  /** Publishes events (keyed by stream id, as given: duplicates and gaps included), then heartbeats. */
  publish(events: readonly RecordedEvent[], options: { heartbeat?: boolean } = {}): void {
    for (const event of events) this.parts[this.partitionOf(event.streamId)]!.push({ kind: 'event', event });
    if (options.heartbeat ?? true) this.heartbeat();
    else this.notify();
  }

  /** Appends a heartbeat to every partition (default watermark: now). */
  heartbeat(watermark = this.now()): void {
    for (const part of this.parts) part.push({ kind: 'heartbeat', watermark });
    this.notify();
  }

  /** A new reader of this log. */
  source(): LogSource {
    return new InMemoryLogSource(this);
  }

  /** Resolves when every reader has delivered everything published so far (for unit tests). */
  async settled(): Promise<void> {
    for (;;) {
      const busy = [...this.subscribers].map((s) => s.idle()).filter((p): p is Promise<void> => p !== null);
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  /** @internal */
  entries(partition: number): readonly Entry[] {
    return this.parts[partition]!;
  }

  /** @internal */
  subscribe(source: InMemoryLogSource, on: boolean): void {
    if (on) this.subscribers.add(source);
    else this.subscribers.delete(source);
  }

  private notify(): void {
    for (const s of this.subscribers) s.pump();
  }
}

/** Reads an `InMemoryLog`; offsets are array indexes (next to read) per partition `memory:<n>`. */
export class InMemoryLogSource implements LogSource {
  private cursors: number[] = [];
  private handler?: LogBatchHandler;
  private pumping?: Promise<void>;
  private again = false;
  private running = false;

  constructor(private readonly log: InMemoryLog) {}

  async start(from: Offsets, handler: LogBatchHandler): Promise<void> {
    this.cursors = this.log.partitionKeys().map((key) => Number(from[key] ?? 0));
    this.handler = handler;
    this.running = true;
    this.log.subscribe(this, true);
    this.pump();
  }

  partitions(): PartitionKey[] {
    return this.log.partitionKeys();
  }

  async lag(offsets: Offsets): Promise<number> {
    return this.log
      .partitionKeys()
      .reduce((sum, key, i) => sum + Math.max(0, this.log.entries(i).length - Number(offsets[key] ?? 0)), 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.log.subscribe(this, false);
    await this.pumping;
  }

  /** The running delivery, or null when caught up. */
  idle(): Promise<void> | null {
    return this.pumping ?? null;
  }

  /** Delivers everything not yet delivered, one batch per partition, until caught up. */
  pump(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.again = false;
        for (let i = 0; i < this.cursors.length && this.running; i++) {
          const entries = this.log.entries(i);
          const from = this.cursors[i]!;
          if (from >= entries.length) continue;
          const items: LogItem[] = entries.slice(from).map((entry, k) => {
            const base = { partition: `memory:${i}`, offset: String(from + k), next: String(from + k + 1) };
            return entry.kind === 'event'
              ? { ...base, kind: 'event', event: entry.event }
              : { ...base, kind: 'heartbeat', watermark: entry.watermark };
          });
          this.cursors[i] = entries.length;
          await this.handler!(items);
          this.again = true;
        }
      } while (this.again && this.running);
    })().finally(() => {
      this.pumping = undefined;
    });
  }
}

/** In-memory `EventStore` (same semantics as PostgreSQL, including idempotency), optionally feeding a log. */
export class InMemoryEventStore implements EventStore {
  readonly source: string;
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly all: RecordedEvent[] = [];
  private readonly keys = new Map<string, { fingerprint: string; result: AppendResult; at: number }>();
  private readonly now: () => number;
  private readonly ttlMs: number;

  constructor(
    readonly options: { source?: string; log?: InMemoryLog; now?: () => number; idempotencyTtlMs?: number } = {},
  ) {
    this.source = options.source ?? '/tollgate/memory';
    this.now = options.now ?? Date.now;
    this.ttlMs = options.idempotencyTtlMs ?? 24 * 60 * 60 * 1000;
  }

  async append(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    if (!streamId || streamId.length > 200) throw new InvalidStreamIdError(streamId);
    const key = options.idempotencyKey;
    const fingerprint = options.fingerprint ?? eventsFingerprint(streamId, events);
    if (key !== undefined) {
      const stored = await this.lookupIdempotencyKey(options.metadata.actor, key, fingerprint);
      if (stored) return stored;
    }
    const stream = this.streams.get(streamId) ?? [];
    const current = stream.length;
    if (expectedVersion !== 'any' && expectedVersion !== current) {
      throw new VersionConflictError(streamId, expectedVersion, current);
    }
    const recordedAt = new Date(this.now());
    const recorded: RecordedEvent[] = events.map((e, i) => ({
      id: e.id ?? newEventId(),
      source: this.source,
      streamId,
      streamVersion: current + i + 1,
      position: this.all.length + i + 1,
      type: e.type,
      // stored as JSON, like jsonb
      data: JSON.parse(canonicalJson(e.data ?? null)),
      metadata: {
        actor: options.metadata.actor,
        channel: options.metadata.channel,
        causationId: options.metadata.causationId ?? null,
        correlationId: options.metadata.correlationId ?? null,
        idempotencyKey: key ?? null,
        recordedAt: recordedAt.toISOString(),
      },
      recordedAt,
    }));
    stream.push(...recorded);
    this.streams.set(streamId, stream);
    this.all.push(...recorded);
    const result: AppendResult = { streamId, version: current + recorded.length, events: recorded, replayed: false };
    if (key !== undefined) {
      this.keys.set(`${options.metadata.actor}\0${key}`, { fingerprint, result, at: this.now() });
    }
    if (recorded.length) this.options.log?.publish(recorded);
    return result;
  }

  async readStream(streamId: string, options: { fromVersion?: number } = {}): Promise<StreamSlice> {
    const stream = this.streams.get(streamId) ?? [];
    return {
      streamId,
      version: stream.length,
      events: stream.filter((e) => e.streamVersion >= (options.fromVersion ?? 1)),
    };
  }

  async readAll(options: { after?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? 0;
    return this.all.filter((e) => e.position > after).slice(0, options.limit ?? 1000);
  }

  async lookupIdempotencyKey(scope: string, key: string, fingerprint: string): Promise<AppendResult | null> {
    const stored = this.keys.get(`${scope}\0${key}`);
    if (!stored || this.now() - stored.at > this.ttlMs) return null;
    if (stored.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError(key);
    return { ...stored.result, replayed: true };
  }
}
