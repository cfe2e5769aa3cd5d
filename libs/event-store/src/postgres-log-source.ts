import type { DataSource } from 'typeorm';
import {
  countAfter,
  type Cursor,
  cursorToString,
  parseCursor,
  readCommitted,
  type SnapshotSample,
  WatermarkTracker,
} from './gap-safe-reader';
import type { LogBatchHandler, LogItem, LogSource, Offsets, PartitionKey } from './log-source';
import { type Borrowed, borrow, giveBack, rowToEvent, withClient } from './pg';
import { storeTables, type StoreTables } from './schema';
import { consoleLogger, type Logger } from './types';
import { interruptibleSleep } from './interruptible-sleep';
import { HeldBackPoll } from './held-back-poll';

export interface PostgresLogSourceOptions {
  dataSource: DataSource;
  /** Writer schemas to tail; `source` defaults to `/tollgate/<schema>`. Partition key: `pg:<schema>`. */
  stores: { schema: string; source?: string }[];
  /** Synthesised heartbeat period (default 250 ms). */
  heartbeatIntervalMs?: number;
  /** Poll period when no notification arrives (default 100 ms). */
  pollIntervalMs?: number;
  /** First re-read delay after a read held back by an older transaction's xid (default 1 ms): see `HeldBackPoll`. */
  heldBackPollMs?: number;
  batchSize?: number;
  logger?: Logger;
}

interface Tail {
  partition: PartitionKey;
  t: StoreTables;
  source: string;
  cursor: Cursor;
  tracker: WatermarkTracker;
  lastBeat: number;
}

/**
 * Embedded mode: tails events tables directly, with the relay's gap-safe read and watermark rule. Each
 * store is one partition (`pg:<schema>`); offsets are `<tx_id>:<position>` cursors. A heartbeat is
 * delivered (after the events it covers were handled) every `heartbeatIntervalMs`.
 */
export class PostgresLogSource implements LogSource {
  private readonly logger: Logger;
  private readonly heartbeatIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private partitionKeys?: readonly PartitionKey[];
  private tails: Tail[] = [];
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private woken = false;
  private conn?: Borrowed;
  private readonly heldBack: HeldBackPoll;

  constructor(readonly options: PostgresLogSourceOptions) {
    this.logger = options.logger ?? consoleLogger;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 250;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.batchSize = options.batchSize ?? 1000;
    this.heldBack = new HeldBackPoll(this.pollIntervalMs, options.heldBackPollMs ?? 1);
    for (const s of options.stores) storeTables(s.schema); // validate early
  }

  async start(from: Offsets, handler: LogBatchHandler): Promise<void> {
    if (this.running) throw new Error('PostgresLogSource already started');
    this.tails = this.options.stores.map((s) => {
      const partition = `pg:${s.schema}`;
      return {
        partition,
        t: storeTables(s.schema),
        source: s.source ?? `/tollgate/${s.schema}`,
        cursor: parseCursor(from[partition]),
        tracker: new WatermarkTracker(),
        lastBeat: 0,
      };
    });
    await this.connect();
    this.running = true;
    this.loop = this.run(handler);
  }

  partitions(): readonly PartitionKey[] {
    return (this.partitionKeys ??= this.options.stores.map((s) => `pg:${s.schema}`));
  }

  async lag(offsets: Offsets): Promise<number> {
    return withClient(this.options.dataSource, async (client) => {
      let total = 0;
      for (const s of this.options.stores) {
        total += await countAfter(client, storeTables(s.schema), parseCursor(offsets[`pg:${s.schema}`]));
      }
      return total;
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.woken = true;
    this.wake?.();
    await this.loop;
    await this.disconnect();
  }

  private async connect(): Promise<void> {
    const conn = await borrow(this.options.dataSource);
    conn.client.on('notification', this.onNotification);
    for (const tail of this.tails) await conn.client.query(`LISTEN ${tail.t.channel}`);
    this.conn = conn;
  }

  private async disconnect(error?: unknown): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    conn.client.removeListener('notification', this.onNotification);
    const clean =
      error === undefined &&
      (await conn.client.query('UNLISTEN *').then(
        () => true,
        () => false,
      ));
    await giveBack(conn, clean ? undefined : (error ?? new Error('connection unusable')));
  }

  private readonly onNotification = () => {
    this.woken = true;
    this.wake?.();
  };

  private async run(handler: LogBatchHandler): Promise<void> {
    while (this.running) {
      try {
        if (!this.conn) await this.connect();
        this.woken = false;
        let drained = true;
        // xmin is the cluster's: the last read's snapshot says whether any store's rows may be held back
        let sample: SnapshotSample | undefined;
        let nextBeat = Infinity;
        for (const tail of this.tails) {
          if (!this.running) break;
          const read = await this.poll(tail, handler);
          if (!read.drained) drained = false;
          sample = read.sample;
          nextBeat = Math.min(nextBeat, tail.lastBeat + this.heartbeatIntervalMs);
        }
        if (!drained || !sample) continue;
        // A held-back row's NOTIFY is spent: read again soon instead of a whole poll later.
        await this.sleep(Math.max(1, Math.min(this.heldBack.next(sample), nextBeat - Date.now())));
      } catch (error) {
        if (!this.running) break;
        this.logger.error({ err: error }, 'postgres log source: error, reconnecting');
        await this.disconnect(error);
        await this.sleep(500);
      }
    }
  }

  /** Reads and delivers one batch of a store, then its heartbeat when due. Says whether it drained, and its sample. */
  private async poll(tail: Tail, handler: LogBatchHandler): Promise<{ drained: boolean; sample: SnapshotSample }> {
    const read = await readCommitted(this.conn!.client, tail.t, tail.cursor, this.batchSize);
    if (read.rows.length > 0) {
      const items: LogItem[] = read.rows.map((row) => {
        const token = cursorToString(row.cursor);
        return {
          kind: 'event',
          partition: tail.partition,
          offset: token,
          next: token,
          event: rowToEvent(row, tail.source),
        };
      });
      await handler(items);
      tail.cursor = read.rows[read.rows.length - 1]!.cursor;
    }
    const watermark = tail.tracker.observe(read.sample, read.drained);
    const now = Date.now();
    if (watermark !== null && now - tail.lastBeat >= this.heartbeatIntervalMs) {
      const token = cursorToString(tail.cursor);
      await handler([{ kind: 'heartbeat', partition: tail.partition, offset: token, next: token, watermark }]);
      tail.lastBeat = now;
    }
    return { drained: read.drained, sample: read.sample };
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || !this.running) return Promise.resolve();
    return interruptibleSleep(ms, (wake) => (this.wake = wake));
  }
}
