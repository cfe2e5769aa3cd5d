import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ACCESS_MODEL, type AccessModel } from '@tollgate/access-model';
import { loadServiceSigningKey, ServiceTokenSigner, SIGN_IN_SOURCE } from '@tollgate/authn';
import { loadConfig } from '@tollgate/config';
import { IDENTITY_RUNTIME, type IdentityRuntime } from '@tollgate/identity';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { eventually } from '../../../test/support';
import { TEST_KEY_ENCRYPTION_KEY } from '../../../test/support/test-app';
import { ADMIN_KEY, connector, type IdentityTestApp, startIdentityApp } from '../../identity/src/testing/identity-app';
import { startTestIssuer, type TestIssuer } from '../../identity/src/testing/oidc-issuer';
import { type CliContext, runCli } from './cli';
import { EXIT } from './cli-errors';
import { createOutput } from './output';

// Issue 19 item 3, on real PostgreSQL and Kafka: the identity service's sign-in key rotates like the keys
// service's service-token key. A successor is on the identity log (authorizers, the keys service's JWKS)
// before it signs; a token of the old key keeps working at the authorizer during the overlap; once the
// schedule retires the old key, its tokens are refused; `tollgate keys rotate-signing --signer sign-in`
// rotates it on demand. Short schedule through the module's options: tokens live 30 s, the first-key lead
// is the default 2 × the 1 s staleness bound, the maintenance timer is off (the test runs the schedule).

// 30 s, not less: under CI load the authorizer may answer 503 stale for seconds, and a token that expires
// meanwhile would fail the overlap checks for the wrong reason.
const TOKEN_LIFETIME_MS = 30_000;

