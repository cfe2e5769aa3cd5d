import type { Kafka } from 'kafkajs';
import type { LogBatchHandler, LogSource, Offsets, PartitionKey } from './log-source';
import type { Logger } from './types';

export interface KafkaLogSourceOptions {
  kafka: Kafka;
  topics: string[];
  /** Each instance uses a unique consumer group `<prefix>-<random>` and reads all partitions (default `tollgate-reader`). */
  groupIdPrefix?: string;
  /** Fetch long-poll (default 25 ms). */
  maxWaitTimeInMs?: number;
  logger?: Logger;
}

/** Reads all partitions of the topics from given offsets; decodes CloudEvents binary mode. */
export class KafkaLogSource implements LogSource {
  constructor(readonly options: KafkaLogSourceOptions) {}
  async start(_from: Offsets, _handler: LogBatchHandler): Promise<void> {
    throw new Error('not implemented');
  }
  partitions(): PartitionKey[] {
    throw new Error('not implemented');
  }
  async lag(_offsets: Offsets): Promise<number> {
    throw new Error('not implemented');
  }
  async stop(): Promise<void> {
    throw new Error('not implemented');
  }
}
