import type { RecordedEvent } from './types';

/**
 * A partition of a log: `<topic>:<partition>` for Kafka, `pg:<schema>` for a PostgreSQL events table.
 * Order is guaranteed within a partition only; all events of a stream are in one partition.
 */
export type PartitionKey = string;

/** Per partition, an opaque resume token: where to continue reading (exclusive of what was applied). */
export type Offsets = Record<PartitionKey, string>;

interface LogItemBase {
  partition: PartitionKey;
  /** Opaque token of this item in its partition. */
  offset: string;
  /** Resume token after this item: store it in `Offsets` once the item is applied. */
  next: string;
}

export interface LogEventItem extends LogItemBase {
  kind: 'event';
  event: RecordedEvent;
}

/**
 * Every event committed at or before `watermark` (epoch ms, database clock of the writer) that belongs to
 * this partition was delivered before this heartbeat.
 */
export interface LogHeartbeatItem extends LogItemBase {
  kind: 'heartbeat';
  watermark: number;
}

export type LogItem = LogEventItem | LogHeartbeatItem;

/** Receives items in partition order; the source waits for the promise before delivering more. */
export type LogBatchHandler = (items: readonly LogItem[]) => Promise<void>;

/**
 * A readable log: Kafka topics (`KafkaLogSource`), writer schemas' events tables (`PostgresLogSource`)
 * or memory (`InMemoryLogSource`). All deliver the same envelope and heartbeat semantics.
 */
export interface LogSource {
  /** Starts delivering from `from` (missing partitions: from the beginning). Resolves once subscribed. */
  start(from: Offsets, handler: LogBatchHandler): Promise<void>;
  /**
   * All partitions this source delivers (known after `start`). The same array for as long as the set is the
   * same, so a caller asked on every decision (the watermark) can tell "unchanged" by identity.
   */
  partitions(): readonly PartitionKey[];
  /** Items (events and heartbeats) in the log beyond `offsets`, for lag metrics. */
  lag(offsets: Offsets): Promise<number>;
  /** Why the source is not delivering right now (e.g. its brokers are away), when it knows; for logs. */
  trouble?(): string | undefined;
  /** Stops delivering; resolves when no handler call is running any more. Idempotent. */
  stop(): Promise<void>;
}

export const HEARTBEAT_TYPE = 'Heartbeat';