describe('sign-in signing key rotation', () => {
  let issuer: TestIssuer;
  let app: IdentityTestApp;
  let identity: IdentityRuntime;
  let model: AccessModel;
  let deployment: string;

  const signIn = async () => {
    const r = await app.call('POST', '/v1/idp/corp/sign-in', { body: { idToken: await issuer.idToken('00u1rot') } });
    expect(r.status).toBe(200);
    return { token: r.body.token as string, userId: r.body.user.id as string };
  };
  const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid as string;
  const authorize = async (jwt: string) =>
    (await app.call('POST', '/v1/authorize', { body: { deployment, authorization: `Bearer ${jwt}` } })).body as {
      allowed: boolean;
      status: number;
      reason: string;
    };
  const decisionIs = (jwt: string, expected: Record<string, unknown>) =>
    eventually(async () => expect(await authorize(jwt)).toMatchObject(expected));
  const jwksKids = async () =>
    ((await app.call('GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const streamEvents = async () =>
    app.sql(
      `SELECT type, data, metadata FROM identity.events WHERE stream_id = 'identity-signing-keys' ORDER BY stream_version`,
    );
  const privateKids = async () =>
    (await app.sql('SELECT kid, private_key_sealed FROM identity.signing_keys')).map((r) => {
      expect(r.private_key_sealed).not.toMatch(/PRIVATE KEY/);
      return r.kid as string;
    });

  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const context = (json: boolean): CliContext => ({
      config: loadConfig({
        DATABASE_URL: app.context.databaseUrl,
        TOLLGATE_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY,
      }),
      out: createOutput(json, (t) => void out.push(t)),
      database: async () => app.context.databaseUrl,
      readStdin: async () => '',
    });
    const code = await runCli(args, context, (t) => void err.push(t));
    return { code, out: out.join(''), err: err.join('') };
  };

  beforeAll(async () => {
    issuer = await startTestIssuer();
    issuer.account('00u1rot', { groups: ['ml'] });
    app = await startIdentityApp({
      authz: true,
      kafka: true,
      identity: {
        signingKeySchedule: { tokenLifetimeMs: TOKEN_LIFETIME_MS, retirementMarginMs: 0 },
        maintenanceIntervalMs: 3_600_000,
        signerRefreshMs: 100,
      },
      configure: (config) => ({
        ...config,
        idpConnectors: [
          connector('corp', { oidc: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, clientId: issuer.clientId } }),
        ],
      }),
    });
    identity = app.app.get<IdentityRuntime>(IDENTITY_RUNTIME);
    model = app.app.get<AccessModel>(ACCESS_MODEL);
    const project = (await app.call('POST', '/v1/projects', { auth: ADMIN_KEY, body: { name: 'rotation' } })).body.id;
    deployment = (
      await app.call('POST', '/v1/deployments', {
        auth: ADMIN_KEY,
        body: { projectId: project, name: 'granted-to-ml', grantedGroups: ['ml'] },
      })
    ).body.id;
  });

  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('publishes the successor before it signs, keeps the old key for its tokens, then retires it and refuses them', async () => {
    const before = await signIn();
    const first = kidOf(before.token);
    const claims = decodeJwt(before.token);
    expect(claims.exp! - claims.iat!).toBe(TOKEN_LIFETIME_MS / 1000);
    await decisionIs(before.token, { allowed: true });
    // A token of the old key that outlives its key (as a token signed just before the switch, on a slower
    // clock, could): only retirement refuses it, not its `exp`.
    const pem = await identity.store.signingKeys.get(first);
    const { token: longLived } = await new ServiceTokenSigner(loadServiceSigningKey(pem!, first)).sign({
      subject: before.userId,
      scope: 'any',
      source: SIGN_IN_SOURCE,
      expiresInSeconds: 600,
    });

    // Rotation with the shortest lead (the first-key lead, 2 s): the successor is on the identity log, in the
    // authorizer's model and in the JWKS while the old key still signs.
    const rotated = await identity.signingKeys.rotate(0);
    expect(rotated).toMatchObject({ published: true, retired: [] });
    const second = rotated.kid!;
    const activatesAt = Date.parse(rotated.activatesAt!);
    await eventually(() => expect(model.signingKey(second)).toBeDefined());
    await eventually(async () => expect(await jwksKids()).toEqual(expect.arrayContaining([first, second])));
    const stillOld = await signIn();
    if (Date.now() < activatesAt - 200) expect(kidOf(stillOld.token)).toBe(first);
    const published = (await streamEvents()).find((e) => e.data.kid === second)!;
    expect(published).toMatchObject({ type: 'SigningKeyPublished', data: { activatesAt: rotated.activatesAt } });
    expect(JSON.stringify(await streamEvents())).not.toMatch(/PRIVATE KEY|"d":/);
    expect((await privateKids()).sort()).toEqual([first, second].sort());

    // From its activation on, sign-in signs with the successor; the old key's tokens still work (overlap).
    const after = await eventually(async () => {
      const signed = await signIn();
      expect(kidOf(signed.token)).toBe(second);
      return signed;
    });
    expect(Date.now()).toBeGreaterThanOrEqual(activatesAt);
    // (eventually: on a busy machine the authorizer may briefly answer 503 authorizer-stale)
    await decisionIs(after.token, { allowed: true });
    await decisionIs(before.token, { allowed: true });
    await decisionIs(longLived, { allowed: true });

    // The schedule retires the old key once its last token has expired (activation + the token lifetime here): an event on
    // the identity log, its private half deleted, out of the JWKS, and its tokens refused at the authorizer.
    expect(await identity.signingKeys.maintain()).toEqual([]);
    await eventually(async () => expect(await identity.signingKeys.maintain()).toEqual(['SigningKeyRetired']), {
      timeoutMs: TOKEN_LIFETIME_MS + 10_000,
    });
    expect(Date.now()).toBeGreaterThanOrEqual(activatesAt + TOKEN_LIFETIME_MS);
    expect((await streamEvents()).at(-1)).toMatchObject({ type: 'SigningKeyRetired', data: { kid: first } });
    expect(await privateKids()).toEqual([second]);
    await decisionIs(longLived, { allowed: false, status: 401, reason: 'token-invalid' });
    await decisionIs(before.token, { allowed: false, status: 401 });
    expect(await jwksKids()).not.toContain(first);
    await decisionIs((await signIn()).token, { allowed: true });
  }, 120_000);

  it('tollgate keys rotate-signing --signer sign-in rotates the sign-in key only, and names it in its report', async () => {
    const current = kidOf((await signIn()).token);
    const keysEvents = async () =>
      Number((await app.sql(`SELECT count(*)::int AS n FROM keys.events WHERE stream_id = 'signing-keys'`))[0].n);
    const serviceEventsBefore = await keysEvents();

    expect((await cli('keys', 'rotate-signing', '--signer', 'bogus')).code).toBe(EXIT.usage);
    const rotated = await cli('keys', 'rotate-signing', '--signer', 'sign-in', '--lead-seconds', '60', '--json');
    expect(rotated.err).toBe('');
    expect(rotated.code).toBe(EXIT.ok);
    const report = JSON.parse(rotated.out) as { signers: Record<string, unknown>[] };
    expect(report.signers).toEqual([
      {
        signer: 'sign-in',
        published: true,
        kid: expect.any(String),
        activatesAt: expect.any(String),
        previousKid: current,
        previousRetiresAfter: expect.any(String),
        retired: [],
      },
    ]);
    const next = report.signers[0]!.kid as string;
    expect(Date.parse(report.signers[0]!.activatesAt as string) - Date.now()).toBeGreaterThan(50_000);
    // On the identity log (channel ops), to every authorizer and the JWKS, a minute before it signs.
    expect((await streamEvents()).at(-1)).toMatchObject({
      type: 'SigningKeyPublished',
      data: { kid: next },
      metadata: { channel: 'ops' },
    });
    await eventually(() => expect(model.signingKey(next)).toBeDefined());
    await eventually(async () => expect(await jwksKids()).toContain(next));
    expect((await privateKids()).sort()).toEqual([current, next].sort());
    expect(kidOf((await signIn()).token)).toBe(current);
    expect(await keysEvents()).toBe(serviceEventsBefore);

    // Again at once, both signers: the sign-in successor is already due sooner; the service key rotates.
    const both = await cli('keys', 'rotate-signing');
    expect(both.code).toBe(EXIT.ok);
    expect(both.out).toContain('service-token: published signing key');
    expect(both.out).toContain(`sign-in: a successor is already published: ${next}`);
    expect(await keysEvents()).toBe(serviceEventsBefore + 1);
  });
});
