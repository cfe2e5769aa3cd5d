import type { Registry } from 'prom-client';
import type { LogItem, LogSource, Offsets, PartitionKey } from './log-source';
import { eventStoreMetrics, type EventStoreMetrics, zeroCounters } from './metrics';
import { consoleLogger, type Logger, type RecordedEvent } from './types';

/** A read model. It owns its state; the runner guarantees each stream's events arrive once, in order. */
export interface Projection {
  apply(event: RecordedEvent): void | Promise<void>;
}

/** What a snapshot must store to resume: offsets per partition and the last applied version per stream. */
export interface ProjectionPosition {
  offsets: Offsets;
  streamVersions: Record<string, number>;
}

export interface ProjectionHealth {
  status: 'ok' | 'catching-up' | 'halted';
  reason?: string;
  poison?: { position: number; eventId: string; type: string; streamId: string; error: string };
  /** Watermark (epoch ms) or null before every partition has delivered a heartbeat. */
  watermark: number | null;
}

export interface ProjectionStats {
  applied: number;
  duplicates: number;
  gaps: number;
  heldPartitions: string[];
}

export interface ProjectionRunnerOptions {
  /** Metric label, e.g. `authz`. */
  name: string;
  source: LogSource;
  projection: Projection;
  registry: Registry;
  /** Restore point from a snapshot (default: from the beginning). */
  from?: ProjectionPosition;
  /** `health()` says `catching-up` while `now - watermark` exceeds this (default 2000 ms). */
  maxStalenessMs?: number;
  /** Items buffered per held (gapped) partition while waiting for the missing event (default 100 000). */
  gapBufferLimit?: number;
  logger?: Logger;
  now?: () => number;
}

interface Hold {
  streamId: string;
  expected: number;
  got: number;
  /** Items of the partition from the gapped one on, not applied yet. */
  buffer: LogItem[];
  overflowed: boolean;
}

/**
 * Applies a log to a projection idempotently and keeps the watermark.
 *
 * - Per stream, the last applied version: an event at or below it is a duplicate (ignored, counted).
 * - An event beyond last + 1 is a gap: logged, counted, and its partition is held: nothing more of that
 *   partition is applied and its heartbeats no longer count (the watermark freezes, consumers fail
 *   closed). Items keep being read into a buffer; when the missing event arrives (e.g. republished), it
 *   is applied and the buffer is replayed in order.
 * - A poison event (apply throws) halts the whole projection: nothing more is applied, the watermark
 *   stops, `health()` reports it. It is never skipped.
 * - Watermark = min over all partitions of the last applied heartbeat.
 */
export class ProjectionRunner {
  private readonly logger: Logger;
  private readonly metrics: EventStoreMetrics;
  private readonly now: () => number;
  private readonly maxStalenessMs: number;
  private readonly gapBufferLimit: number;
  private readonly offsets = new Map<PartitionKey, string>();
  private readonly versions = new Map<string, number>();
  private readonly beats = new Map<PartitionKey, number>();
  /** Heartbeats applied so far: `watermark()` recomputes only when it moved. */
  private beatsApplied = 0;
  private watermarkCache: { partitions: readonly PartitionKey[] | null; beats: number; value: number | null } = {
    partitions: null,
    beats: -1,
    value: null,
  };
  private readonly holds = new Map<PartitionKey, Hold>();
  private poisoned: ProjectionHealth['poison'] | null = null;
  private started = false;
  private counts = { applied: 0, duplicates: 0, gaps: 0 };
  private lagTimer?: NodeJS.Timeout;
  private lastLag: number | null = null;

