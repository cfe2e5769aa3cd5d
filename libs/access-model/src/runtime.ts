import {
  EVENT_WAIVED,
  eventWaived,
  IDENTITY_SCHEMA,
  IDENTITY_TOPIC,
  KEYS_SCHEMA,
  KEYS_TOPIC,
  waiversStream,
} from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import {
  EventTableReader,
  interruptibleSleep,
  KafkaLogSource,
  type LogSource,
  PostgresLogSource,
  ProjectionRunner,
  type ProjectionHealth,
  type ProjectionPosition,
} from '@tollgate/event-store';
import { createKafka, type ServiceContext } from '@tollgate/platform';
import type { DataSource } from 'typeorm';
import type { AccessModel } from './access-model';
import { eventWaiver, type EventWaiver } from './model/waivers';
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
  /** While halted on a poison event, look for its waiver in the writers' event tables this often (default 1000 ms). */
  waiverPollMs?: number;
}

/** How often the runtime looks whether the model turned stale or fresh (for the transition log). */
const FRESHNESS_CHECK_MS = 200;

export type RuntimePhase = 'starting' | 'waiting-for-writers' | 'running' | 'retrying' | 'stopped';

export interface AccessModelStatus {
  phase: RuntimePhase;
  /** The runner's health (null before it started). */
  health: ProjectionHealth | null;
  /** The snapshot the model was restored from, if any. */
  restoredFrom: { id: number; takenAt: string; replicaId: string } | null;
  lastSnapshot: { id: number; takenAt: string; payloadBytes: number; durationMs: number } | null;
  lastError: string | null;
  /** The out-of-band search for a waiver of the poison event the runner halted on (null: never halted). */
  waiverLookup: WaiverLookup | null;
}

/**
 * While the runner is halted on a poison event it applies nothing more, so it cannot read an operator's
 * `EventWaived` through the log. The runtime looks for it in the writers' event tables instead.
 */
export interface WaiverLookup {
  /** The poison event looked for. */
  eventId: string;
  /** When the writers' tables were last searched (ISO 8601), null before the first search. */
  lastCheckAt: string | null;
  /** The waiver found; the runner was then restarted from its last good position. */
  waiver: EventWaiver | null;
  /** Why the search failed or the waiver found cannot be used, or null. */
  error: string | null;
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
  /** The snapshot was loaded (or skipped) once: a restarted runner resumes from the previous one's position. */
  private restored = false;
  private restarting = false;
  private waiverCheck: Promise<void> | undefined;
  private lastWaiverCheckAt = 0;
  private waiverLookup: WaiverLookup | null = null;
  private lastWaiverLog = '';
  private source: LogSource | undefined;
  private freshnessTimer: NodeJS.Timeout | undefined;
  /** Whether the model was fresh at the last look (null: never fresh yet), and since when it is stale. */
  private wasFresh: boolean | null = null;
  private staleSince = 0;

