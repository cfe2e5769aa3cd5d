import pg from 'pg';

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The same server URL, pointing at another database. */
export function databaseUrl(serverUrl: string, dbName: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(dbName)}`;
  return url.toString();
}

/**
 * Creates database `dbName` on the server of `serverUrl` (connecting to that URL's database) unless it
 * exists. Safe against a concurrent creator. Returns the URL of `dbName`.
 */
export async function ensureDatabase(serverUrl: string, dbName: string): Promise<string> {
  if (!DATABASE_NAME.test(dbName)) {
    throw new Error(`database name "${dbName}" must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)`);
  }
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${dbName}"`);
      } catch (error) {
        // Someone else created it between our check and our CREATE: 42P04 duplicate_database, or
        // 23505 unique_violation on pg_database when both CREATEs ran at the same moment.
        const code = (error as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw error;
      }
    }
  } finally {
    await client.end();
  }
  return databaseUrl(serverUrl, dbName);
}

/** Drops database `dbName` if it exists, disconnecting its sessions (PostgreSQL 13+). */
export async function dropDatabase(serverUrl: string, dbName: string): Promise<void> {
  if (!DATABASE_NAME.test(dbName)) throw new Error(`database name "${dbName}" is not a plain identifier`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
