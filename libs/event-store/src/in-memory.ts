import { reportCommitted } from './committed-events';
import { canonicalJson } from './decider';
import { IdempotencyKeyReusedError, InvalidStreamIdError, VersionConflictError } from './errors';
import { newEventId } from './ids';
import type { LogBatchHandler, LogItem, LogSource, Offsets, PartitionKey } from './log-source';
import { checkStreams, eventsFingerprint, manyFingerprint } from './postgres-event-store';
import type {
  AppendManyResult,
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
  InlineProjection,
  NewEvent,
  RecordedEvent,
  StreamAppend,
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

  partitions(): readonly PartitionKey[] {
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

  /** Appends one at a time: an inline projection's await must not let another append in between. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly options: {
      source?: string;
      log?: InMemoryLog;
      now?: () => number;
      idempotencyTtlMs?: number;
      /** Applied to each append's events before they are stored; one that throws stores nothing. */
      inlineProjections?: readonly InlineProjection<undefined>[];
    } = {},
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
    const fingerprint = options.fingerprint ?? eventsFingerprint(streamId, events);
    return this.exclusive(async () => {
      const stored = await this.replay(options, fingerprint);
      if (stored) return stored;
      const current = this.check({ streamId, expectedVersion, events });
      const recorded = await this.record([{ streamId, expectedVersion, events }], options);
      const result: AppendResult = { streamId, version: current + recorded.length, events: recorded, replayed: false };
      this.remember(options, fingerprint, result);
      return result;
    });
  }

  async appendMany(appends: readonly StreamAppend[], options: AppendOptions): Promise<AppendManyResult> {
    checkStreams(appends);
    const fingerprint = options.fingerprint ?? manyFingerprint(appends);
    return this.exclusive(async () => {
      const stored = await this.replay(options, fingerprint);
      if (stored) return { events: stored.events, replayed: true };
      for (const a of appends) this.check(a);
      const recorded = await this.record(appends, options);
      this.remember(options, fingerprint, { streamId: '*', version: 0, events: recorded, replayed: false });
      return { events: recorded, replayed: false };
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async replay(options: AppendOptions, fingerprint: string): Promise<AppendResult | null> {
    const key = options.idempotencyKey;
    return key === undefined ? null : this.lookupIdempotencyKey(options.metadata.actor, key, fingerprint);
  }

  private remember(options: AppendOptions, fingerprint: string, result: AppendResult): void {
    const key = options.idempotencyKey;
    if (key !== undefined) this.keys.set(`${options.metadata.actor}\0${key}`, { fingerprint, result, at: this.now() });
    reportCommitted(result);
  }

  /** The stream's current version, if it is the expected one. */
  private check({ streamId, expectedVersion }: StreamAppend): number {
    const current = this.streams.get(streamId)?.length ?? 0;
    if (expectedVersion !== 'any' && expectedVersion !== current) {
      throw new VersionConflictError(streamId, expectedVersion, current);
    }
    return current;
  }

  /** Builds the appends' events, applies the inline projections to them, then stores them. */
  private async record(appends: readonly StreamAppend[], options: AppendOptions): Promise<RecordedEvent[]> {
    const recordedAt = new Date(this.now());
    const recorded: RecordedEvent[] = [];
    for (const { streamId, events } of appends) {
      const current = this.streams.get(streamId)?.length ?? 0;
      const added: RecordedEvent[] = events.map((e, i) => ({
        id: e.id ?? newEventId(),
        source: this.source,
        streamId,
        streamVersion: current + i + 1,
        position: this.all.length + recorded.length + i + 1,
        type: e.type,
        // stored as JSON, like jsonb
        data: JSON.parse(canonicalJson(e.data ?? null)),
        metadata: {
          actor: options.metadata.actor,
          channel: options.metadata.channel,
          causationId: options.metadata.causationId ?? null,
          correlationId: options.metadata.correlationId ?? null,
          idempotencyKey: options.idempotencyKey ?? null,
          recordedAt: recordedAt.toISOString(),
        },
        recordedAt,
      }));
      recorded.push(...added);
    }
    for (const projection of this.options.inlineProjections ?? []) {
      const handled = recorded.filter((e) => projection.handles.includes(e.type));
      if (handled.length > 0) await projection.apply(handled, undefined);
    }
    for (const event of recorded) {
      const stream = this.streams.get(event.streamId) ?? [];
      stream.push(event);
      this.streams.set(event.streamId, stream);
    }
    this.all.push(...recorded);
    if (recorded.length) this.options.log?.publish(recorded);
    return recorded;
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
    const replayed = { ...stored.result, replayed: true };
    reportCommitted(replayed);
    return replayed;
  }
}
