import { AccessModelModule, ACCESS_MODEL, type AccessModel } from '@tollgate/access-model';
import { generateKeyEncryptionKey } from '@tollgate/authn';
import { loadConfig } from '@tollgate/config';
import { IdentityModule } from '@tollgate/identity';
import { KEYS_RUNTIME, KeysModule, type KeysRuntime } from '@tollgate/keys';
import { decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { createTestDatabase, eventually, type TestDatabase } from '../../../test/support';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { type CliContext, runCli } from './cli';
import { EXIT } from './cli-errors';
import { createOutput } from './output';

// Issue 19 item 3, on real PostgreSQL: `tollgate keys rotate-signing` rotates the service-token signing key on
// demand. The new key is in the JWKS (and the access model) before it signs; the old one keeps verifying its
// tokens until the schedule retires it, and from then on those tokens are refused, even by a verifier that had
// cached their signature check.

const ADMIN = 'bootstrap-admin-credential-for-rotate-signing-tests-01';

describe('tollgate keys rotate-signing', () => {
  let database: TestDatabase;
  let app: TestApp;
  let runtime: KeysRuntime;
  let model: AccessModel;
  let pool: pg.Pool;
  let call: ReturnType<typeof httpClient>;
  const kek = generateKeyEncryptionKey();

  const cli = async (...args: string[]) => {
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
  /** The JWKS's service-token keys (it lists the identity service's sign-in keys too, after them). */
  const jwksKids = async () =>
    ((await call('GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys
      .map((k) => k.kid)
      .filter((kid) => !signInKids.has(kid));
  const signInKids = new Set<string>();
  const privateKids = async () =>
    (await pool.query('SELECT kid FROM keys.signing_keys ORDER BY kid')).rows.map((r) => r.kid as string).sort();
  const token = async (key: string) => {
    const r = await call('POST', '/v1/tokens', { auth: key });
    expect(r.status).toBe(201);
    return r.body.token as string;
  };
  const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    // Short token lifetime in the schedule, so that the old key's retirement comes within the test; the
    // maintenance timer is off: the test runs the schedule explicitly.
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx),
        KeysModule.forRoot(ctx, {
          signingKeySchedule: { firstKeyLeadMs: 300, tokenLifetimeMs: 1_500, retirementMarginMs: 0 },
          maintenanceIntervalMs: 3_600_000,
        }),
        IdentityModule.forRoot(ctx),
      ],
      {
        databaseUrl: database.url,
        env: {
          TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN,
          TOLLGATE_KEY_ENCRYPTION_KEY: kek,
          TOLLGATE_MAX_STALENESS_MS: '1000',
          GRPC_PORT: '0',
        },
      },
    );
    runtime = app.app.get<KeysRuntime>(KEYS_RUNTIME);
    model = app.app.get<AccessModel>(ACCESS_MODEL);
    call = httpClient(app.url);
  });

  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await database?.drop();
  });

  it('publishes the new key before it signs, keeps the old one for its tokens, then retires it and its tokens die', async () => {
    const management = (await call('POST', '/v1/keys', { auth: ADMIN, body: { name: 'ops', scope: 'management' } }))
      .body.key as string;
    const oldToken = await eventually(() => token(management));
    for (const row of (await pool.query(`SELECT kid FROM identity.signing_keys`)).rows) signInKids.add(row.kid);
    expect(signInKids.size).toBe(1);
    // The sign-in key is in the JWKS too (sign-in tokens are service tokens), learned from the identity log.
    await eventually(async () =>
      expect(
        ((await call('GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys.map((k) => k.kid),
      ).toEqual(expect.arrayContaining([...signInKids])),
    );
    const [first] = await jwksKids();
    expect(kidOf(oldToken)).toBe(first);

    // The CLI: a new key in the JWKS and in the access model at once, activating in 60 s; the old one signs.
    const rotated = await cli('keys', 'rotate-signing', '--signer', 'service', '--lead-seconds', '60', '--json');
    expect(rotated.err).toBe('');
    expect(rotated.code).toBe(EXIT.ok);
    const { signers } = JSON.parse(rotated.out);
    expect(signers).toHaveLength(1);
    const report = signers[0];
    expect(report).toMatchObject({ signer: 'service', published: true, previousKid: first, retired: [] });
    const second = report.kid as string;
    expect(Date.parse(report.activatesAt) - Date.now()).toBeGreaterThan(50_000);
    // The product's schedule (the CLI's): the old key's last token expires at most 1 h after it stops signing.
    expect(Date.parse(report.previousRetiresAfter) - Date.parse(report.activatesAt)).toBe(65 * 60_000);
    await eventually(async () => expect(await jwksKids()).toEqual([first, second]), { timeoutMs: 10_000 });
    await eventually(() => expect(model.signingKey(second)).toBeDefined());
    expect(await privateKids()).toEqual([first, second].sort());
    expect(kidOf(await token(management))).toBe(first);
    const events = await pool.query(
      `SELECT type, metadata FROM keys.events WHERE stream_id = 'signing-keys' ORDER BY stream_version`,
    );
    expect(events.rows.at(-1)).toMatchObject({ type: 'SigningKeyPublished', metadata: { channel: 'ops' } });
    expect(JSON.stringify(events.rows)).not.toMatch(/PRIVATE KEY/);

    // Again at once: the successor already activates sooner than asked; nothing is written.
    const again = await cli('keys', 'rotate-signing', '--signer', 'service');
    expect(again.code).toBe(EXIT.ok);
    expect(again.out).toContain(`service-token: a successor is already published: ${second}`);
    expect(
      (await pool.query(`SELECT count(*)::int AS n FROM keys.events WHERE stream_id = 'signing-keys'`)).rows[0].n,
    ).toBe(events.rows.length);

    // A lead below what verifiers need is a usage error.
    expect((await cli('keys', 'rotate-signing', '--lead-seconds', '5')).code).toBe(EXIT.usage);

    // Now with the schedule's shortest lead (the running service, as the CLI does): the pending `second` never
    // signed, so it is retired unused; `third` signs a moment later.
    const now = await runtime.signingKeys.rotate(0);
    expect(now.retired).toEqual([second]);
    const third = now.kid!;
    await eventually(async () => expect(kidOf(await token(management))).toBe(third));
    expect(await privateKids()).toEqual([first, third].sort());

    // The old key's token still works on the management API while the old key is published…
    const asCaller = (jwt: string) => call('GET', '/v1/keys', { auth: jwt });
    expect((await asCaller(oldToken)).status).toBe(200);
    // …until its last token has expired by the schedule (1.5 s here): retired, private half deleted.
    await eventually(async () => expect(await runtime.signingKeys.maintain()).toEqual(['SigningKeyRetired']));
    expect(await privateKids()).toEqual([third]);
    await eventually(async () => expect(await jwksKids()).toEqual([third]), { timeoutMs: 10_000 });
    // The token signed by the retired key is refused (it was verified and cached before), a new one works.
    await eventually(async () => expect((await asCaller(oldToken)).status).toBe(401));
    expect((await asCaller(await token(management))).status).toBe(200);
  });
});
