import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  RecordedEvent,
  StreamSlice,
} from './types';

export interface PostgresEventStoreOptions {
  dataSource: DataSource;
  /** Writer schema holding `events` (created by `createEventStoreMigrations(schema)`). */
  schema: string;
  registry: Registry;
  /** CloudEvents source (default `/tollgate/<schema>`). */
  source?: string;
  /** Idempotency window (default 24 h). */
  idempotencyTtlMs?: number;
}

export class PostgresEventStore implements EventStore {
  readonly source: string;
  constructor(readonly options: PostgresEventStoreOptions) {
    this.source = options.source ?? `/tollgate/${options.schema}`;
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
