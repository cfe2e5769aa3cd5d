import type { MigrationInterface } from 'typeorm';

/**
 * TypeORM migration classes for one writer schema: the `events` table, the relay checkpoint table and the
 * idempotency table. Add them to the DataSource's `migrations` (several schemas: call once per schema).
 */
export function createEventStoreMigrations(_schema: string): (new () => MigrationInterface)[] {
  throw new Error('not implemented');
}
