export { runningEmbeddedPostgresUrl, startEmbeddedPostgres } from './embedded-postgres';
export type { EmbeddedPostgresHandle, EmbeddedPostgresOptions } from './embedded-postgres';
export { createDataSource, runMigrations, revertLastMigration } from './data-source';
export type { DataSourceSpec, EntityTarget, MigrationClass } from './data-source';
export { databaseUrl, dropDatabase, ensureDatabase } from './ensure-database';
export { freeLoopbackPort } from './free-port';
export { sealRows, type QueryFn, type SealedColumn, type SealedRowsReport } from './sealed-rows';
