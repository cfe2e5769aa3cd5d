import type { MigrationInterface, QueryRunner } from 'typeorm';
import { assertSchemaName, storeTables } from './schema';

function pascal(schema: string): string {
  return schema
    .split('_')
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * TypeORM migration classes for one writer schema: the append-only `events` table, the relay checkpoint
 * table and the idempotency table. Add them to the DataSource's `migrations` (several schemas: call once
 * per schema; class names embed the schema so TypeORM records each separately).
 */
export function createEventStoreMigrations(schema: string): (new () => MigrationInterface)[] {
  assertSchemaName(schema);
  const t = storeTables(schema);
  const name = `EventStore${pascal(schema)}Init1767225600000`;

  const migration = class implements MigrationInterface {
    name = name;
    async up(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      // tx_id: the writer's top-level transaction id (xid8, never wraps). The relay reads only rows whose
      // transaction is older than every running transaction and orders by (tx_id, position).
      await queryRunner.query(`
        CREATE TABLE ${t.events} (
          position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          event_id        text NOT NULL,
          stream_id       text NOT NULL,
          stream_version  integer NOT NULL CHECK (stream_version > 0),
          type            text NOT NULL,
          data            jsonb NOT NULL,
          metadata        jsonb NOT NULL,
          recorded_at     timestamptz NOT NULL DEFAULT now(),
          tx_id           xid8 NOT NULL DEFAULT pg_current_xact_id(),
          CONSTRAINT events_event_id_key UNIQUE (event_id),
          CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
        )`);
      await queryRunner.query(`CREATE INDEX events_tx_position_idx ON ${t.events} (tx_id, position)`);
      // Append-only: updates and deletes are refused (TRUNCATE stays possible for operators).
      await queryRunner.query(`
        CREATE FUNCTION "${schema}".events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'events are append-only'; END $$`);
      await queryRunner.query(`
        CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON ${t.events}
        FOR EACH ROW EXECUTE FUNCTION "${schema}".events_append_only()`);
      await queryRunner.query(`
        CREATE TABLE ${t.checkpoints} (
          name        text PRIMARY KEY,
          tx_id       xid8 NOT NULL DEFAULT '0',
          position    bigint NOT NULL DEFAULT 0,
          updated_at  timestamptz NOT NULL DEFAULT now()
        )`);
      await queryRunner.query(`
        CREATE TABLE ${t.idempotency} (
          scope        text NOT NULL,
          key          text NOT NULL,
          fingerprint  text NOT NULL,
          stream_id    text NOT NULL,
          result       jsonb NOT NULL,
          created_at   timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (scope, key)
        )`);
      await queryRunner.query(`CREATE INDEX idempotency_keys_created_at_idx ON ${t.idempotency} (created_at)`);
    }
    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.query(`DROP TABLE IF EXISTS ${t.idempotency}`);
      await queryRunner.query(`DROP TABLE IF EXISTS ${t.checkpoints}`);
      await queryRunner.query(`DROP TABLE IF EXISTS ${t.events}`);
      await queryRunner.query(`DROP FUNCTION IF EXISTS "${schema}".events_append_only()`);
    }
  };
  Object.defineProperty(migration, 'name', { value: name });
  return [migration];
}
