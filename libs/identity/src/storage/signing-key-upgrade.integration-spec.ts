import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateServiceSigningKey, KeySealer, parseKeyEncryptionKey } from '@tollgate/authn';
import { IDENTITY_SCHEMA, IDENTITY_SIGNING_KEYS_STREAM } from '@tollgate/contracts';
import { createDataSource, revertLastMigration, runMigrations } from '@tollgate/database';
import { NO_STREAM, PostgresEventStore } from '@tollgate/event-store';
import { decodeProtectedHeader } from 'jose';
import { Registry } from 'prom-client';
import { createTestDatabase, type TestDatabase } from '../../../../test/support';
import { TEST_KEY_ENCRYPTION_KEY } from '../../../../test/support/test-app';
import { connector, type IdentityTestApp, startIdentityApp } from '../testing/identity-app';
import { startTestIssuer, type TestIssuer } from '../testing/oidc-issuer';
import { identityMigrations, RotatingSigningKeys1767830400300 } from './migrations';

// Issue 19 item 3, upgrade: a database written before rotation holds one sign-in key in the `current` slot
// of identity.signing_keys (sealed) and its SigningKeyPublished on the identity log. After the upgrade
// (migration RotatingSigningKeys) that key keeps signing until the schedule rotates it, and the migration
// reverts to the one-slot table.

describe('sign-in signing key: upgrade of a database with the one pre-rotation key', () => {
  let database: TestDatabase;
  let issuer: TestIssuer;
  let app: IdentityTestApp | undefined;
  const legacy = generateServiceSigningKey();
  const legacyActivation = new Date(Date.now() - 86_400_000);

  beforeAll(async () => {
    database = await createTestDatabase();
    issuer = await startTestIssuer();
    // The schema as the previous release left it: every migration but the rotation's.
    const dataSource = createDataSource({
      url: database.url,
      schema: IDENTITY_SCHEMA,
      migrations: identityMigrations().filter((m) => m !== RotatingSigningKeys1767830400300),
      name: 'identity-before-rotation',
      poolSize: 2,
    });
    await dataSource.initialize();
    await runMigrations(dataSource);
    const sealer = new KeySealer(parseKeyEncryptionKey(TEST_KEY_ENCRYPTION_KEY));
    await dataSource.query(
      `INSERT INTO identity.signing_keys (slot, kid, private_key_sealed, public_jwk, activates_at)
       VALUES ('current', $1, $2, $3::jsonb, $4)`,
      [
        legacy.kid,
        sealer.seal(legacy.privateKeyPem, `identity.signing_keys:${legacy.kid}`),
        JSON.stringify(legacy.publicJwk),
        legacyActivation,
      ],
    );
    const store = new PostgresEventStore({ dataSource, schema: IDENTITY_SCHEMA, registry: new Registry() });
    await store.append(
      IDENTITY_SIGNING_KEYS_STREAM,
      NO_STREAM,
      [
        {
          type: 'SigningKeyPublished',
          data: { kid: legacy.kid, publicJwk: legacy.publicJwk, activatesAt: legacyActivation.toISOString() },
        },
      ],
      { metadata: { actor: 'system', channel: 'system' } },
    );
    await dataSource.destroy();
  });

  afterAll(async () => {
    await app?.close();
    await issuer?.close();
    await database?.drop();
  });

  it('keeps signing with the existing key after the upgrade, and the migration reverts', async () => {
    issuer.account('00u1upgrade', { groups: ['ml'] });
    app = await startIdentityApp({
      databaseUrl: database.url,
      configure: (config) => ({
        ...config,
        idpConnectors: [
          connector('corp', { oidc: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, clientId: issuer.clientId } }),
        ],
      }),
    });
    // One row per kid now, the same sealed value; no new key (the next rotation is 6 days away).
    expect(await app.sql(`SELECT kid FROM identity.signing_keys`)).toEqual([{ kid: legacy.kid }]);
    const columns = await app.sql(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'identity' AND table_name = 'signing_keys' ORDER BY column_name`,
    );
    expect(columns.map((c) => c.column_name)).toEqual(['created_at', 'kid', 'private_key_sealed']);
    const signedIn = await app.call('POST', '/v1/idp/corp/sign-in', {
      body: { idToken: await issuer.idToken('00u1upgrade') },
    });
    expect(signedIn.status).toBe(200);
    expect(decodeProtectedHeader(signedIn.body.token).kid).toBe(legacy.kid);
    expect((await app.call('GET', '/v1/me', { auth: signedIn.body.token })).status).toBe(200);
    expect(
      (await app.sql(`SELECT type FROM identity.events WHERE stream_id = $1`, [IDENTITY_SIGNING_KEYS_STREAM])).map(
        (e) => e.type,
      ),
    ).toEqual(['SigningKeyPublished']);
    await app.close();
    app = undefined;

    // Down (while RotatingSigningKeys is the last migration): back to the one `current` slot with its public half
    // from the event.
    const dataSource = createDataSource({
      url: database.url,
      schema: IDENTITY_SCHEMA,
      migrations: identityMigrations(),
      name: 'identity-revert-rotation',
      poolSize: 2,
    });
    await dataSource.initialize();
    try {
      await revertLastMigration(dataSource);
      const rows = await dataSource.query(`SELECT slot, kid, public_jwk, activates_at FROM identity.signing_keys`);
      expect(rows).toEqual([
        { slot: 'current', kid: legacy.kid, public_jwk: legacy.publicJwk, activates_at: legacyActivation },
      ]);
    } finally {
      await dataSource.destroy();
    }
  });
});
