import { DataSource, type EntitySchema, type MigrationInterface } from 'typeorm';

export type MigrationClass = new () => MigrationInterface;
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityTarget = Function | EntitySchema;

export interface DataSourceSpec {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /**
   * The writer's schema (lower-case identifier). Its tables, and its own `migrations` history table,
   * live there; unqualified SQL in its migrations lands there too (search_path is `<schema>, public`).
   * Default: `public`.
   */
  schema?: string;
  migrations: MigrationClass[];
  entities?: EntityTarget[];
  /** Shown as `application_name` in pg_stat_activity. */
  name?: string;
  /** Pool size (default 10). */
  poolSize?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A TypeORM DataSource for PostgreSQL, not yet initialised (call `initialize()`). */
export function createDataSource(spec: DataSourceSpec): DataSource {
  const schema = spec.schema ?? 'public';
  if (!IDENTIFIER.test(schema)) {
    throw new Error(`schema "${schema}" must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)`);
  }
  return new DataSource({
    type: 'postgres',
    url: spec.url,
    schema,
    applicationName: spec.name ?? 'tollgate',
    migrations: spec.migrations,
    // One history per schema: TypeORM qualifies the table with `schema`.
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    entities: spec.entities ?? [],
    synchronize: false,
    poolSize: spec.poolSize ?? 10,
    extra: { options: `-c search_path=${schema === 'public' ? 'public' : `${schema},public`}` },
  });
}

/**
 * Runs the pending migrations of the data source's schema (creating the schema if needed), one
 * transaction per migration, under a PostgreSQL advisory lock so concurrent starters do not race.
 * Returns the names of the migrations that ran.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  return withMigrationLock(dataSource, async () => {
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    return ran.map((migration) => migration.name);
  });
}

/** Reverts the last executed migration of the data source's schema. */
export async function revertLastMigration(dataSource: DataSource): Promise<void> {
  await withMigrationLock(dataSource, () => dataSource.undoLastMigration({ transaction: 'each' }));
}

async function withMigrationLock<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  if (!dataSource.isInitialized) await dataSource.initialize();
  const schema = schemaOf(dataSource);
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`tollgate-migrations:${schema}`]);
    try {
      await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      return await work();
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`tollgate-migrations:${schema}`]);
    }
  } finally {
    await runner.release();
  }
}

function schemaOf(dataSource: DataSource): string {
  const schema = (dataSource.options as { schema?: string }).schema ?? 'public';
  if (!IDENTIFIER.test(schema)) throw new Error(`schema "${schema}" is not a plain identifier`);
  return schema;
}
