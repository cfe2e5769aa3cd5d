import kafkajs, { type Admin, type Kafka, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { eventToMessage, heartbeatMessage } from './envelope';
import { countAfter, type Cursor, readCommitted, START, WatermarkTracker } from './gap-safe-reader';
import { ulid } from './ids';
import { ensureTopic, type TopicReplication } from './kafka-topics';
import { eventStoreMetrics, type EventStoreMetrics, zeroCounters } from './metrics';
import { type Borrowed, borrow, giveBack, rowToEvent } from './pg';
import { storeTables, type StoreTables } from './schema';
import { consoleLogger, type Logger, type RecordedEvent } from './types';
import { interruptibleSleep } from './interruptible-sleep';
import { oldestXidHolder } from './watermark-holder';
import { PartitionPublisher } from './partition-publisher';
import { HeldBackPoll } from './held-back-poll';

export interface RelayHooks {
  /** Called after a batch was acknowledged by Kafka and before the checkpoint is stored (fault injection). */
  afterPublish?(events: readonly RecordedEvent[]): void | Promise<void>;
}

export interface RelayOptions {
  dataSource: DataSource;
  /** Writer schema whose `events` table is relayed, e.g. `keys`. */
  schema: string;
  kafka: Kafka;
  /** Target topic, e.g. `tollgate.keys.v1`. Created if missing. */
  topic: string;
  registry: Registry;
  /** Partitions when the topic is created (default 6). Retention is always unlimited. */
  partitions?: number;
  /** Replication of the topic when created (default: the broker's). */
  replication?: TopicReplication;
  /** CloudEvents `source` (default `/tollgate/<schema>`). */
  source?: string;
  /** Checkpoint and lock name, for several relays of one store to different targets (default `kafka`). */
  name?: string;
  /** Heartbeat period (default 250 ms). */
  heartbeatIntervalMs?: number;
  /** Poll period when no notification arrives (default 100 ms). */
  pollIntervalMs?: number;
  /**
   * First re-read delay when a drained read was held back by an older transaction's xid (default 1 ms),
   * doubled while the same xid holds it back, up to `pollIntervalMs`: see `HeldBackPoll`.
   */
  heldBackPollMs?: number;
  /** Max events per publish (default 500). */
  batchSize?: number;
  /** How often a standby tries to take the lock (default 500 ms). */
  standbyRetryMs?: number;
  /**
   * Name the transaction holding the watermark back once it lags this long (default 1000 ms), in a warning
   * at most every `holderWarnIntervalMs` (default 10 000 ms).
   */
  holderWarnAfterMs?: number;
  holderWarnIntervalMs?: number;
  /**
   * After a failure, the relay starts again this far back (default 60 000 ms) from the batches it published
   * in this process, even if they were checkpointed: see `rewindPoint`.
   */
  republishWindowMs?: number;
  hooks?: RelayHooks;
  logger?: Logger;
}

/** Where a published batch started, and when it was acknowledged. */
interface PublishedBatch {
  from: Cursor;
  at: number;
}

const before = (a: Cursor, b: Cursor): boolean => a.txId < b.txId || (a.txId === b.txId && a.position < b.position);

export type RelayState = 'stopped' | 'standby' | 'active' | 'failed';

/**
 * Transactional outbox relay: one active per store (advisory lock on a dedicated connection), publishes
 * committed events gap-free, keyed by stream id, then checkpoints; heartbeats carry the watermark.
 *
 * Order of effects per batch: read (gap-safe) → publish (idempotent producer, acks=all, one send per
 * partition: `PartitionPublisher`) → checkpoint. A crash anywhere re-reads from the last checkpoint:
 * duplicates, never gaps. After a failure in a running process it re-reads from further back (the last
 * `republishWindowMs` of batches), so a batch a broker acknowledged and then lost is published again.
 */
export class Relay {
  private readonly t: StoreTables;
  private readonly source: string;
  private readonly name: string;
  private readonly logger: Logger;
  private readonly metrics: EventStoreMetrics;
  private readonly heartbeatIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly standbyRetryMs: number;
  private producer?: Producer;
  private admin?: Admin;
  private running = false;
  private loop?: Promise<void>;
  private current: RelayState = 'stopped';
  private lastWatermark: number | null = null;
  private wake?: () => void;
  private woken = false;
  private conn?: Borrowed;
  private lastHolderWarn = 0;
  /** Consecutive failed attempts since the relay last ran (one warning per outage, not one per retry). */
  private failures = 0;
  private failingSince = 0;
  /** Batches published in this process within the republish window, oldest first. */
  private recent: PublishedBatch[] = [];
  private readonly republishWindowMs: number;

  constructor(readonly options: RelayOptions) {
    this.t = storeTables(options.schema);
    this.source = options.source ?? `/tollgate/${options.schema}`;
    this.name = options.name ?? 'kafka';
    this.logger = options.logger ?? consoleLogger;
    this.metrics = eventStoreMetrics(options.registry);
    zeroCounters(this.metrics, { store: this.t.schema });
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 250;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.batchSize = options.batchSize ?? 500;
    this.standbyRetryMs = options.standbyRetryMs ?? 500;
    this.republishWindowMs = options.republishWindowMs ?? 60_000;
  }

  /** Starts the loop (standby until the lock is taken). Resolves once the topic exists. */
  async start(): Promise<void> {
    if (this.running) return;
    const { kafka, topic } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    await ensureTopic(this.admin, topic, this.options.partitions ?? 6, this.options.replication);
    this.producer = await this.connectProducer();
    this.running = true;
    this.current = 'standby';
    this.metrics.relayLagProbes.set(this.options.schema, () =>
      this.current === 'active' && this.lastWatermark !== null ? (Date.now() - this.lastWatermark) / 1000 : null,
    );
    this.loop = this.run();
  }

  private async connectProducer(): Promise<Producer> {
    const producer = this.options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return producer;
  }

  /** Stops publishing and releases the lock. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.woken = true;
    this.wake?.();
    await this.loop;
    this.metrics.relayLagProbes.delete(this.options.schema);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.current = 'stopped';
  }

  state(): RelayState {
    return this.current;
  }

  /** The last watermark published in heartbeats (epoch ms), or null. */
  watermark(): number | null {
    return this.lastWatermark;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        this.conn ??= await borrow(this.options.dataSource);
        const { rows } = await this.conn.client.query<{ locked: boolean }>(
          `SELECT pg_try_advisory_lock(('x' || substr(md5($1), 1, 16))::bit(64)::bigint) AS locked`,
          [`tollgate.relay:${this.t.schema}:${this.name}`],
        );
        if (rows[0]!.locked) {
          await this.active(this.conn);
        } else {
          this.current = 'standby';
          await this.sleep(this.standbyRetryMs);
        }
      } catch (error) {
        if (this.running && this.failures++ === 0) {
          this.failingSince = Date.now();
          this.logger.warn(
            { err: error, store: this.t.schema },
            'relay: error, back to standby (retrying; logged once until it runs again)',
          );
        }
        this.current = this.running ? 'standby' : 'stopped';
        this.metrics.relayActive.set({ store: this.t.schema }, 0);
        await this.dropConnection(error);
        // A failed send may leave the idempotent producer's sequence state unknown: start a fresh one.
        await this.producer?.disconnect().catch(() => undefined);
        this.producer = undefined;
        if (this.running) await this.sleep(this.standbyRetryMs);
      }
    }
    this.metrics.relayActive.set({ store: this.t.schema }, 0);
    await this.dropConnection();
  }

  private async dropConnection(error?: unknown): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    if (error === undefined) {
      // Clean stop: release the lock and the notifications before the connection goes back to the pool.
      const cleaned = await conn.client
        .query('SELECT pg_advisory_unlock_all(); UNLISTEN *; RESET synchronous_commit')
        .then(
          () => true,
          () => false,
        );
      await giveBack(conn, cleaned ? undefined : new Error('relay connection unusable'));
    } else {
      // Unknown state (maybe broken): destroy it, which also releases a lock it may hold.
      await giveBack(conn, error);
    }
  }

  private async active(conn: Borrowed): Promise<void> {
    const { client } = conn;
    const store = this.t.schema;
    this.producer ??= await this.connectProducer();
    this.logger.info({ store, topic: this.options.topic }, 'relay: active');
    // The checkpoint is a hint, not a promise: a relay restarts from it and publishes again whatever came
    // after (consumers drop duplicates by stream version, and `rewindPoint` already republishes the last
    // batches on purpose). So its update need not wait for a WAL flush; with durable commits that flush was
    // one more fsync per batch on the relay's path. Reset before the connection goes back to the pool.
    await client.query('SET synchronous_commit = off');
    await client.query(`INSERT INTO ${this.t.checkpoints} (name) VALUES ($1) ON CONFLICT DO NOTHING`, [this.name]);
    const cp = await client.query<{ tx_id: string; position: string }>(
      `SELECT tx_id::text AS tx_id, position FROM ${this.t.checkpoints} WHERE name = $1`,
      [this.name],
    );
    const checkpoint: Cursor = cp.rows[0]
      ? { txId: BigInt(cp.rows[0].tx_id), position: Number(cp.rows[0].position) }
      : START;
    let cursor = this.rewindPoint(checkpoint);
    const partitions = await ensureTopic(
      this.admin!,
      this.options.topic,
      this.options.partitions ?? 6,
      this.options.replication,
    );
    const publisher = new PartitionPublisher(this.options.topic, partitions);
    const onNotification = () => {
      this.woken = true;
      this.wake?.();
    };
    client.on('notification', onNotification);
    await client.query(`LISTEN ${this.t.channel}`);
    this.current = 'active';
    this.metrics.relayActive.set({ store }, 1);
    if (this.failures > 0) {
      this.logger.warn(
        { store, failedAttempts: this.failures, downMs: Date.now() - this.failingSince },
        'relay: running again',
      );
      this.failures = 0;
    }
    const tracker = new WatermarkTracker();
    const heldBack = new HeldBackPoll(this.pollIntervalMs, this.options.heldBackPollMs ?? 1);
    let lastBeat = 0;
    try {
      while (this.running) {
        this.woken = false;
        const read = await readCommitted(client, this.t, cursor, this.batchSize);
        if (read.rows.length > 0) {
          const events = read.rows.map((r) => rowToEvent(r, this.source));
          await publisher.publish(this.producer!, events.map(eventToMessage));
          this.remember({ from: cursor, at: Date.now() });
          await this.options.hooks?.afterPublish?.(events);
          const next = read.rows[read.rows.length - 1]!.cursor;
          await client.query(
            `UPDATE ${this.t.checkpoints} SET tx_id = $2::text::xid8, position = $3, updated_at = now()
             WHERE name = $1 AND (tx_id, position) < ($2::text::xid8, $3::bigint)`,
            [this.name, next.txId.toString(), next.position],
          );
          cursor = next;
          this.metrics.published.inc({ store }, events.length);
        }
        const watermark = tracker.observe(read.sample, read.drained);
        const now = Date.now();
        if (watermark !== null && now - lastBeat >= this.heartbeatIntervalMs) {
          const at = new Date(now);
          await publisher.publish(
            this.producer!,
            partitions.map((p) => heartbeatMessage(p, this.source, `hb_${ulid(now)}`, watermark, at)),
          );
          lastBeat = now;
          this.lastWatermark = watermark;
          this.metrics.heartbeats.inc({ store });
          this.metrics.relayLagEvents.set(
            { store },
            read.drained ? await countAfter(client, this.t, cursor) : this.batchSize,
          );
        }
        await this.nameTheHolder(client, watermark, read.sample.t);
        if (!read.drained) continue;
        const untilBeat = lastBeat + this.heartbeatIntervalMs - Date.now();
        // A held-back row's NOTIFY is spent: read again soon instead of a whole poll later (`HeldBackPoll`).
        await this.sleep(Math.max(1, Math.min(heldBack.next(read.sample), untilBeat)));
      }
    } finally {
      client.removeListener('notification', onNotification);
    }
  }

  private remember(batch: PublishedBatch): void {
    this.recent.push(batch);
    const horizon = batch.at - this.republishWindowMs;
    let drop = 0;
    while (drop < this.recent.length - 1 && this.recent[drop]!.at < horizon) drop++;
    if (drop > 0) this.recent.splice(0, drop);
  }

  /**
   * Where to start reading: the checkpoint, or, when this process published batches in the last
   * `republishWindowMs` before a failure, the start of the oldest of them. A broker can acknowledge a batch
   * and lose it (the fault suite saw acknowledged events missing from the topic during broker kills, and the
   * relay learned of it only from a later OUT_OF_ORDER_SEQUENCE_NUMBER, after the checkpoint had passed
   * them). Publishing the window again costs duplicates, which every consumer drops by stream version; a
   * consumer holding a gap is released by the missing event.
   */
  private rewindPoint(checkpoint: Cursor): Cursor {
    const oldest = this.recent.find((b) => b.at >= Date.now() - this.republishWindowMs);
    this.recent = [];
    if (!oldest || !before(oldest.from, checkpoint)) return checkpoint;
    this.logger.warn(
      { store: this.t.schema, fromTx: oldest.from.txId.toString(), fromPosition: oldest.from.position },
      'relay: publishing again the batches of the last window before the failure (consumers drop duplicates)',
    );
    return oldest.from;
  }

  /**
   * While the watermark lags the database clock by more than `holderWarnAfterMs`, some transaction holding
   * an xid (in any database of the cluster) keeps `pg_snapshot_xmin` back: name it, rate-limited, so that an
   * operator sees why every consumer is about to fail closed.
   */
  private async nameTheHolder(client: Borrowed['client'], watermark: number | null, dbNow: number): Promise<void> {
    const lag = watermark === null ? Infinity : dbNow - watermark;
    if (lag <= (this.options.holderWarnAfterMs ?? 1000)) return;
    const now = Date.now();
    if (now - this.lastHolderWarn < (this.options.holderWarnIntervalMs ?? 10_000)) return;
    this.lastHolderWarn = now;
    const holder = await oldestXidHolder(client);
    if (!holder) return; // it ended in the meantime
    this.logger.warn(
      { store: this.t.schema, watermarkLagMs: Number.isFinite(lag) ? Math.round(lag) : null, holder },
      'relay: a transaction holds the watermark back (consumers fail closed once it outlasts their bound)',
    );
  }

  /** Sleeps up to `ms`, cut short by a NOTIFY from an append or by stop(). */
  private sleep(ms: number): Promise<void> {
    if (this.woken || !this.running) return Promise.resolve();
    return interruptibleSleep(ms, (wake) => (this.wake = wake));
  }
}
