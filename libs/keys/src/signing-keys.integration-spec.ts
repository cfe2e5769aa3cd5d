import { AccessModelModule, ACCESS_MODEL, type AccessModel } from '@tollgate/access-model';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import { eventually } from '../../../test/support';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import type { KeysRuntime } from './keys-runtime';
import { KEYS_RUNTIME, KeysModule } from './keys.module';
import { IdentityFixture } from './testing/identity-fixture';

const ADMIN = 'bootstrap-admin-credential-for-signing-key-tests';
const DAY = 86_400_000;
const H = 3_600_000;

describe('signing-key rotation (real PostgreSQL, schedule driven with explicit times)', () => {
  let app: TestApp;
  let runtime: KeysRuntime;
  let db: pg.Client;
  let call: ReturnType<typeof httpClient>;
  let identity: IdentityFixture;
  const jwks = async () => (await call('GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] };
  const kids = async () => (await jwks()).keys.map((k) => k.kid);
  const privateKids = async () =>
    (await db.query('SELECT kid FROM keys.signing_keys ORDER BY created_at')).rows.map((r) => r.kid as string);

  beforeAll(async () => {
    // A maintenance interval far beyond the test: only explicit maintain() calls run the schedule.
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx),
        KeysModule.forRoot(ctx, { signingKeySchedule: { firstKeyLeadMs: 200 }, maintenanceIntervalMs: 3_600_000 }),
      ],
      {
        env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN },
      },
    );
    runtime = app.app.get<KeysRuntime>(KEYS_RUNTIME);
    call = httpClient(app.url);
    db = new pg.Client({ connectionString: app.context.databaseUrl });
    await db.connect();
    // The access model (embedded mode) follows both writers' tables: the identity one must exist.
    identity = await IdentityFixture.start(app.context.databaseUrl);
  });
  afterAll(async () => {
    await db?.end();
    await identity?.close();
    await app?.close();
  });

  it('publishes the next key before it signs, keeps the old one while its tokens live, then retires it', async () => {
    const [first] = await kids();
    expect(first).toBeDefined();
    expect(await privateKids()).toEqual([first]);
    const published = (await db.query(`SELECT data FROM keys.events WHERE type = 'SigningKeyPublished'`)).rows[0].data;
    expect(Date.parse(published.activatesAt)).toBeGreaterThan(
      Date.parse(
        (await db.query(`SELECT recorded_at FROM keys.events WHERE type = 'SigningKeyPublished'`)).rows[0].recorded_at,
      ),
    );

    // A token from the first key.
    const key = (await call('POST', '/v1/keys', { auth: ADMIN, body: { name: 'tokens', scope: 'inference' } })).body
      .key as string;
    const oldToken = await eventually(async () => {
      const res = await call('POST', '/v1/tokens', { auth: key });
      expect(res.status).toBe(201);
      return res.body.token as string;
    });
    expect(decodeProtectedHeader(oldToken).kid).toBe(first);

    // One hour before the rotation: the successor is published, in the JWKS (and the access model), not signing yet.
    const activatedAt = Date.parse(published.activatesAt);
    expect(await runtime.signingKeys.maintain(activatedAt + 7 * DAY - H)).toEqual(['SigningKeyPublished']);
    const both = await kids();
    expect(both).toHaveLength(2);
    const second = both.find((k) => k !== first)!;
    const model = app.app.get<AccessModel>(ACCESS_MODEL);
    await eventually(() => expect(model.signingKey(second)).toBeDefined());
    expect(decodeProtectedHeader((await call('POST', '/v1/tokens', { auth: key })).body.token).kid).toBe(first);
    const { payload } = await jwtVerify(oldToken, createLocalJWKSet(await jwks()), {
      issuer: 'tollgate',
      audience: 'tollgate',
    });
    expect(payload.src).toBeDefined();

    // The old key's last token has expired: retired, out of the JWKS, its private half deleted.
    expect(await runtime.signingKeys.maintain(activatedAt + 7 * DAY + H + 5 * 60_000)).toEqual(['SigningKeyRetired']);
    expect(await privateKids()).toEqual([second]);
    await eventually(async () => expect(await kids()).toEqual([second]), { timeoutMs: 10_000, intervalMs: 500 });
    const events = JSON.stringify(
      (await db.query(`SELECT data FROM keys.events WHERE stream_id = 'signing-keys'`)).rows,
    );
    expect(events).not.toMatch(/PRIVATE KEY|"d":/);
  });
});
