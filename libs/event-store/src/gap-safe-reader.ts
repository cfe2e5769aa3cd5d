import type { PoolClient } from 'pg';
import { EVENT_COLUMNS, type EventRow } from './pg';
import type { StoreTables } from './schema';

/**
 * Reading an events table without ever skipping a late committer.
 *
 * Positions come from a sequence, taken before commit, so position order is not commit order: a reader
 * that checkpointed "up to position 12" would skip 11 if 11 commits later. Instead each row stores its
 * writer's transaction id (`tx_id`, xid8) and a read returns only rows whose transaction is older than
 * the oldest transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`), ordered by
 * `(tx_id, position)`. Every transaction below xmin has ended, and any future row gets a tx_id ≥ xmin,
 * so it sorts after the checkpoint `(tx_id, position)`: nothing committed later can land behind it.
 */
export interface Cursor {
  txId: bigint;
  position: number;
}

export const START: Cursor = { txId: 0n, position: 0 };

export function cursorToString(c: Cursor): string {
  return `${c.txId}:${c.position}`;
}

export function parseCursor(token: string | undefined): Cursor {
  if (!token) return START;
  const m = /^(\d+):(\d+)$/.exec(token);
  if (!m) throw new Error(`invalid PostgreSQL log offset ${JSON.stringify(token)}`);
  return { txId: BigInt(m[1]!), position: Number(m[2]!) };
}

export function compareCursor(a: Cursor, b: Cursor): number {
  if (a.txId !== b.txId) return a.txId < b.txId ? -1 : 1;
  return a.position - b.position;
}

/**
 * What a read saw. `t`: database clock (epoch ms) taken before the read's snapshot. `xmin`: the oldest
 * transaction id still running in that snapshot. `horizon`: one past an xid assigned to the read itself,
 * after its snapshot, so every transaction that held an xid at `t` is below `horizon`.
 */
export interface SnapshotSample {
  t: number;
  xmin: bigint;
  horizon: bigint;
}

export interface ReadResult {
  rows: (EventRow & { cursor: Cursor })[];
  /** True when every committed row below `sample.xmin` after the cursor was returned (not cut by the limit). */
  drained: boolean;
  sample: SnapshotSample;
}

/**
 * One statement, autocommit: `now()` is the start of this statement's transaction, fixed before its
 * snapshot is taken. `pg_current_xact_id()` gives the statement an xid (no WAL flush: it writes
 * nothing), assigned after every xid that existed at `t`: it bounds them all.
 *
 * The ORDER BY names the table's columns (`ev.`): when the select list aliased `tx_id::text AS tx_id`, a
 * bare `tx_id` there meant that text. That ordering cannot use the `(tx_id, position)` index (every read
 * sorted the whole backlog: 1.4 s a read at 1M rows), and it is wrong across a digit boundary
 * ('1000' < '999'): a read cut by the limit returned rows of xid 1000 first, the cursor moved past them,
 * and the rows of xid 999 were never read.
 */
export async function readCommitted(
  client: PoolClient,
  t: StoreTables,
  after: Cursor,
  limit: number,
): Promise<ReadResult> {
  const { rows } = await client.query<Partial<EventRow> & { s_xmin: string; s_own: string; s_t: number }>(
    `SELECT s.s_xmin, s.s_own, s.s_t, e.*
     FROM (SELECT pg_snapshot_xmin(c)::text AS s_xmin, pg_current_xact_id()::text AS s_own,
                  (extract(epoch FROM now()) * 1000)::float8 AS s_t
           FROM pg_current_snapshot() AS c) s
     LEFT JOIN LATERAL (
       SELECT ${EVENT_COLUMNS} FROM ${t.events} ev
       WHERE (ev.tx_id, ev.position) > ($1::text::xid8, $2::bigint)
         AND ev.tx_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY ev.tx_id, ev.position
       LIMIT $3
     ) e ON true`,
    [after.txId.toString(), after.position, limit],
  );
  const first = rows[0]!;
  const sample: SnapshotSample = {
    t: Number(first.s_t),
    xmin: BigInt(first.s_xmin),
    horizon: BigInt(first.s_own) + 1n,
  };
  const events = rows
    .filter((r) => r.position !== null && r.position !== undefined)
    .map((r) => {
      const row = r as EventRow;
      return { ...row, cursor: { txId: BigInt(row.tx_id_text), position: Number(row.position) } };
    })
    // the join does not promise an order: the cursor must be the greatest row
    .sort((a, b) => compareCursor(a.cursor, b.cursor));
  return { rows: events, drained: events.length < limit, sample };
}

/** Committed rows beyond `after` (capped), for lag metrics. */
export async function countAfter(client: PoolClient, t: StoreTables, after: Cursor, cap = 100_000): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM ${t.events} WHERE (tx_id, position) > ($1::text::xid8, $2::bigint) LIMIT $3) x`,
    [after.txId.toString(), after.position, cap],
  );
  return rows[0]!.n;
}

/**
 * Turns samples into a watermark W: every transaction acknowledged at or before W has been read.
 *
 * Sample i = (t, horizon): every transaction holding an xid at t has an xid below horizon, and any
 * transaction that gets an xid later gets one above it. Once a later drained read (everything below its
 * xmin was delivered) has xmin ≥ horizon, all transactions that held an xid at t have ended and were
 * read; anything still running or yet to come got its xid after t, so commits after t. W may advance to t.
 *
 * Consequences: with a writer in flight (it holds an xid, its first write), xmin ≤ its xid, so no
 * sample taken after it got its xid qualifies: W never passes the moment the oldest in-flight writer
 * started writing, hence never its commit nor the commit of anything after it. Idle, W trails the
 * clock by one poll.
 */
export class WatermarkTracker {
  private readonly pending: { t: number; horizon: bigint }[] = [];
  private w: number | null = null;

  constructor(private readonly maxPending = 1000) {}

  /** Call after the rows of the read that produced `sample` were delivered (published, applied). */
  observe(sample: SnapshotSample, drained: boolean): number | null {
    if (drained) {
      while (this.pending.length && this.pending[0]!.horizon <= sample.xmin) {
        const { t } = this.pending.shift()!;
        if (this.w === null || t > this.w) this.w = t;
      }
    }
    if (this.pending.length >= this.maxPending) this.pending.pop(); // drop a candidate: always safe
    this.pending.push({ t: sample.t, horizon: sample.horizon });
    return this.w;
  }

  watermark(): number | null {
    return this.w;
  }
}
