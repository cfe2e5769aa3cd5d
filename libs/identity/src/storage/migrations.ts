import { IDENTITY_SCHEMA } from '@tollgate/contracts';
import type { MigrationClass } from '@tollgate/database';
import { createEventStoreMigrations } from '@tollgate/event-store';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The identity service's own tables, next to its event store (schema `identity`). The events are the
 * source of truth; these tables hold what the events cannot do alone:
 * - reservations that make uniqueness hold under concurrency (a unique index, not a read-then-write race):
 *   user names, (idp, subject) links, host + path-prefix routes;
 * - webhook ids seen in the last 24 h (replay protection);
 * - the identity service's Ed25519 signing key (private: never in an event);
 * - an index of each user's group set (to list a group's members), kept at the stream version it reflects
 *   (written in each append's transaction: `group-index.ts`);
 * - the SCIM resources' own attributes (userName, name, emails, group ids) that Tollgate events do not carry.
 * Unqualified names land in the `identity` schema (the data source's search_path).
 */
export class IdentityReadTables1767225600100 implements MigrationInterface {
  name = 'IdentityReadTables1767225600100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE user_names (
        name         text PRIMARY KEY,
        user_id      text NOT NULL UNIQUE,
        reserved_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE external_subjects (
        idp          text NOT NULL,
        subject      text NOT NULL,
        user_id      text NOT NULL,
        reserved_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (idp, subject)
      )`);
    await q.query(`CREATE INDEX external_subjects_user_idx ON external_subjects (user_id)`);
    await q.query(`
      CREATE TABLE deployment_routes (
        host           text NOT NULL,
        path_prefix    text NOT NULL,
        deployment_id  text NOT NULL,
        reserved_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (host, path_prefix)
      )`);
    await q.query(`CREATE INDEX deployment_routes_deployment_idx ON deployment_routes (deployment_id)`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        idp          text NOT NULL,
        webhook_id   text NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (idp, webhook_id)
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (received_at)`);
    await q.query(`
      CREATE TABLE signing_keys (
        slot             text PRIMARY KEY,
        kid              text NOT NULL UNIQUE,
        private_key_pem  text NOT NULL,
        public_jwk       jsonb NOT NULL,
        activates_at     timestamptz NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE user_group_sets (
        user_id  text PRIMARY KEY,
        idp      text,
        version  integer NOT NULL,
        groups   text[] NOT NULL
      )`);
    await q.query(`CREATE INDEX user_group_sets_groups_idx ON user_group_sets USING gin (groups)`);
    await q.query(`
      CREATE TABLE scim_users (
        idp          text NOT NULL,
        user_id      text NOT NULL,
        user_name    text NOT NULL,
        external_id  text NOT NULL,
        attributes   jsonb NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        version      integer NOT NULL DEFAULT 1,
        PRIMARY KEY (idp, user_id)
      )`);
    // userName is unique and case-insensitive (RFC 7643 section 4.1.1: caseExact false, uniqueness server).
    await q.query(`CREATE UNIQUE INDEX scim_users_user_name_idx ON scim_users (idp, lower(user_name))`);
    await q.query(`CREATE UNIQUE INDEX scim_users_external_id_idx ON scim_users (idp, external_id)`);
    await q.query(`
      CREATE TABLE scim_groups (
        group_id      text PRIMARY KEY,
        idp           text NOT NULL,
        display_name  text NOT NULL,
        external_id   text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        version       integer NOT NULL DEFAULT 1
      )`);
    await q.query(`CREATE UNIQUE INDEX scim_groups_display_name_idx ON scim_groups (idp, display_name)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'scim_groups',
      'scim_users',
      'user_group_sets',
      'signing_keys',
      'webhook_deliveries',
      'deployment_routes',
      'external_subjects',
      'user_names',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}

/**
 * Host ownership (CONTRACT v3): the project whose deployment first named a host owns it. Existing data is
 * claimed from the event history, oldest event first, so a host shared by several projects before v3 belongs
 * to the one that named it first (their deployments stay; a new route on it needs that project's consent).
 */
export class HostOwners1767225600410 implements MigrationInterface {
  name = 'HostOwners1767225600410';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE host_owners (
        host        text PRIMARY KEY,
        project_id  text NOT NULL,
        claimed_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      INSERT INTO host_owners (host, project_id, claimed_at)
      SELECT DISTINCT ON (host) host, project_id, recorded_at
      FROM (
        SELECT lower(named.host) AS host, e.data->>'projectId' AS project_id, e.recorded_at, e.position
        FROM events e CROSS JOIN LATERAL jsonb_array_elements_text(e.data->'hosts') AS named(host)
        WHERE e.type IN ('DeploymentCreated', 'DeploymentUpdated')
      ) AS claims
      ORDER BY host, position
      ON CONFLICT DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS host_owners`);
  }
}

