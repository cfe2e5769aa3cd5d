import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { eventually } from '../../../../../test/support';
import { ADMIN_KEY, connector, type IdentityTestApp, startIdentityApp } from '../../testing/identity-app';
import { startTestIssuer, type TestIssuer } from '../../testing/oidc-issuer';
import { testRsaKey } from '../../../../../test/support/test-keys';

describe('OIDC sign-in against a real OpenID provider (oidc-provider on loopback)', () => {
  let issuer: TestIssuer;
  let app: IdentityTestApp;

  const signIn = (idToken: unknown, idp = 'corp') => app.call('POST', `/v1/idp/${idp}/sign-in`, { body: { idToken } });
  const eventCount = async () => Number((await app.sql(`SELECT count(*)::int AS n FROM identity.events`))[0].n);
  const now = () => Math.floor(Date.now() / 1000);

  /** A token signed with the provider's own key and kid, with claims of our choosing. */
  const forge = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({ sub: '00u-forged', groups: ['admins'], ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.kid, ...header })
      .setIssuer((claims.iss as string) ?? issuer.issuer)
      .setAudience((claims.aud as string) ?? issuer.clientId)
      .setIssuedAt((claims.iat as number) ?? now())
      .setExpirationTime((claims.exp as number) ?? now() + 600)
      .sign(issuer.privateKey);

  beforeAll(async () => {
    issuer = await startTestIssuer();
    app = await startIdentityApp({
      authz: true,
      configure: (config) => ({
        ...config,
        idpConnectors: [
          connector('corp', { oidc: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, clientId: issuer.clientId } }),
          connector('webhooks-only', { webhookSecrets: ['whsec_c29tZSB3ZWJob29rIHNlY3JldA=='] }),
          connector('down', {
            oidc: { issuer: 'http://127.0.0.1:9/down', jwksUri: 'http://127.0.0.1:9/jwks', clientId: 'tollgate' },
          }),
        ],
      }),
    });
  });

  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('creates the external user at first sign-in, replaces their groups, and returns a service token', async () => {
    issuer.account('00u1alice', { groups: ['ml-readers', 'eng'], email: 'alice@example.com' });
    const idToken = await issuer.idToken('00u1alice');
    const iat = decodeJwt(idToken).iat!;
    const r = await signIn(idToken);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      user: {
        id: expect.stringMatching(/^usr_/),
        name: 'corp:00u1alice',
        kind: 'external',
        groups: ['ml-readers', 'eng'],
      },
      token: expect.any(String),
      expiresAt: expect.stringMatching(/Z$/),
    });
    const header = decodeProtectedHeader(r.body.token);
    expect(header.alg).toBe('EdDSA');
    const claims = decodeJwt(r.body.token);
    expect(claims).toMatchObject({
      iss: 'tollgate',
      aud: 'tollgate',
      sub: r.body.user.id,
      scope: 'any',
      src: 'sign-in',
    });
    expect(claims.exp! - claims.iat!).toBe(3600);

    const events = await app.sql(
      `SELECT type, data, metadata FROM identity.events WHERE stream_id = $1 ORDER BY stream_version`,
      [`user-${r.body.user.id}`],
    );
    expect(events.map((e) => e.type)).toEqual(['UserCreated', 'GroupsRefreshed']);
    expect(events[0].data).toMatchObject({
      name: 'corp:00u1alice',
      kind: 'external',
      idp: 'corp',
      externalSubject: '00u1alice',
      email: 'alice@example.com',
    });
    expect(events[1].data).toEqual({
      userId: r.body.user.id,
      groups: ['ml-readers', 'eng'],
      refreshedAt: new Date(iat * 1000).toISOString(),
    });
    for (const e of events) expect(e.metadata).toMatchObject({ actor: 'idp:corp', channel: 'oidc' });
  });

  it('a later sign-in links to the same user and replaces the group set', async () => {
    issuer.account('00u1bob', { groups: ['a', 'b'] });
    const first = await signIn(await issuer.idToken('00u1bob'));
    issuer.account('00u1bob', { groups: ['c'] });
    const second = await signIn(await issuer.idToken('00u1bob'));
    expect(second.status).toBe(200);
    expect(second.body.user).toEqual({ ...first.body.user, groups: ['c'] });
  });

  it('concurrent first sign-ins of one subject make one user', async () => {
    issuer.account('00u1race', { groups: ['g'] });
    const tokens = await Promise.all(Array.from({ length: 4 }, () => issuer.idToken('00u1race')));
    const results = await Promise.all(tokens.map((t) => signIn(t)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.body.user.id)).size).toBe(1);
    const users = await app.sql(
      `SELECT count(*)::int AS n FROM identity.events WHERE type = 'UserCreated' AND data->>'externalSubject' = '00u1race'`,
    );
    expect(users[0].n).toBe(1);
  });

  it('the sign-in token works on the management API (GET /v1/me) with groups and their refresh time', async () => {
    issuer.account('00u1me', { groups: ['ml-readers'] });
    const idToken = await issuer.idToken('00u1me');
    const { body } = await signIn(idToken);
    const me = await eventually(async () => {
      const r = await app.call('GET', '/v1/me', { auth: body.token });
      expect(r.status).toBe(200);
      return r;
    });
    expect(me.body).toMatchObject({
      id: body.user.id,
      name: 'corp:00u1me',
      kind: 'external',
      admin: false,
      groups: [{ name: 'ml-readers', refreshedAt: new Date(decodeJwt(idToken).iat! * 1000).toISOString() }],
    });
  });

  it('the sign-in token works on the authorizer: a granted group is allowed, a deactivated user is denied', async () => {
    const project = (await app.call('POST', '/v1/projects', { auth: ADMIN_KEY, body: { name: 'granted' } })).body.id;
    const dep = (
      await app.call('POST', '/v1/deployments', {
        auth: ADMIN_KEY,
        body: { projectId: project, name: 'for-readers', grantedGroups: ['ml-readers'] },
      })
    ).body;
    issuer.account('00u1inv', { groups: ['ml-readers'] });
    const { body } = await signIn(await issuer.idToken('00u1inv'));
    const authorize = () =>
      app.call('POST', '/v1/authorize', { body: { deployment: dep.id, authorization: `Bearer ${body.token}` } });
    await eventually(async () =>
      expect((await authorize()).body).toMatchObject({ allowed: true, reason: 'group-granted', subject: body.user.id }),
    );
    // /v1/me lists what the user may invoke now.
    await eventually(async () => {
      const me = await app.call('GET', '/v1/me', { auth: body.token });
      expect(me.body.deployments).toContainEqual({
        id: dep.id,
        name: 'for-readers',
        projectId: project,
        hosts: [],
        pathPrefixes: ['/'],
      });
    });
    expect((await app.call('DELETE', `/v1/users/${body.user.id}`, { auth: ADMIN_KEY })).status).toBe(200);
    await eventually(async () =>
      expect((await authorize()).body).toMatchObject({ allowed: false, status: 403, reason: 'user-deactivated' }),
    );
    // And a deactivated user cannot sign in again.
    const again = await signIn(await issuer.idToken('00u1inv'));
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('forbidden');
  });

  describe('refuses bad ID tokens with a 401 and changes nothing', () => {
    it.each([
      ['an unknown issuer', async () => forge({ iss: 'https://evil.example.com' }), 'issuer-untrusted'],
      ['an expired token', async () => forge({ iat: now() - 7200, exp: now() - 3600 }), 'token-expired'],
      ['a wrong audience', async () => forge({ aud: 'someone-else' }), 'audience-mismatch'],
      [
        'alg none',
        async () => {
          const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
          return `${enc({ alg: 'none', kid: issuer.kid })}.${enc({ iss: issuer.issuer, aud: issuer.clientId, sub: 'x', iat: now(), exp: now() + 60 })}.`;
        },
        'token-invalid',
      ],
      [
        'HS256 with the public key as secret',
        async () =>
          new SignJWT({ sub: 'x' })
            .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
            .setIssuer(issuer.issuer)
            .setAudience(issuer.clientId)
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign(new TextEncoder().encode('public key material')),
        'token-invalid',
      ],
      [
        'a signature by another key under the real kid',
        async () => {
          const privateKey = testRsaKey();
          return new SignJWT({ sub: 'x' })
            .setProtectedHeader({ alg: 'RS256', kid: issuer.kid })
            .setIssuer(issuer.issuer)
            .setAudience(issuer.clientId)
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign(privateKey);
        },
        'token-invalid',
      ],
      ['an embedded jwk header', async () => forge({}, { jwk: { kty: 'RSA', n: 'x', e: 'AQAB' } }), 'token-invalid'],
      ['an unknown kid', async () => forge({}, { kid: 'no-such-kid' }), 'token-invalid'],
      ['not a JWT', async () => 'definitely.not.a-jwt!', 'token-invalid'],
    ])('%s', async (_what, make, code) => {
      const before = await eventCount();
      const r = await signIn(await make());
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe(code);
      expect(r.text).not.toContain('stack');
      expect(await eventCount()).toBe(before);
    });
  });

  it('an unknown connector, or one without OIDC, is 404', async () => {
    const token = await forge({});
    expect((await signIn(token, 'nope')).status).toBe(404);
    expect((await signIn(token, 'webhooks-only')).status).toBe(404);
    expect((await signIn(token, 'bad id!')).status).toBe(404);
  });

  it('a malformed body is 400 naming the field', async () => {
    for (const body of [{}, { idToken: 42 }, { idToken: 'x', extra: true }]) {
      const r = await app.call('POST', '/v1/idp/corp/sign-in', { body });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation-failed');
    }
    const notJson = await app.call('POST', '/v1/idp/corp/sign-in', {
      raw: '{"idToken":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('malformed-json');
  });

  it("Entra's group overage (_claim_names / hasgroups) is a clear 422 group-overage-unsupported", async () => {
    const before = await eventCount();
    const overage = await forge({
      sub: '00u-overage',
      groups: undefined,
      _claim_names: { groups: 'src1' },
      _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/x/getMemberObjects' } },
    });
    const r = await signIn(overage);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('group-overage-unsupported');
    const hasgroups = await signIn(await forge({ sub: '00u-overage', groups: undefined, hasgroups: true }));
    expect(hasgroups.status).toBe(422);
    expect(await eventCount()).toBe(before);
  });

  it('fails closed when the issuer JWKS cannot be fetched', async () => {
    const token = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .setIssuer('http://127.0.0.1:9/down')
      .setAudience('tollgate')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(issuer.privateKey);
    const r = await signIn(token, 'down');
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('token-invalid');
  });

  it('never logs an ID token or a service token', async () => {
    issuer.account('00u1log', { groups: [] });
    const idToken = await issuer.idToken('00u1log');
    const { body } = await signIn(idToken);
    const logs = app.logLines().join('\n');
    expect(logs).not.toContain(idToken);
    expect(logs).not.toContain(body.token);
  });
});
