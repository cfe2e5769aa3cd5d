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

/** The snapshot a read ran under: `t` is the database clock (epoch ms) taken before the snapshot. */
export interface SnapshotSample {
  t: number;
  xmin: bigint;
  xmax: bigint;
}

export interface ReadResult {
  rows: (EventRow & { cursor: Cursor })[];
  /** True when every committed row below `sample.xmin` after the cursor was returned (not cut by the limit). */
  drained: boolean;
  sample: SnapshotSample;
}

/**
 * One statement, autocommit: `now()` is the start of this statement's transaction, fixed before its
 * snapshot is taken, so a writer that was acknowledged at or before `t` is not running in the snapshot
 * and has a tx_id < xmax.
 */
export async function readCommitted(client: PoolClient, t: StoreTables, after: Cursor, limit: number): Promise<ReadResult> {
  const { rows } = await client.query<
    Partial<EventRow> & { s_xmin: string; s_xmax: string; s_t: number }
  >(
    `SELECT s.s_xmin, s.s_xmax, s.s_t, e.*
     FROM (SELECT pg_snapshot_xmin(c)::text AS s_xmin, pg_snapshot_xmax(c)::text AS s_xmax,
                  (extract(epoch FROM now()) * 1000)::float8 AS s_t
           FROM pg_current_snapshot() AS c) s
     LEFT JOIN LATERAL (
       SELECT ${EVENT_COLUMNS} FROM ${t.events}
       WHERE (tx_id, position) > ($1::text::xid8, $2::bigint)
         AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY tx_id, position
       LIMIT $3
     ) e ON true`,
    [after.txId.toString(), after.position, limit],
  );
  const first = rows[0]!;
  const sample: SnapshotSample = { t: Number(first.s_t), xmin: BigInt(first.s_xmin), xmax: BigInt(first.s_xmax) };
  const events = rows
    .filter((r) => r.position !== null && r.position !== undefined)
    .map((r) => {
      const row = r as EventRow;
      return { ...row, cursor: { txId: BigInt(row.tx_id), position: Number(row.position) } };
    });
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
 * Turns snapshots into a watermark W: every transaction acknowledged at or before W has been read.
 *
 * A sample (t, xmax) is taken before its snapshot: a writer acknowledged by t had ended before the
 * snapshot, so its tx_id < xmax. Once the reader has drained everything below a later snapshot's xmin
 * ≥ xmax, all those writers were read, so W may advance to t. With a writer in flight, xmin stays at or
 * below its tx_id, so W cannot pass the moment that transaction started (it got its xid after it began):
 * W never overtakes the oldest in-flight writer.
 */
export class WatermarkTracker {
  private readonly pending: { t: number; xmax: bigint }[] = [];
  private w: number | null = null;

  constructor(private readonly maxPending = 1000) {}

  /** Call after the rows of the read that produced `sample` were delivered (published, applied). */
  observe(sample: SnapshotSample, drained: boolean): number | null {
    if (this.pending.length >= this.maxPending) this.pending.pop(); // drop a candidate: always safe
    this.pending.push({ t: sample.t, xmax: sample.xmax });
    if (drained) {
      while (this.pending.length && this.pending[0]!.xmax <= sample.xmin) {
        const { t } = this.pending.shift()!;
        if (this.w === null || t > this.w) this.w = t;
      }
    }
    return this.w;
  }

  watermark(): number | null {
    return this.w;
  }
}