/**
 * The sign-in signing key's private half is stored sealed (AES-256-GCM envelope under the KEK, see
 * `@tollgate/authn` sealing); rows written before hold PEM and are sealed at the next start
 * (`IdentitySigningKeyVault.sealAll`).
 */
export class SealedSigningKeys1767484800100 implements MigrationInterface {
  name = 'SealedSigningKeys1767484800100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${IDENTITY_SCHEMA}".signing_keys RENAME COLUMN private_key_pem TO private_key_sealed`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${IDENTITY_SCHEMA}".signing_keys RENAME COLUMN private_key_sealed TO private_key_pem`);
  }
}

/**
 * The list endpoints (`GET /v1/users`, `/v1/projects`, `/v1/deployments`) read creation events by type in
 * position order, and a caller's collaborations by type.
 */
export class EventsByType1767571200100 implements MigrationInterface {
  name = 'EventsByType1767571200100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS events_type_position_idx ON "${IDENTITY_SCHEMA}".events (type, position)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "${IDENTITY_SCHEMA}".events_type_position_idx`);
  }
}

/**
 * The group index is written in the transaction of each append from now on (an inline projection), no longer
 * rebuilt from the log at every start: this fills it once from the log of a database written before, the
 * way that rebuild did (each user's connector, latest group set, and latest stream version).
 */
export class GroupIndexBackfill1767657600100 implements MigrationInterface {
  name = 'GroupIndexBackfill1767657600100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      INSERT INTO "${IDENTITY_SCHEMA}".user_group_sets AS s (user_id, idp, version, groups)
      SELECT c.data->>'userId', c.data->>'idp',
             (SELECT max(e.stream_version) FROM "${IDENTITY_SCHEMA}".events e WHERE e.stream_id = c.stream_id),
             coalesce((
               SELECT ARRAY(SELECT g FROM jsonb_array_elements_text(e.data->'groups') WITH ORDINALITY AS t(g, o) ORDER BY o)
               FROM "${IDENTITY_SCHEMA}".events e
               WHERE e.stream_id = c.stream_id AND e.type IN ('GroupsRefreshed', 'GroupsEdited')
               ORDER BY e.stream_version DESC LIMIT 1
             ), '{}')
      FROM "${IDENTITY_SCHEMA}".events c
      WHERE c.type = 'UserCreated' AND c.stream_id LIKE 'user-%'
      ON CONFLICT (user_id) DO UPDATE SET idp = EXCLUDED.idp, version = EXCLUDED.version, groups = EXCLUDED.groups
        WHERE s.version < EXCLUDED.version`);
  }

  async down(): Promise<void> {
    // The rows stay: they are what the inline projection keeps.
  }
}

/**
 * A webhook delivery is claimed while it is processed and marked done after: a retry of a delivery whose
 * process died mid-way is processed again instead of being taken for a duplicate. Rows from before count as
 * done (they were processed, or forgotten on failure).
 */
export class WebhookDeliveryState1767744000100 implements MigrationInterface {
  name = 'WebhookDeliveryState1767744000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${IDENTITY_SCHEMA}".webhook_deliveries ADD COLUMN done boolean NOT NULL DEFAULT true`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${IDENTITY_SCHEMA}".webhook_deliveries DROP COLUMN IF EXISTS done`);
  }
}