  constructor(readonly options: ProjectionRunnerOptions) {
    this.logger = options.logger ?? consoleLogger;
    this.metrics = eventStoreMetrics(options.registry);
    zeroCounters(this.metrics, { projection: options.name });
    this.now = options.now ?? Date.now;
    this.maxStalenessMs = options.maxStalenessMs ?? 2000;
    this.gapBufferLimit = options.gapBufferLimit ?? 100_000;
    for (const [p, o] of Object.entries(options.from?.offsets ?? {})) this.offsets.set(p, o);
    for (const [s, v] of Object.entries(options.from?.streamVersions ?? {})) this.versions.set(s, v);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('ProjectionRunner already started');
    this.started = true;
    const label = { projection: this.options.name };
    this.metrics.watermarkAgeProbes.set(this.options.name, () => {
      const w = this.watermark();
      return w === null ? null : Math.max(0, this.now() - w) / 1000;
    });
    this.metrics.halted.set(label, 0);
    await this.options.source.start(Object.fromEntries(this.offsets), (items) => this.handle(items));
    this.lagTimer = setInterval(() => void this.lag().catch(() => undefined), 1000);
    this.lagTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = undefined;
    this.metrics.watermarkAgeProbes.delete(this.options.name);
    await this.options.source.stop();
  }

  /**
   * min over all partitions of the last applied heartbeat; null until every partition had one. Asked on
   * every decision (freshness), so it is computed again only when a heartbeat was applied or the source's
   * partitions changed (a new array), not per call.
   */
  watermark(): number | null {
    const partitions = this.options.source.partitions();
    const cached = this.watermarkCache;
    if (cached.partitions === partitions && cached.beats === this.beatsApplied) return cached.value;
    const value = this.oldestBeat(partitions);
    this.watermarkCache = { partitions, beats: this.beatsApplied, value };
    return value;
  }

  private oldestBeat(partitions: readonly PartitionKey[]): number | null {
    if (partitions.length === 0) return null;
    let min = Infinity;
    for (const p of partitions) {
      const w = this.beats.get(p);
      if (w === undefined) return null;
      if (w < min) min = w;
    }
    return min;
  }

  /** The partition whose last heartbeat is the oldest (it holds the watermark back), or null before any. */
  oldestPartition(): { partition: PartitionKey; watermark: number | null } | null {
    let oldest: { partition: PartitionKey; watermark: number | null } | null = null;
    for (const partition of this.options.source.partitions()) {
      const watermark = this.beats.get(partition) ?? null;
      if (watermark === null) return { partition, watermark };
      if (!oldest || watermark < oldest.watermark!) oldest = { partition, watermark };
    }
    return oldest;
  }

  /** Offsets and stream versions reflecting exactly what was applied (for snapshots). */
  position(): ProjectionPosition {
    return { offsets: Object.fromEntries(this.offsets), streamVersions: Object.fromEntries(this.versions) };
  }

  /** Last applied version of a stream (0 if none). */
  streamVersion(streamId: string): number {
    return this.versions.get(streamId) ?? 0;
  }

  /** Stopped on a poison event: `health().poison` without building the health (asked on every decision). */
  isPoisoned(): boolean {
    return this.poisoned !== null;
  }

  health(): ProjectionHealth {
    const watermark = this.watermark();
    if (this.poisoned) {
      return {
        status: 'halted',
        reason: `poison event ${this.poisoned.eventId} (${this.poisoned.type}) at position ${this.poisoned.position}: ${this.poisoned.error}`,
        poison: { ...this.poisoned },
        watermark,
      };
    }
    if (this.holds.size > 0) {
      const [partition, hold] = this.holds.entries().next().value as [string, Hold];
      const reason = hold.overflowed
        ? `gap on ${partition}: stream ${hold.streamId} expected version ${hold.expected}, got ${hold.got}; buffer full, restart from position() after republishing`
        : `gap on ${partition}: stream ${hold.streamId} expected version ${hold.expected}, got ${hold.got}; holding until it arrives`;
      return { status: 'halted', reason, watermark };
    }
    if (watermark === null) return { status: 'catching-up', reason: 'no heartbeat yet on every partition', watermark };
    const age = this.now() - watermark;
    if (age > this.maxStalenessMs) {
      return { status: 'catching-up', reason: `watermark is ${age} ms old`, watermark };
    }
    return { status: 'ok', watermark };
  }

  stats(): ProjectionStats {
    return { ...this.counts, heldPartitions: [...this.holds.keys()] };
  }

  /** Lag in items (from the source) and in ms (`now - watermark`, null before a watermark). */
  async lag(): Promise<{ events: number; ms: number | null }> {
    const events = await this.options.source.lag(Object.fromEntries(this.offsets));
    this.lastLag = events;
    this.metrics.consumerLagEvents.set({ projection: this.options.name }, events);
    const w = this.watermark();
    return { events, ms: w === null ? null : Math.max(0, this.now() - w) };
  }

