import type { PoolClient, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';

/** The few SQL calls the identity tables need, on the data source's pool (schema `identity` first on the search_path). */
export interface Sql {
  query<T extends QueryResultRow = QueryResultRow>(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: T[]; rowCount: number }>;
  /** Runs `fn` in one transaction on one connection (committed when it resolves, rolled back when it throws). */
  transaction<T>(fn: (tx: Pick<Sql, 'query'>) => Promise<T>): Promise<T>;
}

async function withClient<T>(dataSource: DataSource, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner('master');
  const client = (await runner.connect()) as PoolClient;
  try {
    return await fn(client);
  } finally {
    await runner.release();
  }
}

const onClient = (client: PoolClient): Pick<Sql, 'query'> => ({
  async query<T extends QueryResultRow>(text: string, params: unknown[] = []) {
    const result = await client.query<T>(text, params);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  },
});

export function createSql(dataSource: DataSource): Sql {
  return {
    query: (text, params) => withClient(dataSource, (client) => onClient(client).query(text, params)),
    transaction: (fn) =>
      withClient(dataSource, async (client) => {
        await client.query('BEGIN');
        try {
          const result = await fn(onClient(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
  };
}

/** PostgreSQL unique_violation (23505). */
export const isUniqueViolation = (error: unknown): boolean => (error as { code?: string } | null)?.code === '23505';
