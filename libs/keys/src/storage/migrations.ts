import { KEYS_SCHEMA } from '@tollgate/contracts';
import type { MigrationClass } from '@tollgate/database';
import { createEventStoreMigrations } from '@tollgate/event-store';
import type { MigrationInterface, QueryRunner } from 'typeorm';

const S = `"${KEYS_SCHEMA}"`;

/**
 * The keys service's own tables and the indexes its read queries need. The read model is SQL over the
 * append-only `keys.events` table (no separate read tables: every query sees every committed write, so a
 * client reads its own writes); these partial expression indexes keep those queries off a full scan.
 */
export class KeysServiceTables1767312000000 implements MigrationInterface {
  name = 'KeysServiceTables1767312000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX key_created_user_idx ON ${S}.events ((data->>'userId'), position) WHERE type = 'KeyCreated'`,
    );
    await q.query(`CREATE INDEX key_created_hash_idx ON ${S}.events ((data->>'secretHash')) WHERE type = 'KeyCreated'`);
    await q.query(
      `CREATE INDEX key_created_deployment_idx ON ${S}.events ((data->>'deploymentId')) WHERE type = 'KeyCreated'`,
    );
    await q.query(
      `CREATE INDEX key_created_expires_idx ON ${S}.events ((data->>'expiresAt')) WHERE type = 'KeyCreated'`,
    );
    // Private halves of the service-token signing keys (PKCS#8 PEM). Never in an event; a row is deleted
    // when its key is retired. Public halves are in SigningKeyPublished events.
    await q.query(`
      CREATE TABLE ${S}.signing_keys (
        kid              text PRIMARY KEY,
        private_key_pem  text NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    // Idempotency of POST /v1/tokens (tokens are not events): the first response without its token.
    await q.query(`
      CREATE TABLE ${S}.token_requests (
        scope        text NOT NULL,
        key          text NOT NULL,
        fingerprint  text NOT NULL,
        response     jsonb NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      )`);
    // Progress of the keys service's reactions to other services' events (e.g. UserDeactivated).
    await q.query(`
      CREATE TABLE ${S}.reactor_checkpoints (
        name        text PRIMARY KEY,
        position    jsonb NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${S}.reactor_checkpoints`);
    await q.query(`DROP TABLE IF EXISTS ${S}.token_requests`);
    await q.query(`DROP TABLE IF EXISTS ${S}.signing_keys`);
    for (const index of [
      'key_created_expires_idx',
      'key_created_deployment_idx',
      'key_created_hash_idx',
      'key_created_user_idx',
    ]) {
      await q.query(`DROP INDEX IF EXISTS ${S}.${index}`);
    }
  }
}

/** Key-creation token buckets shared by every keys replica (storage/rate-buckets.ts). */
export class KeyCreationRateBuckets1767398400000 implements MigrationInterface {
  name = 'KeyCreationRateBuckets1767398400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ${S}.rate_buckets (
        owner   text PRIMARY KEY,
        tokens  double precision NOT NULL,
        at_ms   bigint NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${S}.rate_buckets`);
  }
}

/**
 * Service-token signing keys are stored sealed (AES-256-GCM envelope under the KEK, see `@tollgate/authn`
 * sealing); rows written before hold PEM and are sealed at the next start (`PostgresSigningKeyVault.sealAll`).
 */
export class SealedSigningKeys1767484800000 implements MigrationInterface {
  name = 'SealedSigningKeys1767484800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${S}.signing_keys RENAME COLUMN private_key_pem TO private_key_sealed`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${S}.signing_keys RENAME COLUMN private_key_sealed TO private_key_pem`);
  }
}

/**
 * "Last used" per key, folded from the authz replicas' `KeysUsed` batches (tollgate.key-usage.v1): one row per
 * key ever seen in use, only ever moved forward (`GREATEST`), joined by the key listings. Not an event: a
 * lost batch costs at most one interval of precision, and a replayed or late one changes nothing.
 */
export class KeyUsage1767657600000 implements MigrationInterface {
  name = 'KeyUsage1767657600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ${S}.key_usage (
        key_id        text PRIMARY KEY,
        last_used_at  timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${S}.key_usage`);
  }
}

/**
 * The rotation sweeper asks every second for rotations whose overlap has ended: a partial index keeps that
 * off a scan of the whole log (rotations are few).
 */
export class RotationIndex1767744000000 implements MigrationInterface {
  name = 'RotationIndex1767744000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX key_rotated_revokes_idx ON ${S}.events ((data->>'revokesAt'), position) WHERE type = 'KeyRotated'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS ${S}.key_rotated_revokes_idx`);
  }
}

/** Every migration of the `keys` schema, in order: the event store's tables, then the service's own. */
export function keysMigrations(): MigrationClass[] {
  return [
    ...createEventStoreMigrations(KEYS_SCHEMA),
    KeysServiceTables1767312000000,
    KeyCreationRateBuckets1767398400000,
    SealedSigningKeys1767484800000,
    KeyUsage1767657600000,
    RotationIndex1767744000000,
  ];
}
