import type { KeySealer } from '@tollgate/authn';
import { isSealed } from '@tollgate/authn';

/** Runs one SQL statement and returns its rows (a DataSource's `query`, or an adapter over a pg client). */
export type QueryFn = (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * A table column holding sealed secrets (private signing keys), one per row: the table (schema-qualified),
 * the row's id column, the sealed column, and the context a value is bound to (its row), so a value moved
 * to another row never opens.
 */
export interface SealedColumn {
  table: string;
  idColumn: string;
  column: string;
  context(id: string): string;
}

export interface SealedRowsReport {
  /** Legacy plaintext rows sealed now. */
  sealed: number;
  /** Rows re-wrapped under the sealer's current KEK. */
  rewrapped: number;
  /** Rows already under the current KEK. */
  unchanged: number;
}

/**
 * Brings every row of `column` under `sealer`'s current KEK: plaintext (written before sealing existed) is
 * sealed, values under another KEK the sealer holds are re-wrapped. Each row is updated only if it still holds
 * the value read (a concurrent writer wins; a re-run finishes the job), so it is safe while services run and
 * idempotent. A value under a KEK the sealer does not hold throws, naming the row.
 */
export async function sealRows(query: QueryFn, column: SealedColumn, sealer: KeySealer): Promise<SealedRowsReport> {
  const report: SealedRowsReport = { sealed: 0, rewrapped: 0, unchanged: 0 };
  const rows = await query(`SELECT ${column.idColumn} AS id, ${column.column} AS value FROM ${column.table}`);
  for (const row of rows) {
    const id = String(row.id);
    const value = String(row.value);
    const context = column.context(id);
    let next: string;
    if (!isSealed(value)) {
      next = sealer.seal(value, context);
      report.sealed++;
    } else {
      try {
        next = sealer.rewrap(value, context);
      } catch (error) {
        throw new Error(`${column.table} row ${id}: ${(error as Error).message}`);
      }
      if (next === value) {
        report.unchanged++;
        continue;
      }
      report.rewrapped++;
    }
    await query(
      `UPDATE ${column.table} SET ${column.column} = $1 WHERE ${column.idColumn} = $2 AND ${column.column} = $3`,
      [next, id, value],
    );
  }
  return report;
}
