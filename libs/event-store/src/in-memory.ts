import type { LogBatchHandler, LogSource, Offsets, PartitionKey } from './log-source';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  RecordedEvent,
  StreamSlice,
} from './types';

/**
 * In-memory partitioned log for unit tests: events are "published" synchronously on append, followed by a
 * heartbeat on every partition carrying the current time as watermark.
 */
export class InMemoryLog {
  constructor(readonly options: { partitions?: number; now?: () => number } = {}) {}
  /** Publishes committed events (keyed by stream id) and heartbeats. */
  publish(_events: readonly RecordedEvent[]): void {
    throw new Error('not implemented');
  }
  /** Appends a heartbeat to every partition. */
  heartbeat(_watermark?: number): void {
    throw new Error('not implemented');
  }
  source(): LogSource {
    throw new Error('not implemented');
  }
}

/** In-memory `EventStore` (same semantics as PostgreSQL, including idempotency), optionally feeding a log. */
export class InMemoryEventStore implements EventStore {
  readonly source: string;
  constructor(readonly options: { source?: string; log?: InMemoryLog; now?: () => number } = {}) {
    this.source = options.source ?? '/tollgate/memory';
  }
  async append(
    _streamId: string,
    _expectedVersion: ExpectedVersion,
    _events: readonly NewEvent[],
    _options: AppendOptions,
  ): Promise<AppendResult> {
    throw new Error('not implemented');
  }
  async readStream(_streamId: string, _options?: { fromVersion?: number }): Promise<StreamSlice> {
    throw new Error('not implemented');
  }
  async readAll(_options?: { after?: number; limit?: number }): Promise<RecordedEvent[]> {
    throw new Error('not implemented');
  }
  async lookupIdempotencyKey(_scope: string, _key: string, _fingerprint: string): Promise<AppendResult | null> {
    throw new Error('not implemented');
  }
}

export type { LogBatchHandler, Offsets, PartitionKey };
