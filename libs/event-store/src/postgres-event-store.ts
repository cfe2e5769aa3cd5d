import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { canonicalJson } from './decider';
import { IdempotencyKeyReusedError, InvalidStreamIdError, VersionConflictError } from './errors';
import { newEventId } from './ids';
import { eventStoreMetrics, type EventStoreMetrics } from './metrics';
import { EVENT_COLUMNS, type EventRow, isUniqueViolation, rowToEvent, withClient } from './pg';
import { storeTables, type StoreTables } from './schema';
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

  constructor(readonly options: PostgresEventStoreOptions) {
    this.t = storeTables(options.schema);
    this.source = options.source ?? `/tollgate/${options.schema}`;
    this.metrics = eventStoreMetrics(options.registry);
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
    const scope = options.metadata.actor;
    const fingerprint = options.fingerprint ?? eventsFingerprint(streamId, events);

    for (let attempt = 0; ; attempt++) {
      try {
        const result = await withClient(this.options.dataSource, (client) =>
          this.appendOnce(client, streamId, expectedVersion, events, options, key, scope, fingerprint),
        );
        if (result.replayed) this.metrics.idempotentReplays.inc({ store: this.options.schema });
        else if (result.events.length) this.metrics.appended.inc({ store: this.options.schema }, result.events.length);
        this.maybePurge();
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
    // Without an idempotency key, the append is one autocommit statement; with one, a transaction.
    const transactional = key !== undefined;
    if (transactional) await client.query('BEGIN');
    try {
      if (key !== undefined) {
        const stored = await this.lookup(client, scope, key, fingerprint);
        if (stored) {
          await client.query('ROLLBACK');
          return stored;
        }
      }
      const { current, recorded } = await this.insertEvents(client, streamId, expectedVersion, events, {
        actor: options.metadata.actor,
        channel: options.metadata.channel,
        causationId: options.metadata.causationId ?? null,
        correlationId: options.metadata.correlationId ?? null,
        idempotencyKey: key ?? null,
      });
      const result: AppendResult = { streamId, version: current + recorded.length, events: recorded, replayed: false };
      if (key !== undefined) {
        // Waits on a concurrent uncommitted holder of the key; takes over an expired row.
        const { rowCount } = await client.query(
          `INSERT INTO ${this.t.idempotency} AS i (scope, key, fingerprint, stream_id, result)
           VALUES ($1, $2, $3, $4, $5::jsonb)
           ON CONFLICT (scope, key) DO UPDATE
             SET fingerprint = EXCLUDED.fingerprint, stream_id = EXCLUDED.stream_id,
                 result = EXCLUDED.result, created_at = now()
             WHERE i.created_at < now() - make_interval(secs => $6::float8 / 1000)`,
          [scope, key, fingerprint, streamId, JSON.stringify(result), this.ttlMs],
        );
        if (rowCount === 0) throw new KeyTakenConcurrently();
        await client.query('COMMIT');
      }
      return result;
    } catch (error) {
      if (transactional) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
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
    return withClient(this.options.dataSource, (client) => this.lookup(client, scope, key, fingerprint));
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

/** Default idempotency fingerprint: the stream and the events' types and data (not their ids). */
export function eventsFingerprint(streamId: string, events: readonly NewEvent[]): string {
  return createHash('sha256')
    .update(streamId)
    .update('\0')
    .update(canonicalJson(events.map((e) => ({ type: e.type, data: e.data ?? null }))))
    .digest('hex');
}
