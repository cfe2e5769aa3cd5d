import type { PoolClient } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import type { RecordedEvent } from './types';

/** A raw `pg` client borrowed from the DataSource's pool through a TypeORM QueryRunner. */
export interface Borrowed {
  client: PoolClient;
  queryRunner: QueryRunner;
}

export async function borrow(dataSource: DataSource): Promise<Borrowed> {
  const queryRunner = dataSource.createQueryRunner('master');
  const client = (await queryRunner.connect()) as PoolClient;
  return { client, queryRunner };
}

export async function withClient<T>(dataSource: DataSource, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const { client, queryRunner } = await borrow(dataSource);
  try {
    return await fn(client);
  } finally {
    await queryRunner.release();
  }
}

export interface EventRow {
  position: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
  /** `tx_id` as text (xid8 has no JavaScript type). */
  tx_id_text: string;
}

/**
 * The columns of an event row. The text cast of `tx_id` gets a name of its own: aliased `tx_id`, it shadowed
 * the xid8 column in any `ORDER BY tx_id` of the same query (PostgreSQL resolves a bare ORDER BY name to an
 * output column first), which then sorted transaction ids as text ('1000' before '999') and made the
 * gap-safe reader skip events for good.
 */
export const EVENT_COLUMNS =
  'position, event_id, stream_id, stream_version, type, data, metadata, recorded_at, tx_id::text AS tx_id_text';

export function rowToEvent(row: EventRow, source: string): RecordedEvent {
  const recordedAt = row.recorded_at instanceof Date ? row.recorded_at : new Date(row.recorded_at);
  const m = row.metadata;
  return {
    id: row.event_id,
    source,
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    position: Number(row.position),
    type: row.type,
    data: row.data,
    metadata: {
      actor: String(m.actor ?? ''),
      channel: String(m.channel ?? ''),
      causationId: (m.causationId as string | null | undefined) ?? null,
      correlationId: (m.correlationId as string | null | undefined) ?? null,
      idempotencyKey: (m.idempotencyKey as string | null | undefined) ?? null,
      recordedAt: recordedAt.toISOString(),
    },
    recordedAt,
  };
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** Returns the connection to the pool, or destroys it when `error` is given (state unknown, maybe broken). */
export async function giveBack(borrowed: Borrowed, error?: unknown): Promise<void> {
  if (error === undefined) {
    await borrowed.queryRunner.release().catch(() => undefined);
    return;
  }
  const runner = borrowed.queryRunner as unknown as { releasePostgresConnection(err: unknown): Promise<void> };
  await runner
    .releasePostgresConnection(error instanceof Error ? error : new Error(String(error)))
    .catch(() => undefined);
}