/**
 * The sign-in signing key rotates (issue 19): one row per key (primary key `kid`, as in the keys service's
 * table), holding only the sealed private half; which key is published, signs and is retired is the
 * `identity-signing-keys` stream's. The one key of a database written before keeps its row and its sealed
 * value (same kid, same sealing context), so it keeps signing until the schedule's first rotation and
 * verifying until its retirement. A row whose key never reached the stream (a start that stopped between
 * the two writes) never signed anything and is dropped.
 */
export class RotatingSigningKeys1767830400300 implements MigrationInterface {
  name = 'RotatingSigningKeys1767830400300';

  async up(q: QueryRunner): Promise<void> {
    const t = `"${IDENTITY_SCHEMA}".signing_keys`;
    await q.query(`
      DELETE FROM ${t} s WHERE NOT EXISTS (
        SELECT 1 FROM "${IDENTITY_SCHEMA}".events e
        WHERE e.stream_id = 'identity-signing-keys' AND e.type = 'SigningKeyPublished' AND e.data->>'kid' = s.kid)`);
    // Dropping `slot` drops its primary key.
    await q.query(`ALTER TABLE ${t} DROP COLUMN slot, DROP COLUMN public_jwk, DROP COLUMN activates_at`);
    await q.query(`ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS signing_keys_kid_key`);
    await q.query(`ALTER TABLE ${t} ADD PRIMARY KEY (kid)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Back to one `current` row: the key signing now (else the latest), with its public half from its event.
    const t = `"${IDENTITY_SCHEMA}".signing_keys`;
    await q.query(`ALTER TABLE ${t} DROP CONSTRAINT signing_keys_pkey`);
    await q.query(
      `ALTER TABLE ${t} ADD COLUMN slot text, ADD COLUMN public_jwk jsonb, ADD COLUMN activates_at timestamptz`,
    );
    await q.query(`
      UPDATE ${t} s SET public_jwk = e.data->'publicJwk', activates_at = (e.data->>'activatesAt')::timestamptz
      FROM "${IDENTITY_SCHEMA}".events e
      WHERE e.stream_id = 'identity-signing-keys' AND e.type = 'SigningKeyPublished' AND e.data->>'kid' = s.kid`);
    await q.query(`
      DELETE FROM ${t} WHERE activates_at IS NULL OR kid <> (
        SELECT kid FROM ${t} WHERE activates_at IS NOT NULL
        ORDER BY (activates_at <= now()) DESC, activates_at DESC LIMIT 1)`);
    await q.query(`UPDATE ${t} SET slot = 'current'`);
    await q.query(
      `ALTER TABLE ${t} ALTER COLUMN slot SET NOT NULL, ALTER COLUMN public_jwk SET NOT NULL, ALTER COLUMN activates_at SET NOT NULL`,
    );
    await q.query(`ALTER TABLE ${t} ADD PRIMARY KEY (slot), ADD CONSTRAINT signing_keys_kid_key UNIQUE (kid)`);
  }
}

/** Every migration of the `identity` schema, in order: the event store's, then the identity tables. */
export function identityMigrations(): MigrationClass[] {
  return [
    ...createEventStoreMigrations(IDENTITY_SCHEMA),
    IdentityReadTables1767225600100,
    HostOwners1767225600410,
    SealedSigningKeys1767484800100,
    EventsByType1767571200100,
    GroupIndexBackfill1767657600100,
    WebhookDeliveryState1767744000100,
    RotatingSigningKeys1767830400300,
  ];
}
