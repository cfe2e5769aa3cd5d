import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessModelModule } from '@tollgate/access-model';
import {
  generateKey,
  generateKeyEncryptionKey,
  KeySealer,
  loadServiceSigningKey,
  parseKeyEncryptionKey,
  sealedUnder,
} from '@tollgate/authn';
import { loadConfig } from '@tollgate/config';
import { IdentityModule, IDENTITY_SIGNING_KEY_COLUMN } from '@tollgate/identity';
import { KEYS_SIGNING_KEY_COLUMN, KeysModule } from '@tollgate/keys';
import pg from 'pg';
import { createTestDatabase, eventually, type TestDatabase } from '../../../test/support';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { type CliContext, runCli } from './cli';
import { EXIT } from './cli-errors';
import { createOutput } from './output';

// Signing keys at rest (issue 13 item 10), on real PostgreSQL: the keys and identity services seal their
// private keys under the KEK; a dump of the database holds no private key and no row opens without the KEK;
// rows written in plaintext before sealing existed are sealed at the next start; `tollgate keys rotate-kek`
// re-wraps every key, after which the old KEK opens nothing and the services run on the new one.

const ADMIN = 'bootstrap-admin-credential-for-kek-tests-0000000001';

describe('signing keys sealed at rest under the key-encryption key', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  const kekA = generateKeyEncryptionKey();
  const kekB = generateKeyEncryptionKey();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-kek-'));
  const kekBFile = join(dir, 'new.key');
  writeFileSync(kekBFile, `${kekB}\n`, { mode: 0o600 });

  const start = (kek: string): Promise<TestApp> =>
    startTestApp((ctx) => [AccessModelModule.forRoot(ctx), KeysModule.forRoot(ctx), IdentityModule.forRoot(ctx)], {
      databaseUrl: database.url,
      env: {
        TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN,
        TOLLGATE_KEY_ENCRYPTION_KEY: kek,
        TOLLGATE_MAX_STALENESS_MS: '1000',
        GRPC_PORT: '0',
      },
    });

  /** Every row of every table of the product's schemas, as text: what a dump holds. */
  async function dump(): Promise<string> {
    const { rows: tables } = await pool.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    expect(tables.map((t) => `${t.schema}.${t.name}`)).toEqual(
      expect.arrayContaining(['keys.signing_keys', 'identity.signing_keys', 'keys.events', 'identity.events']),
    );
    const parts: string[] = [];
    for (const t of tables) {
      const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM "${t.schema}"."${t.name}" t`);
      parts.push(...rows.map((r) => r.row));
    }
    return parts.join('\n');
  }

  const sealedRows = async () => [
    ...(
      await pool.query<{ id: string; value: string }>(
        `SELECT kid AS id, private_key_sealed AS value FROM keys.signing_keys`,
      )
    ).rows.map((r) => ({ ...r, column: KEYS_SIGNING_KEY_COLUMN })),
    ...(
      await pool.query<{ id: string; value: string }>(
        `SELECT kid AS id, private_key_sealed AS value FROM identity.signing_keys`,
      )
    ).rows.map((r) => ({ ...r, column: IDENTITY_SIGNING_KEY_COLUMN })),
  ];

  /** A service token minted through the product (proves the sealed key signs). */
  async function mintToken(app: TestApp): Promise<number> {
    const call = httpClient(app.url);
    const key = await call('POST', '/v1/keys', { auth: ADMIN, body: { name: `k-${Date.now()}`, scope: 'management' } });
    expect(key.status).toBe(201);
    // A fresh signing key activates one staleness bound after it is published (503 until then).
    return eventually(async () => {
      const token = await call('POST', '/v1/tokens', { auth: key.body.key as string, body: {} });
      expect(token.status).toBe(201);
      return token.status;
    });
  }

  const cli = async (args: string[], kek: string) => {
    const out: string[] = [];
    const err: string[] = [];
    const context = (json: boolean): CliContext => ({
      config: loadConfig({ DATABASE_URL: database.url, TOLLGATE_KEY_ENCRYPTION_KEY: kek }),
      out: createOutput(json, (t) => void out.push(t)),
      database: async () => database.url,
      readStdin: async () => '',
    });
    const code = await runCli(args, context, (t) => void err.push(t));
    return { code, out: out.join(''), err: err.join('') };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('a dump holds no private key, and no sealed row opens without the KEK', async () => {
    const app = await start(kekA);
    try {
      expect(await mintToken(app)).toBe(201);
    } finally {
      await app.close();
    }
    const text = await dump();
    expect(text).not.toMatch(/PRIVATE KEY/);
    // The base64 of every Ed25519 PKCS#8 key starts with this DER prefix.
    expect(text).not.toContain('MC4CAQAwBQYDK2Vw');
    const rows = await sealedRows();
    expect(rows.map((r) => r.column.table).sort()).toEqual(['"identity".signing_keys', '"keys".signing_keys']);
    const a = parseKeyEncryptionKey(kekA);
    for (const row of rows) {
      expect(sealedUnder(row.value)).toBe(a.id);
      const context = row.column.context(row.id);
      expect(() => new KeySealer(parseKeyEncryptionKey(generateKeyEncryptionKey())).open(row.value, context)).toThrow();
      // With the KEK it is the signing key whose kid the row names.
      expect(loadServiceSigningKey(new KeySealer(a).open(row.value, context), row.id).kid).toBe(row.id);
    }
  });

  it('seals rows left in plaintext from before sealing at the next start', async () => {
    const a = new KeySealer(parseKeyEncryptionKey(kekA));
    const identityRow = (await sealedRows()).find((r) => r.column === IDENTITY_SIGNING_KEY_COLUMN)!;
    const pem = a.open(identityRow.value, IDENTITY_SIGNING_KEY_COLUMN.context(identityRow.id));
    // As an older version stored it: PEM in the column.
    await pool.query(`UPDATE identity.signing_keys SET private_key_sealed = $1 WHERE kid = $2`, [pem, identityRow.id]);
    await pool.query(`INSERT INTO keys.signing_keys (kid, private_key_sealed) VALUES ('legacy-kid', $1)`, [pem]);
    expect(await dump()).toMatch(/PRIVATE KEY/);

    const app = await start(kekA);
    try {
      expect(await mintToken(app)).toBe(201);
    } finally {
      await app.close();
    }
    expect(await dump()).not.toMatch(/PRIVATE KEY/);
    for (const row of await sealedRows()) expect(sealedUnder(row.value)).toBe(a.current.id);
  });

  it('`tollgate keys rotate-kek` re-wraps every key; the old KEK opens nothing; the services run on the new one', async () => {
    const before = await sealedRows();
    const rotated = await cli(['keys', 'rotate-kek', '--new-key-file', kekBFile, '--json'], kekA);
    expect(rotated).toMatchObject({ code: EXIT.ok, err: '' });
    const report = JSON.parse(rotated.out);
    const b = parseKeyEncryptionKey(kekB);
    expect(report).toMatchObject({ from: parseKeyEncryptionKey(kekA).id, to: b.id });
    const total = Object.values(report.tables as Record<string, { rewrapped: number }>).reduce(
      (n, t) => n + t.rewrapped,
      0,
    );
    expect(total).toBe(before.length);

    const a = new KeySealer(parseKeyEncryptionKey(kekA));
    for (const row of await sealedRows()) {
      const context = row.column.context(row.id);
      expect(sealedUnder(row.value)).toBe(b.id);
      expect(() => a.open(row.value, context)).toThrow(/does not hold/);
      expect(new KeySealer(b).open(row.value, context)).toMatch(/PRIVATE KEY/);
    }
    // Idempotent: a second run finds nothing to do.
    const again = JSON.parse((await cli(['keys', 'rotate-kek', '--new-key-file', kekBFile, '--json'], kekB)).out);
    for (const t of Object.values(again.tables as Record<string, { rewrapped: number; sealed: number }>))
      expect(t.rewrapped + t.sealed).toBe(0);

    // The services start and sign on the new KEK, and refuse to start on the old one.
    const app = await start(kekB);
    try {
      expect(await mintToken(app)).toBe(201);
    } finally {
      await app.close();
    }
    await expect(start(kekA)).rejects.toThrow(/does not hold/);
  });

  it('refuses a missing or malformed new key without touching any row', async () => {
    const before = await sealedRows();
    const missing = await cli(['keys', 'rotate-kek'], kekB);
    expect(missing.code).toBe(EXIT.usage);
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, generateKey('inference'));
    const malformed = await cli(['keys', 'rotate-kek', '--new-key-file', bad], kekB);
    expect({ code: malformed.code, err: malformed.err }).toEqual({
      code: EXIT.usage,
      err: expect.stringMatching(/--new-key-file: must be 32 random bytes/),
    });
    expect(await sealedRows()).toEqual(before);
  });
});