  readonly sourceId: string;
  private readonly options: Required<Omit<AccessModelRuntimeOptions, 'createSource'>> &
    Pick<AccessModelRuntimeOptions, 'createSource'>;

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
      waiverPollMs: options.waiverPollMs ?? 1000,
    };
    this.sourceId = context.config.kafka
      ? `kafka:${this.options.kafkaTopics.join(',')}`
      : `pg:${this.options.writerSchemas.join(',')}`;
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
    return this.runner?.isPoisoned() === true;
  }

  status(): AccessModelStatus {
    return {
      phase: this.phase,
      health: this.runner?.health() ?? null,
      restoredFrom: this.restoredFrom,
      lastSnapshot: this.lastSnapshot,
      lastError: this.lastError,
      waiverLookup: this.waiverLookup ? { ...this.waiverLookup } : null,
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
    if (this.freshnessTimer) clearInterval(this.freshnessTimer);
    if (this.phase === 'running') {
      await this.saving;
      if (
        this.options.snapshotOnStop &&
        this.runner &&
        !this.halted() &&
        this.model.counts().appliedEvents > this.appliedAtLastSnapshot
      ) {
        await this.saveSnapshot('stop').catch((err: unknown) =>
          this.log.warn({ err }, 'access model: snapshot at stop failed'),
        );
      }
    }
    // Stopping the runner also ends a start still in progress (its source is closed under it).
    await this.runner
      ?.stop()
      .catch((err: unknown) => this.log.warn({ err }, 'access model: stopping the runner failed'));
    await Promise.race([this.loop, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.runner?.stop().catch(() => undefined);
    this.runner = undefined;
    if (this.dataSource?.isInitialized) await this.dataSource.destroy().catch(() => undefined);
    this.phase = 'stopped';
  }

  private async run(): Promise<void> {
    let backoff = 250;
    let from: ProjectionPosition | undefined;
    while (!this.stopping) {
      try {
        await this.ensureDatabase();
        if (!this.restored) {
          from = await this.restore();
          this.restored = true;
        }
        const source = this.options.createSource
          ? this.options.createSource(this.dataSource!)
          : await this.createSource();
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
        this.source = source;
        this.watchFreshness();
        await runner.start();
        if (this.stopping) return;
        this.phase = 'running';
        this.lastError = null;
        this.log.info({ source: this.sourceId }, 'access model: following the log');
        this.timer = setInterval(
          () => this.tick(),
          Math.min(1000, this.options.snapshotIntervalMs, this.options.waiverPollMs),
        );
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
      {
        snapshotId: stored.id,
        takenAt: this.restoredFrom.takenAt,
        keys: this.model.counts().keys,
        ms: Date.now() - started,
      },
      'access model: restored from snapshot',
    );
    return stored.payload.position;
  }

  private async createSource(): Promise<LogSource> {
    const { config } = this.context;
    if (config.kafka) {
      const kafka = createKafka(config.kafka, { clientSuffix: 'access-model', logger: this.log });
      // Every replica reads every partition (its own consumer group), so every replica sees every revocation.
      return new KafkaLogSource({
        kafka,
        topics: this.options.kafkaTopics,
        groupIdPrefix: `tollgate-access-model-${config.replicaId.replace(/[^A-Za-z0-9._-]/g, '_')}`,
        partitionsIfCreated: config.kafka.partitions,
        replicationIfCreated: config.kafka,
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

  /**
   * Logs each change between fresh (serving) and stale (failing closed) at warn, with the cause: the runner's
   * reason, the partition holding the watermark back, and what the log source knows (brokers away).
   */
  private watchFreshness(): void {
    this.freshnessTimer ??= setInterval(() => this.checkFreshness(), FRESHNESS_CHECK_MS);
    this.freshnessTimer.unref();
  }

  private checkFreshness(): void {
    const health = this.runner?.health();
    if (!health || this.stopping) return;
    const fresh = health.status === 'ok';
    if (fresh === this.wasFresh || (this.wasFresh === null && !fresh)) return;
    const now = Date.now();
    if (fresh) {
      if (this.wasFresh === null) this.log.info({ watermark: health.watermark }, 'access model: fresh, serving');
      else this.log.warn({ staleForMs: now - this.staleSince }, 'access model: fresh again, serving');
    } else {
      this.staleSince = now;
      const oldest = this.runner?.oldestPartition();
      this.log.warn(
        {
          cause: health.reason,
          watermarkAgeMs: health.watermark === null ? null : now - health.watermark,
          heldBackBy: oldest?.partition,
          source: this.source?.trouble?.() ?? null,
        },
        'access model: stale, failing closed',
      );
    }
    this.wasFresh = fresh;
  }

  private tick(): void {
    if (this.stopping || !this.runner) return;
    if (this.halted()) return this.checkForWaiver();
    if (this.saving) return;
    const applied = this.model.counts().appliedEvents;
    const since = applied - this.appliedAtLastSnapshot;
    if (since <= 0) return;
    const due =
      since >= this.options.snapshotEveryEvents || Date.now() - this.lastSnapshotAt >= this.options.snapshotIntervalMs;
    if (!due) return;
    this.saving = this.saveSnapshot('periodic')
      .catch((err: unknown) => this.log.warn({ err }, 'access model: snapshot failed'))
      .finally(() => (this.saving = undefined));
  }

  // ---- poison events: an operator's waiver, found out of band ----

  private checkForWaiver(): void {
    if (this.waiverCheck || this.restarting || Date.now() - this.lastWaiverCheckAt < this.options.waiverPollMs) return;
    this.lastWaiverCheckAt = Date.now();
    this.waiverCheck = this.lookForWaiver()
      .catch((err: unknown) => this.log.warn({ err }, 'access model: looking for a waiver failed'))
      .finally(() => (this.waiverCheck = undefined));
  }

  /**
   * The runner halted on a poison event and applies nothing more, so it would never read an `EventWaived`
   * through the log. Look for one in the writers' event tables on this database (embedded mode: the same
   * database; deployed: every service is given the same DATABASE_URL, see docs/operations.md). A waiver
   * naming the poison event (id and stream; the model checks the version too) is recorded in the model and
   * the runner restarted from its last good position: it re-delivers the event, the model skips it. The
   * waiver itself also arrives through the log later (a duplicate of what the model holds: no effect).
   * Nothing is ever skipped without a waiver.
   */
  private async lookForWaiver(): Promise<void> {
    const poison = this.runner?.health().poison;
    if (!poison || !this.dataSource?.isInitialized) return;
    if (this.waiverLookup?.eventId !== poison.eventId) {
      this.waiverLookup = { eventId: poison.eventId, lastCheckAt: null, waiver: null, error: null };
    }
    const lookup = this.waiverLookup;
    let found: { waivers: EventWaiver[]; poisonVersion: number | null };
    try {
      found = await findWaivers(this.dataSource, this.options.writerSchemas, poison.eventId, poison.streamId);
      lookup.lastCheckAt = new Date().toISOString();
      lookup.error = null;
    } catch (err) {
      lookup.lastCheckAt = new Date().toISOString();
      lookup.error = `cannot read waivers from the writers' event tables on this database: ${(err as Error).message}`;
      this.logWaiverOnce(
        'warn',
        { eventId: poison.eventId, error: lookup.error },
        'access model: halted, and the waiver cannot be looked for out of band',
      );
      return;
    }
    if (found.waivers.length === 0) return;
    const usable =
      found.poisonVersion === null
        ? found.waivers
        : found.waivers.filter((w) => w.eventVersion === found.poisonVersion);
    if (usable.length === 0) {
      lookup.error = `a waiver names ${poison.eventId} but stream version ${found.waivers.map((w) => w.eventVersion).join(', ')}; the event is version ${found.poisonVersion}: not skipped`;
      this.logWaiverOnce(
        'error',
        { eventId: poison.eventId, streamId: poison.streamId, error: lookup.error },
        'access model: a waiver does not match the poison event',
      );
      return;
    }
    let added = false;
    for (const waiver of usable) added = this.model.waive(waiver) || added;
    const waiver = this.model.waiverFor(poison.eventId, poison.streamId, usable[0]!.eventVersion) ?? usable[0]!;
    if (!added && lookup.waiver) {
      // Already held and restarted once, yet halted on it again: the model refused to skip it (e.g. its version
      // differs from the waiver's in the log delivered). Do not restart in a loop.
      lookup.error = `the waiver ${waiver.waiverEventId} is held but the projection halted on ${poison.eventId} again`;
      this.logWaiverOnce(
        'error',
        { eventId: poison.eventId, waiverEventId: waiver.waiverEventId },
        'access model: halted again on a waived event; not restarting',
      );
      return;
    }
    lookup.waiver = waiver;
    this.log.warn(
      {
        eventId: poison.eventId,
        type: poison.type,
        streamId: poison.streamId,
        position: poison.position,
        waiverEventId: waiver.waiverEventId,
        waivedBy: waiver.waivedBy,
        reason: waiver.reason,
      },
      'access model: an operator waived the poison event; restarting the projection from its last good position',
    );
    this.restartRunner();
  }

  private logWaiverOnce(level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    const key = `${message}|${JSON.stringify(fields)}`;
    if (key === this.lastWaiverLog) return;
    this.lastWaiverLog = key;
    this.log[level](fields, message);
  }

  /** Stops the halted runner and starts a new one from its position, with the usual retry and backoff. */
  private restartRunner(): void {
    if (this.stopping || this.restarting) return;
    this.restarting = true;
    const previous = this.loop;
    this.loop = (async () => {
      await previous;
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      this.phase = 'starting';
      // Keep `this.runner`: run() resumes from its position (everything applied, not the poison event).
      await this.runner
        ?.stop()
        .catch((err: unknown) => this.log.warn({ err }, 'access model: stopping the halted runner failed'));
      if (this.stopping) return;
      await this.run();
    })().finally(() => {
      this.restarting = false;
    });
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
    this.lastSnapshot = {
      id: saved.id,
      takenAt: takenAt.toISOString(),
      payloadBytes: saved.payloadBytes,
      durationMs: Date.now() - started,
    };
    this.log.info({ why, ...this.lastSnapshot, blockedMs, keys: counts.keys }, 'access model: snapshot saved');
  }

  private sleep(ms: number): Promise<void> {
    return interruptibleSleep(ms, (wake) => (this.wake = wake));
  }
}

/**
 * `EventWaived` events naming this event in this stream, from each writer schema's waivers stream, and the
 * poison event's own stream version when it is in one of these tables (null otherwise, e.g. a Kafka-only
 * event). Read through the event store's reader, never SQL on the writers' schemas. Invalid waiver data is
 * ignored.
 */
async function findWaivers(
  dataSource: DataSource,
  schemas: readonly string[],
  eventId: string,
  streamId: string,
): Promise<{ waivers: EventWaiver[]; poisonVersion: number | null }> {
  const waivers: EventWaiver[] = [];
  let poisonVersion: number | null = null;
  for (const schema of schemas) {
    const reader = new EventTableReader({ dataSource, schema });
    for (const event of await reader.readStream(waiversStream(schema))) {
      if (event.type !== EVENT_WAIVED) continue;
      const parsed = eventWaived.safeParse(event.data);
      if (parsed.success && parsed.data.eventId === eventId && parsed.data.streamId === streamId)
        waivers.push(eventWaiver(parsed.data, event.id));
    }
    poisonVersion ??= await reader.streamVersionOf(eventId);
  }
  return { waivers, poisonVersion };
}
