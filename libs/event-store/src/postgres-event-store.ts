import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { reportCommitted } from './committed-events';
import { canonicalJson } from './decider';
import { IdempotencyKeyReusedError, InvalidStreamIdError, VersionConflictError } from './errors';
import { GroupCommit, type GroupOutcome, type QueuedAppend } from './group-commit';
import { newEventId } from './ids';
import { eventStoreMetrics, type EventStoreMetrics, zeroCounters } from './metrics';
import { EVENT_COLUMNS, type EventRow, isUniqueViolation, rowToEvent, withClient } from './pg';
import { storeTables, type StoreTables } from './schema';
import type {
  AppendManyResult,
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
  InlineProjection,
  InlineTransaction,
  NewEvent,
  RecordedEvent,
  StreamAppend,
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
  /** Read models written in the transaction of each append they handle (see `InlineProjection`). */
  inlineProjections?: readonly InlineProjection[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_STREAM_ID = 200;

/** Thrown inside the append transaction to roll it back when a concurrent request took the idempotency key. */
class KeyTakenConcurrently extends Error {}

/**
 * The PostgreSQL event store of one writer schema.
 *
 * Invariant the relay relies on: inside `append`, the stream's current version is read before the
 * transaction's first write (which assigns its xid). So if B appends version n+1 after A's version n,
 * B read n only after A committed, hence B's xid was assigned after A's: per stream, xid order equals
 * version order, and the relay's (tx_id, position) order is stream order. Never append inside a caller's
 * transaction that already wrote.
 */
export class PostgresEventStore implements EventStore {
  readonly source: string;
  private readonly t: StoreTables;
  private readonly metrics: EventStoreMetrics;
  private readonly ttlMs: number;
  private lastPurge = 0;

  private readonly groupCommit: GroupCommit;

  constructor(readonly options: PostgresEventStoreOptions) {
    this.t = storeTables(options.schema);
    this.groupCommit = new GroupCommit({
      maxInFlight: GROUP_COMMIT_IN_FLIGHT,
      insertGroup: (group) => this.insertGroup(group),
      appendAlone: (a) =>
        this.appendAlone(a.streamId, a.expectedVersion, a.events, {
          metadata: a.metadata as unknown as AppendOptions['metadata'],
        }),
      onConflict: () => this.metrics.appendConflicts.inc({ store: this.options.schema }),
    });
    this.source = options.source ?? `/tollgate/${options.schema}`;
    this.metrics = eventStoreMetrics(options.registry);
    zeroCounters(this.metrics, { store: options.schema });
    this.ttlMs = options.idempotencyTtlMs ?? DAY_MS;
  }

  async append(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    if (!streamId || streamId.length > MAX_STREAM_ID) throw new InvalidStreamIdError(streamId);
    const key = options.idempotencyKey;
    if (key === undefined && events.length > 0 && !this.projected(events)) {
      // Without an idempotency key an append is one statement: it may share that statement, and its commit,
      // with the other appends waiting at the same moment (group commit). An append an inline projection
      // handles needs a transaction of its own for the projection's writes.
      const result = await this.groupCommit.append(streamId, expectedVersion, events, appendMetadata(options));
      this.counted(result);
      return result;
    }
    return this.appendAlone(streamId, expectedVersion, events, options);
  }

  /** One append in its own statement (or transaction, with an idempotency key), retried as its contract says. */
  private async appendAlone(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const key = options.idempotencyKey;
    const scope = options.metadata.actor;
    const fingerprint = options.fingerprint ?? eventsFingerprint(streamId, events);

    for (let attempt = 0; ; attempt++) {
      try {
        const result = await withClient(this.options.dataSource, (client) =>
          this.appendOnce(client, streamId, expectedVersion, events, options, key, scope, fingerprint),
        );
        this.counted(result);
        return result;
      } catch (error) {
        if (error instanceof KeyTakenConcurrently) continue; // re-read the winner's stored result
        if (isUniqueViolation(error, 'events_stream_version_key')) {
          // 'any' never conflicts by contract: a concurrent append took the version, try again.
          if (expectedVersion === 'any' && attempt < 20) continue;
          this.metrics.appendConflicts.inc({ store: this.options.schema });
          throw new VersionConflictError(streamId, expectedVersion, null);
        }
        if (error instanceof VersionConflictError) this.metrics.appendConflicts.inc({ store: this.options.schema });
        throw error;
      }
    }
  }

  async appendMany(appends: readonly StreamAppend[], options: AppendOptions): Promise<AppendManyResult> {
    checkStreams(appends);
    const key = options.idempotencyKey;
    const scope = options.metadata.actor;
    const fingerprint = options.fingerprint ?? manyFingerprint(appends);
    const anyStream = appends.some((a) => a.expectedVersion === 'any');
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await withClient(this.options.dataSource, (client) =>
          this.appendManyOnce(client, appends, options, key, scope, fingerprint),
        );
        this.counted(result);
        return result;
      } catch (error) {
        if (error instanceof KeyTakenConcurrently) continue;
        if (isUniqueViolation(error, 'events_stream_version_key')) {
          if (anyStream && attempt < 20) continue;
          this.metrics.appendConflicts.inc({ store: this.options.schema });
          // "Key (stream_id, stream_version)=(key-k1, 2) already exists.": the stream a concurrent append took
          const taken = /\)=\((.*), \d+\)/.exec((error as { detail?: string }).detail ?? '')?.[1];
          const stream = appends.find((a) => a.streamId === taken) ?? appends[0]!;
          throw new VersionConflictError(stream.streamId, stream.expectedVersion, null);
        }
        if (error instanceof VersionConflictError) this.metrics.appendConflicts.inc({ store: this.options.schema });
        throw error;
      }
    }
  }

  /** Does an inline projection handle one of `events`? */
  private projected(events: readonly NewEvent[]): boolean {
    const projections = this.options.inlineProjections ?? [];
    return projections.length > 0 && events.some((e) => projections.some((p) => p.handles.includes(e.type)));
  }

  /** Applies the inline projections to an append's recorded events, in its transaction (after its insert). */
  private async project(client: PoolClient, recorded: readonly RecordedEvent[]): Promise<void> {
    const tx: InlineTransaction = {
      async query<T>(text: string, params: unknown[] = []) {
        const result = await client.query(text, params);
        return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
      },
    };
    for (const projection of this.options.inlineProjections ?? []) {
      const handled = recorded.filter((e) => projection.handles.includes(e.type));
      if (handled.length > 0) await projection.apply(handled, tx);
    }
  }

  /** Metrics, the current receipt (`Tollgate-Event-Id`) and the occasional purge, after any append. */
  private counted(result: { events: RecordedEvent[]; replayed: boolean }): void {
    if (result.replayed) this.metrics.idempotentReplays.inc({ store: this.options.schema });
    else if (result.events.length) this.metrics.appended.inc({ store: this.options.schema }, result.events.length);
    reportCommitted(result);
    this.maybePurge();
  }

  private async appendManyOnce(
    client: PoolClient,
    appends: readonly StreamAppend[],
    options: AppendOptions,
    key: string | undefined,
    scope: string,
    fingerprint: string,
  ): Promise<AppendManyResult> {
    await client.query('BEGIN');
    try {
      if (key !== undefined) {
        const stored = await this.lookup(client, scope, key, fingerprint);
        if (stored) {
          await client.query('ROLLBACK');
          return { events: stored.events, replayed: true };
        }
      }
      const events = await this.insertMany(client, appends, appendMetadata(options));
      await this.project(client, events);
      if (key !== undefined) {
        const stored: AppendResult = { streamId: MANY_STREAMS, version: 0, events, replayed: false };
        await this.storeResult(client, scope, key, fingerprint, stored);
      }
      await client.query('COMMIT');
      return { events, replayed: false };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * Every stream's version check and every insert in ONE statement: its snapshot, which read each stream's
   * current version, was taken before the transaction's xid was assigned (at the insert). So, as for a
   * single-stream append, per stream xid order is version order, whatever the number of streams.
   */
  private async insertMany(
    client: PoolClient,
    appends: readonly StreamAppend[],
    metadata: Record<string, unknown>,
  ): Promise<RecordedEvent[]> {
    const payload = appends.map((a) => ({
      stream: a.streamId,
      expected: a.expectedVersion === 'any' ? null : a.expectedVersion,
      events: a.events.map((e) => ({ id: e.id ?? newEventId(), type: e.type, data: e.data ?? null })),
    }));
    const { rows } = await client.query<Partial<EventRow> & { mismatch: { stream: string; v: number } | null }>(
      `WITH input AS (
         SELECT s->>'stream' AS stream_id, (s->>'expected')::int AS expected, s->'events' AS evs, sord
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(s, sord)
       ), cur AS (
         SELECT i.*, coalesce((SELECT max(e.stream_version) FROM ${this.t.events} e WHERE e.stream_id = i.stream_id), 0)::int AS v
         FROM input i
       ), bad AS (
         SELECT jsonb_build_object('stream', stream_id, 'v', v) AS m FROM cur
         WHERE expected IS NOT NULL AND v <> expected ORDER BY sord LIMIT 1
       ), ins AS (
         INSERT INTO ${this.t.events} (event_id, stream_id, stream_version, type, data, metadata)
         SELECT ev->>'id', c.stream_id, c.v + eord::int, ev->>'type', ev->'data',
                $2::jsonb || jsonb_build_object('recordedAt', now())
         FROM cur c CROSS JOIN LATERAL jsonb_array_elements(c.evs) WITH ORDINALITY AS x(ev, eord)
         WHERE NOT EXISTS (SELECT 1 FROM bad)
         ORDER BY c.sord, eord
         RETURNING ${EVENT_COLUMNS}
       )
       SELECT (SELECT m FROM bad) AS mismatch, ins.*,
              CASE WHEN ins.position IS NOT NULL THEN pg_notify($3, $4) END AS notified
       FROM (SELECT 1) one LEFT JOIN ins ON true`,
      [JSON.stringify(payload), JSON.stringify(metadata), this.t.channel, this.t.schema],
    );
    const mismatch = rows[0]?.mismatch;
    if (mismatch) {
      const expected = appends.find((a) => a.streamId === mismatch.stream)!.expectedVersion;
      throw new VersionConflictError(mismatch.stream, expected, mismatch.v);
    }
    const inserted = rows.filter((r) => r.position !== null && r.position !== undefined) as EventRow[];
    return inserted.map((r) => rowToEvent(r, this.source)).sort((a, b) => a.position - b.position);
  }

  /**
   * Several appends to distinct streams, each at its own expected version and with its own metadata, in ONE
   * autocommit statement: one commit and one WAL flush for all of them. Each is decided on its own: an append
   * whose stream is not at its expected version inserts nothing and gets its conflict, the others commit.
   * Every stream's version is read in the statement's snapshot, before its first insert assigns the xid, so
   * per stream xid order is still version order (the relay's invariant, see the class comment).
   */
  private async insertGroup(group: readonly QueuedAppend[]): Promise<GroupOutcome[]> {
    const payload = group.map((a) => ({
      stream: a.streamId,
      expected: a.expectedVersion === 'any' ? null : a.expectedVersion,
      metadata: a.metadata,
      events: a.events.map((e) => ({ id: e.id ?? newEventId(), type: e.type, data: e.data ?? null })),
    }));
    const { rows } = await withClient(this.options.dataSource, (client) =>
      client.query<Partial<EventRow> & { sord: string; current_version: number }>(
        `WITH input AS (
           SELECT s->>'stream' AS stream_id, (s->>'expected')::int AS expected, s->'metadata' AS md,
                  s->'events' AS evs, sord
           FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(s, sord)
         ), cur AS MATERIALIZED (
           SELECT i.*, coalesce((SELECT max(e.stream_version) FROM ${this.t.events} e WHERE e.stream_id = i.stream_id), 0)::int AS v
           FROM input i
         ), ins AS (
           INSERT INTO ${this.t.events} (event_id, stream_id, stream_version, type, data, metadata)
           SELECT ev->>'id', c.stream_id, c.v + eord::int, ev->>'type', ev->'data',
                  c.md || jsonb_build_object('recordedAt', now())
           FROM cur c CROSS JOIN LATERAL jsonb_array_elements(c.evs) WITH ORDINALITY AS x(ev, eord)
           WHERE c.expected IS NULL OR c.v = c.expected
           ORDER BY c.sord, eord
           RETURNING ${EVENT_COLUMNS}
         )
         SELECT c.sord, c.v AS current_version, ins.*,
                CASE WHEN ins.position IS NOT NULL THEN pg_notify($2, $3) END AS notified
         FROM cur c LEFT JOIN ins ON ins.stream_id = c.stream_id`,
        [JSON.stringify(payload), this.t.channel, this.t.schema],
      ),
    );
    // One row per inserted event, and one without an event for an append that conflicted; each carries its
    // append's ordinal and the version its stream was at.
    const versions = new Array<number>(group.length);
    const recordedBy: RecordedEvent[][] = group.map(() => []);
    for (const r of rows) {
      const i = Number(r.sord) - 1;
      versions[i] = Number(r.current_version);
      if (r.position !== null && r.position !== undefined) recordedBy[i]!.push(rowToEvent(r as EventRow, this.source));
    }
    return group.map((a, i) => {
      const current = versions[i]!;
      const recorded = recordedBy[i]!.sort((x, y) => x.streamVersion - y.streamVersion);
      if (recorded.length === 0) return { error: new VersionConflictError(a.streamId, a.expectedVersion, current) };
      return {
        result: { streamId: a.streamId, version: current + recorded.length, events: recorded, replayed: false },
      };
    });
  }

  private async appendOnce(
    client: PoolClient,
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    options: AppendOptions,
    key: string | undefined,
    scope: string,
    fingerprint: string,
  ): Promise<AppendResult> {
    // Without an idempotency key or inline projection, the append is one autocommit statement; else a transaction.
    const transactional = key !== undefined || this.projected(events);
    if (transactional) await client.query('BEGIN');
    try {
      if (key !== undefined) {
        const stored = await this.lookup(client, scope, key, fingerprint);
        if (stored) {
          await client.query('ROLLBACK');
          return stored;
        }
      }
      const { current, recorded } = await this.insertEvents(
        client,
        streamId,
        expectedVersion,
        events,
        appendMetadata(options),
      );
      await this.project(client, recorded);
      const result: AppendResult = { streamId, version: current + recorded.length, events: recorded, replayed: false };
      if (key !== undefined) await this.storeResult(client, scope, key, fingerprint, result);
      if (transactional) await client.query('COMMIT');
      return result;
    } catch (error) {
      if (transactional) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * Stores an append's result under its idempotency key, inside the append's transaction. Waits on a
   * concurrent uncommitted holder of the key (then `KeyTakenConcurrently`: re-read the winner's result);
   * takes over an expired row.
   */
  private async storeResult(
    client: PoolClient,
    scope: string,
    key: string,
    fingerprint: string,
    result: AppendResult,
  ): Promise<void> {
    const { rowCount } = await client.query(
      `INSERT INTO ${this.t.idempotency} AS i (scope, key, fingerprint, stream_id, result)
       VALUES ($1, $2, $3, $4, $5::jsonb)
       ON CONFLICT (scope, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, stream_id = EXCLUDED.stream_id,
             result = EXCLUDED.result, created_at = now()
         WHERE i.created_at < now() - make_interval(secs => $6::float8 / 1000)`,
      [scope, key, fingerprint, result.streamId, JSON.stringify(result), this.ttlMs],
    );
    if (rowCount === 0) throw new KeyTakenConcurrently();
  }

  /**
   * One statement reads the stream's version and inserts only if it is the expected one. The transaction
   * gets its xid at the insert, after this statement's snapshot saw the previous version committed: per
   * stream, xid order is version order (what the relay's ordering relies on). It is the first write of
   * its transaction (the idempotency lookup before it only reads).
   */
  private async insertEvents(
    client: PoolClient,
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    metadata: Record<string, unknown>,
  ): Promise<{ current: number; recorded: RecordedEvent[] }> {
    if (events.length === 0) {
      const current = await this.currentVersion(client, streamId);
      if (expectedVersion !== 'any' && current !== expectedVersion) {
        throw new VersionConflictError(streamId, expectedVersion, current);
      }
      return { current, recorded: [] };
    }
    const payload = events.map((e) => ({ id: e.id ?? newEventId(), type: e.type, data: e.data ?? null }));
    const { rows } = await client.query<Partial<EventRow> & { current_version: number }>(
      `WITH cur AS (
         SELECT coalesce(max(stream_version), 0)::int AS v FROM ${this.t.events} WHERE stream_id = $1
       ), ins AS (
         INSERT INTO ${this.t.events} (event_id, stream_id, stream_version, type, data, metadata)
         SELECT e->>'id', $1, cur.v + ord::int, e->>'type', e->'data',
                $4::jsonb || jsonb_build_object('recordedAt', now())
         FROM cur, jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(e, ord)
         WHERE $2::int IS NULL OR cur.v = $2::int
         ORDER BY ord
         RETURNING ${EVENT_COLUMNS}
       )
       SELECT cur.v AS current_version, ins.*,
              CASE WHEN ins.position IS NOT NULL THEN pg_notify($5, $6) END AS notified
       FROM cur LEFT JOIN ins ON true`,
      [
        streamId,
        expectedVersion === 'any' ? null : expectedVersion,
        JSON.stringify(payload),
        JSON.stringify(metadata),
        this.t.channel,
        this.t.schema,
      ],
    );
    const current = Number(rows[0]!.current_version);
    const inserted = rows.filter((r) => r.position !== null && r.position !== undefined) as EventRow[];
    if (inserted.length === 0) throw new VersionConflictError(streamId, expectedVersion, current);
    const recorded = inserted.map((r) => rowToEvent(r, this.source)).sort((a, b) => a.streamVersion - b.streamVersion);
    return { current, recorded };
  }

  private async currentVersion(client: PoolClient, streamId: string): Promise<number> {
    const { rows } = await client.query<{ v: number }>(
      `SELECT coalesce(max(stream_version), 0)::int AS v FROM ${this.t.events} WHERE stream_id = $1`,
      [streamId],
    );
    return rows[0]!.v;
  }

  private async lookup(
    client: PoolClient,
    scope: string,
    key: string,
    fingerprint: string,
  ): Promise<AppendResult | null> {
    const { rows } = await client.query<{ fingerprint: string; result: StoredResult }>(
      `SELECT fingerprint, result FROM ${this.t.idempotency}
       WHERE scope = $1 AND key = $2 AND created_at >= now() - make_interval(secs => $3::float8 / 1000)`,
      [scope, key, this.ttlMs],
    );
    const row = rows[0];
    if (!row) return null;
    if (row.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError(key);
    return reviveResult(row.result);
  }

  async lookupIdempotencyKey(scope: string, key: string, fingerprint: string): Promise<AppendResult | null> {
    const stored = await withClient(this.options.dataSource, (client) => this.lookup(client, scope, key, fingerprint));
    if (stored) reportCommitted(stored);
    return stored;
  }

  async readStream(streamId: string, options: { fromVersion?: number } = {}): Promise<StreamSlice> {
    const fromVersion = options.fromVersion ?? 1;
    return withClient(this.options.dataSource, async (client) => {
      const { rows } = await client.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ${this.t.events}
         WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version`,
        [streamId, fromVersion],
      );
      const events = rows.map((r) => rowToEvent(r, this.source));
      const version = events.length
        ? events[events.length - 1]!.streamVersion
        : fromVersion > 1
          ? await this.currentVersion(client, streamId)
          : 0;
      return { streamId, version, events };
    });
  }

  async readAll(options: { after?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
    return withClient(this.options.dataSource, async (client) => {
      const { rows } = await client.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ${this.t.events} WHERE position > $1 ORDER BY position LIMIT $2`,
        [options.after ?? 0, options.limit ?? 1000],
      );
      return rows.map((r) => rowToEvent(r, this.source));
    });
  }

  /** Deletes expired idempotency rows, at most once a minute, in the background. */
  private maybePurge(): void {
    const now = Date.now();
    if (now - this.lastPurge < 60_000) return;
    this.lastPurge = now;
    this.options.dataSource
      .query(`DELETE FROM ${this.t.idempotency} WHERE created_at < now() - make_interval(secs => $1::float8 / 1000)`, [
        this.ttlMs,
      ])
      .catch(() => undefined);
  }
}

type StoredResult = Omit<AppendResult, 'events'> & {
  events: (Omit<RecordedEvent, 'recordedAt'> & { recordedAt: string })[];
};

function reviveResult(stored: StoredResult): AppendResult {
  return {
    streamId: stored.streamId,
    version: stored.version,
    events: stored.events.map((e) => ({ ...e, recordedAt: new Date(e.recordedAt) })),
    replayed: true,
  };
}

/** The idempotency row's stream id for a multi-stream append. */
const MANY_STREAMS = '*';

/** Stream ids of a multi-stream append: valid, each once. */
export function checkStreams(appends: readonly StreamAppend[]): void {
  const seen = new Set<string>();
  for (const { streamId } of appends) {
    if (!streamId || streamId.length > MAX_STREAM_ID || seen.has(streamId)) throw new InvalidStreamIdError(streamId);
    seen.add(streamId);
  }
}

/** Default idempotency fingerprint of a multi-stream append: every stream and its events' types and data. */
export function manyFingerprint(appends: readonly StreamAppend[]): string {
  const hash = createHash('sha256');
  for (const a of appends) hash.update(eventsFingerprint(a.streamId, a.events)).update('\0');
  return hash.digest('hex');
}

/** Default idempotency fingerprint: the stream and the events' types and data (not their ids). */
export function eventsFingerprint(streamId: string, events: readonly NewEvent[]): string {
  return createHash('sha256')
    .update(streamId)
    .update('\0')
    .update(canonicalJson(events.map((e) => ({ type: e.type, data: e.data ?? null }))))
    .digest('hex');
}

/** The event metadata an append stores (its `recordedAt` is the database's `now()`). */
function appendMetadata(options: AppendOptions): Record<string, unknown> {
  return {
    actor: options.metadata.actor,
    channel: options.metadata.channel,
    causationId: options.metadata.causationId ?? null,
    correlationId: options.metadata.correlationId ?? null,
    idempotencyKey: options.idempotencyKey ?? null,
  };
}

/**
 * Grouped statements in flight at once; what arrives meanwhile waits and goes in the next group. With durable
 * commits, concurrent commits share PostgreSQL's WAL flushes: committing a burst of 5,000 from 64 clients
 * took 1,158 and 1,310 ms with 4 in flight against 1,346 and 1,643 with 1 in the runs interleaved with them
 * (2: 1,125-1,973 across runs). With fsync off, 1, 2 and 4 were within noise of each other.
 */
const GROUP_COMMIT_IN_FLIGHT = 4;
