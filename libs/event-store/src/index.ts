// Public API of @tollgate/event-store. No NestJS imports in this library.
export * from './types';
export * from './errors';
export {
  type Decider,
  type DomainEvent,
  type HandleCommandOptions,
  type HandleCommandResult,
  handleCommand,
  fold,
  commandFingerprint,
  canonicalJson,
} from './decider';
export { createEventStoreMigrations } from './migrations';
export { PostgresEventStore, type PostgresEventStoreOptions, eventsFingerprint } from './postgres-event-store';
export { EventTableReader } from './event-table-reader';
export { Relay, type RelayOptions, type RelayHooks, type RelayState } from './relay';
export {
  type LogSource,
  type LogItem,
  type LogEventItem,
  type LogHeartbeatItem,
  type LogBatchHandler,
  type Offsets,
  type PartitionKey,
  HEARTBEAT_TYPE,
} from './log-source';
export { KafkaLogSource, type KafkaLogSourceOptions } from './kafka-log-source';
export { ensureTopic, topicPartitions, topicSpec, type TopicReplication } from './kafka-topics';
export { PartitionPublisher } from './partition-publisher';
export { PostgresLogSource, type PostgresLogSourceOptions } from './postgres-log-source';
export {
  ProjectionRunner,
  type Projection,
  type ProjectionPosition,
  type ProjectionHealth,
  type ProjectionStats,
  type ProjectionRunnerOptions,
} from './projection-runner';
export { interruptibleSleep } from './interruptible-sleep';
export { InMemoryEventStore, InMemoryLog, InMemoryLogSource } from './in-memory';
export { eventToMessage, decodeMessage, type HeartbeatData } from './envelope';
export { EventReceipt, eventReceiptsOpen, openEventReceipt, reportCommitted } from './committed-events';