  /** The last lag in items computed (every second while running), or null. */
  lastKnownLag(): number | null {
    return this.lastLag;
  }

  private async handle(items: readonly LogItem[]): Promise<void> {
    for (const item of items) {
      if (this.poisoned) return;
      await this.process(item);
    }
  }

  private async process(item: LogItem): Promise<void> {
    const hold = this.holds.get(item.partition);
    if (hold) return this.holdItem(item, hold);
    if (item.kind === 'heartbeat') {
      const previous = this.beats.get(item.partition);
      if (previous === undefined || item.watermark > previous) {
        this.beats.set(item.partition, item.watermark);
        this.beatsApplied += 1;
      }
      this.offsets.set(item.partition, item.next);
      return;
    }
    const event = item.event;
    const last = this.versions.get(event.streamId) ?? 0;
    if (event.streamVersion <= last) {
      this.counts.duplicates++;
      this.metrics.duplicates.inc({ projection: this.options.name });
      this.offsets.set(item.partition, item.next);
      return;
    }
    if (event.streamVersion > last + 1) {
      this.counts.gaps++;
      this.metrics.gaps.inc({ projection: this.options.name });
      this.metrics.halted.set({ projection: this.options.name }, 1);
      this.logger.warn(
        {
          projection: this.options.name,
          partition: item.partition,
          offset: item.offset,
          streamId: event.streamId,
          expected: last + 1,
          got: event.streamVersion,
          eventId: event.id,
        },
        'projection: gap in stream, holding the partition until the missing event arrives',
      );
      this.holds.set(item.partition, {
        streamId: event.streamId,
        expected: last + 1,
        got: event.streamVersion,
        buffer: [item],
        overflowed: false,
      });
      return;
    }
    try {
      await this.options.projection.apply(event);
    } catch (error) {
      this.poisoned = {
        position: event.position,
        eventId: event.id,
        type: event.type,
        streamId: event.streamId,
        error: error instanceof Error ? error.message : String(error),
      };
      this.metrics.poison.inc({ projection: this.options.name });
      this.metrics.halted.set({ projection: this.options.name }, 1);
      this.logger.error(
        { projection: this.options.name, partition: item.partition, offset: item.offset, ...this.poisoned },
        'projection: poison event, projection halted (not skipped)',
      );
      return;
    }
    this.versions.set(event.streamId, event.streamVersion);
    this.offsets.set(item.partition, item.next);
    this.counts.applied++;
    this.metrics.applied.inc({ projection: this.options.name });
  }

  private async holdItem(item: LogItem, hold: Hold): Promise<void> {
    if (hold.overflowed) return;
    if (hold.buffer.length >= this.gapBufferLimit) {
      hold.overflowed = true;
      hold.buffer = [];
      this.logger.error(
        { projection: this.options.name, partition: item.partition, streamId: hold.streamId },
        'projection: gap buffer full; the partition stays held until a restart from position()',
      );
      return;
    }
    hold.buffer.push(item);
    const fills =
      item.kind === 'event' &&
      item.event.streamId === hold.streamId &&
      item.event.streamVersion === (this.versions.get(hold.streamId) ?? 0) + 1;
    if (!fills) return;
    this.holds.delete(item.partition);
    if (this.holds.size === 0 && !this.poisoned) this.metrics.halted.set({ projection: this.options.name }, 0);
    this.logger.warn(
      { projection: this.options.name, partition: item.partition, streamId: hold.streamId, version: hold.expected },
      'projection: missing event arrived, resuming the partition',
    );
    // Apply the missing event, then replay what was held, in order (it re-applies as duplicate-free).
    const offsetBefore = this.offsets.get(item.partition);
    await this.process(item);
    if (this.poisoned) return;
    if (offsetBefore === undefined) this.offsets.delete(item.partition);
    else this.offsets.set(item.partition, offsetBefore); // the buffer before it is not applied yet
    for (const held of hold.buffer) {
      if (this.poisoned) return;
      if (held === item && !this.holds.has(item.partition)) {
        this.offsets.set(item.partition, item.next);
        continue;
      }
      await this.process(held);
    }
  }
}
