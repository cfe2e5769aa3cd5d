import type { Registry } from 'prom-client';
import type { LogSource, Offsets } from './log-source';
import type { Logger, RecordedEvent } from './types';

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

/** Applies a log to a projection idempotently and keeps the watermark. See README. */
export class ProjectionRunner {
  constructor(readonly options: ProjectionRunnerOptions) {}
  async start(): Promise<void> {
    throw new Error('not implemented');
  }
  async stop(): Promise<void> {
    throw new Error('not implemented');
  }
  /** min over all partitions of the last applied heartbeat; null until every partition had one. */
  watermark(): number | null {
    throw new Error('not implemented');
  }
  /** Offsets and stream versions reflecting exactly what was applied (for snapshots). */
  position(): ProjectionPosition {
    throw new Error('not implemented');
  }
  health(): ProjectionHealth {
    throw new Error('not implemented');
  }
  stats(): ProjectionStats {
    throw new Error('not implemented');
  }
  /** Lag in items (from the source) and in ms (`now - watermark`, null before a watermark). */
  async lag(): Promise<{ events: number; ms: number | null }> {
    throw new Error('not implemented');
  }
}
