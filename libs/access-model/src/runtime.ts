import { IDENTITY_SCHEMA, IDENTITY_TOPIC, KEYS_SCHEMA, KEYS_TOPIC } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import {
  KafkaLogSource,
  type LogSource,
  PostgresLogSource,
  ProjectionRunner,
  type ProjectionHealth,
  type ProjectionPosition,
} from '@tollgate/event-store';
import type { ServiceContext } from '@tollgate/platform';
import { Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { DataSource } from 'typeorm';
import type { AccessModel } from './access-model';
import type { WatermarkSource } from './freshness';
import { ACCESS_MODEL_MIGRATIONS, SnapshotStore } from './snapshot-store';

export interface AccessModelRuntimeOptions {
  /** Save a snapshot this often when events were applied since the last one (default 60 000 ms). */
  snapshotIntervalMs?: number;
  /** …or as soon as this many events were applied since the last one (default 50 000). */
  snapshotEveryEvents?: number;
  /** Snapshots kept per replica (default 2). */
  snapshotsKept?: number;
  /** Load the latest snapshot at start (default true). */
  loadSnapshot?: boolean;
  /** Save a last snapshot at stop when events were applied since the previous one (default true). */
  snapshotOnStop?: boolean;
  /** Kafka topics to follow (default the contract's `tollgate.keys.v1`, `tollgate.identity.v1`). */
  kafkaTopics?: string[];
  /** Writer schemas to tail in embedded mode (default `keys`, `identity`). */
  writerSchemas?: string[];
  /** Log source factory (tests); default: Kafka when `config.kafka` is set, else the writers' event tables. */
  createSource?: (dataSource: DataSource) => LogSource;
}

export type RuntimePhase = 'starting' | 'waiting-for-writers' | 'running' | 'retrying' | 'stopped';

export interface AccessModelStatus {
  phase: RuntimePhase;
  /** The runner's health (null before it started). */
  health: ProjectionHealth | null;
  /** The snapshot the model was restored from, if any. */
  restoredFrom: { id: number; takenAt: string; replicaId: string } | null;
  lastSnapshot: { id: number; takenAt: string; payloadBytes: number; durationMs: number } | null;
  lastError: string | null;
}

/**
 * Drives the access model of one process: its snapshot table, the restore at start, the log source and the
 * projection runner (restarted with backoff when starting fails), and periodic snapshots. No NestJS here;
 * the module calls `start()` (which returns at once: everything happens in the background, so the
 * application starts even while PostgreSQL, Kafka or the writers' tables are not there yet) and `stop()`.
 */
export class AccessModelRuntime implements WatermarkSource {
  private dataSource: DataSource | undefined;
  private store: SnapshotStore | undefined;
  private runner: ProjectionRunner | undefined;
  private phase: RuntimePhase = 'starting';
  private stopping = false;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private appliedAtLastSnapshot = 0;
  private lastSnapshotAt = 0;
  private restoredFrom: AccessModelStatus['restoredFrom'] = null;
  private lastSnapshot: AccessModelStatus['lastSnapshot'] = null;
  private lastError: string | null = null;
  private wake: (() => void) | undefined;

  readonly sourceId: string;
  private readonly options: Required<Omit<AccessModelRuntimeOptions, 'createSource'>> & Pick<AccessModelRuntimeOptions, 'createSource'>;

  constructor(
    readonly model: AccessModel,
    private readonly context: ServiceContext,
    options: AccessModelRuntimeOptions = {},
  ) {
    this.options = {
      snapshotIntervalMs: options.snapshotIntervalMs ?? 60_000,
      snapshotEveryEvents: options.snapshotEveryEvents ?? 50_000,
      snapshotsKept: options.snapshotsKept ?? 2,
      loadSnapshot: options.loadSnapshot ?? true,
      snapshotOnStop: options.snapshotOnStop ?? true,
      kafkaTopics: options.kafkaTopics ?? [KEYS_TOPIC, IDENTITY_TOPIC],
      writerSchemas: options.writerSchemas ?? [KEYS_SCHEMA, IDENTITY_SCHEMA],
      createSource: options.createSource,
    };
    this.sourceId = context.config.kafka ? `kafka:${this.options.kafkaTopics.join(',')}` : `pg:${this.options.writerSchemas.join(',')}`;
  }

  private get log() {
    return this.context.logger;
  }

  // ---- WatermarkSource ----

  watermark(): number | null {
    return this.runner?.watermark() ?? null;
  }

  /** Stopped on a poison event (a gap also freezes the watermark, so it turns stale within the bound). */
  halted(): boolean {
    return this.runner?.health().poison !== undefined;
  }

  status(): AccessModelStatus {
    return {
      phase: this.phase,
      health: this.runner?.health() ?? null,
      restoredFrom: this.restoredFrom,
      lastSnapshot: this.lastSnapshot,
      lastError: this.lastError,
    };
  }

  /** The runner's position (offsets and stream versions applied), or null before it started. */
  position(): ProjectionPosition | null {
    return this.runner?.position() ?? null;
  }

  /** Starts in the background; returns at once. */
  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /**
   * Stops following the log (a last snapshot first when events were applied since the previous one) and
   * closes the database. Never waits long for a start that is still retrying (Kafka or PostgreSQL down).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    if (this.timer) clearInterval(this.timer);
    if (this.phase === 'running') {
      await this.saving;
      if (this.options.snapshotOnStop && this.runner && !this.halted() && this.model.counts().appliedEvents > this.appliedAtLastSnapshot) {
        await this.saveSnapshot('stop').catch((err: unknown) => this.log.warn({ err }, 'access model: snapshot at stop failed'));
      }
    }
    // Stopping the runner also ends a start still in progress (its source is closed under it).
    await this.runner?.stop().catch((err: unknown) => this.log.warn({ err }, 'access model: stopping the runner failed'));
    await Promise.race([this.loop, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.runner?.stop().catch(() => undefined);
    this.runner = undefined;
    if (this.dataSource?.isInitialized) await this.dataSource.destroy().catch(() => undefined);
    this.phase = 'stopped';
  }

  private async run(): Promise<void> {
    let backoff = 250;
    let from: ProjectionPosition | undefined;
    let restored = false;
    while (!this.stopping) {
      try {
        await this.ensureDatabase();
        if (!restored) {
          from = await this.restore();
          restored = true;
        }
        const source = this.options.createSource ? this.options.createSource(this.dataSource!) : await this.createSource();
        if (this.stopping) return;
        const runner = new ProjectionRunner({
          name: 'access-model',
          source,
          projection: this.model,
          registry: this.context.metrics,
          from: this.runner?.position() ?? from,
          maxStalenessMs: this.context.config.maxStalenessMs,
          logger: this.log,
        });
        this.runner = runner;
        await runner.start();
        if (this.stopping) return;
        this.phase = 'running';
        this.lastError = null;
        this.log.info({ source: this.sourceId }, 'access model: following the log');
        this.timer = setInterval(() => this.tick(), Math.min(1000, this.options.snapshotIntervalMs));
        this.timer.unref();
        return;
      } catch (err) {
        if (this.stopping) return;
        this.phase = 'retrying';
        this.lastError = (err as Error).message;
        this.log.warn({ err, retryInMs: backoff }, 'access model: start failed, retrying');
        // Keep what was applied: the next runner resumes from the failed one's position (applying is idempotent).
        await this.runner?.stop().catch(() => undefined);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private async ensureDatabase(): Promise<void> {
    if (this.dataSource?.isInitialized) return;
    this.dataSource = createDataSource({
      url: this.context.databaseUrl,
      schema: 'access_model',
      migrations: ACCESS_MODEL_MIGRATIONS,
      name: 'tollgate-access-model',
      poolSize: 4,
    });
    await runMigrations(this.dataSource);
    this.store = new SnapshotStore(this.dataSource);
  }

  /** Loads the latest snapshot of this log into the (empty) model; returns its position. */
  private async restore(): Promise<ProjectionPosition | undefined> {
    if (!this.options.loadSnapshot) return undefined;
    const started = Date.now();
    let stored;
    try {
      stored = await this.store!.latest(this.sourceId);
    } catch (err) {
      this.log.warn({ err }, 'access model: cannot read the latest snapshot; replaying the whole log');
      return undefined;
    }
    if (!stored) return undefined;
    try {
      this.model.loadSnapshot(stored.payload.model);
    } catch (err) {
      this.log.warn({ err, snapshotId: stored.id }, 'access model: snapshot unusable; replaying the whole log');
      return undefined;
    }
    this.restoredFrom = { id: stored.id, takenAt: stored.takenAt.toISOString(), replicaId: stored.replicaId };
    this.log.info(
      { snapshotId: stored.id, takenAt: this.restoredFrom.takenAt, keys: this.model.counts().keys, ms: Date.now() - started },
      'access model: restored from snapshot',
    );
    return stored.payload.position;
  }

  private async createSource(): Promise<LogSource> {
    const { config } = this.context;
    if (config.kafka) {
      const kafka = new Kafka({
        clientId: `${config.kafka.clientId}-access-model`,
        brokers: config.kafka.brokers,
        logLevel: KafkaLogLevel.WARN,
        logCreator: kafkaLogCreator(this.log),
      });
      // Every replica reads every partition (its own consumer group), so every replica sees every revocation.
      return new KafkaLogSource({
        kafka,
        topics: this.options.kafkaTopics,
        groupIdPrefix: `tollgate-access-model-${config.replicaId.replace(/[^A-Za-z0-9._-]/g, '_')}`,
        partitionsIfCreated: config.kafka.partitions,
        logger: this.log,
      });
    }
    await this.waitForWriterTables();
    return new PostgresLogSource({
      dataSource: this.dataSource!,
      stores: this.options.writerSchemas.map((schema) => ({ schema })),
      heartbeatIntervalMs: Math.min(250, this.context.config.heartbeatMs),
      logger: this.log,
    });
  }

  /** Embedded mode starts every service together: the writers create their tables through their own migrations. */
  private async waitForWriterTables(): Promise<void> {
    let logged = false;
    const tables = this.options.writerSchemas.map((schema) => `"${schema}".events`);
    while (!this.stopping) {
      const rows: { missing: string | null }[] = await this.dataSource!.query(
        `SELECT t AS missing FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NULL`,
        [tables],
      );
      if (rows.length === 0) return;
      if (!logged) {
        this.phase = 'waiting-for-writers';
        this.log.info({ missing: rows.map((r) => r.missing) }, "access model: waiting for the writers' event tables");
        logged = true;
      }
      await this.sleep(200);
    }
  }

  private tick(): void {
    if (this.saving || this.stopping || !this.runner || this.halted()) return;
    const applied = this.model.counts().appliedEvents;
    const since = applied - this.appliedAtLastSnapshot;
    if (since <= 0) return;
    const due = since >= this.options.snapshotEveryEvents || Date.now() - this.lastSnapshotAt >= this.options.snapshotIntervalMs;
    if (!due) return;
    this.saving = this.saveSnapshot('periodic')
      .catch((err: unknown) => this.log.warn({ err }, 'access model: snapshot failed'))
      .finally(() => (this.saving = undefined));
  }

  /** Takes the model and the runner's position in the same tick, then encodes and stores them. */
  async saveSnapshot(why: string): Promise<void> {
    if (!this.runner || !this.store) return;
    const started = Date.now();
    // Same tick: the position and the captured state reflect exactly the same applied events.
    const position = this.runner.position();
    const capture = this.model.captureSnapshot();
    const watermark = this.runner.watermark();
    const counts = this.model.counts();
    const takenAt = new Date();
    const blockedMs = Date.now() - started;
    this.appliedAtLastSnapshot = counts.appliedEvents;
    this.lastSnapshotAt = started;
    const model = await capture.encode();
    const saved = await this.store.save(
      {
        replicaId: this.context.config.replicaId,
        source: this.sourceId,
        takenAt,
        watermark,
        payload: { position, model },
        eventCount: counts.appliedEvents,
        keyCount: counts.keys,
      },
      this.options.snapshotsKept,
    );
    this.lastSnapshot = { id: saved.id, takenAt: takenAt.toISOString(), payloadBytes: saved.payloadBytes, durationMs: Date.now() - started };
    this.log.info({ why, ...this.lastSnapshot, blockedMs, keys: counts.keys }, 'access model: snapshot saved');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

function kafkaLogCreator(logger: ServiceContext['logger']): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const fields = { component: 'kafkajs', ...extra };
      if (level === KafkaLogLevel.ERROR) logger.error(fields, message);
      else if (level === KafkaLogLevel.WARN) logger.warn(fields, message);
      else logger.debug(fields, message);
    };
}
