import type { PoolClient } from 'pg';

/** The transaction that keeps the watermark from advancing, as PostgreSQL describes it. */
export interface XidHolder {
  /** Backend pid (`pg_terminate_backend(pid)` ends it); null for a prepared transaction. */
  pid: number | null;
  database: string | null;
  /** When its transaction started (ISO 8601), or when it was prepared. */
  xactStart: string | null;
  /** `active`, `idle in transaction`, … or `prepared` (gid in `query`). */
  state: string | null;
  /** The first 120 characters of its current or last statement (null without pg_read_all_stats). */
  query: string | null;
}

/**
 * The oldest transaction holding an xid anywhere on the PostgreSQL cluster (any database: they all hold
 * `pg_snapshot_xmin` back), or a prepared transaction, or null when there is none. Seeing other roles'
 * sessions in full needs `pg_read_all_stats` (e.g. the `pg_monitor` role); without it `query` is null.
 */
export async function oldestXidHolder(client: PoolClient): Promise<XidHolder | null> {
  const { rows } = await client.query<{
    pid: number | null;
    database: string | null;
    xact_start: Date | null;
    state: string | null;
    query: string | null;
  }>(
    `SELECT * FROM (
       SELECT pid, datname AS database, xact_start, state, left(query, 120) AS query, age(backend_xid) AS age
       FROM pg_stat_activity
       WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
       UNION ALL
       SELECT NULL, database, prepared, 'prepared', 'prepared transaction ' || left(gid, 100), age(transaction)
       FROM pg_prepared_xacts
     ) h ORDER BY age DESC LIMIT 1`,
  );
  const row = rows[0];
  if (!row) return null;
  return {
    pid: row.pid,
    database: row.database,
    xactStart: row.xact_start ? row.xact_start.toISOString() : null,
    state: row.state,
    query: row.query,
  };
}
