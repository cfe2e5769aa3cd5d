import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { connector, type IdentityTestApp, startIdentityApp } from '../../testing/identity-app';
import { GRAPH_PAGE_SIZE, type GraphServer, startGraphServer } from '../../testing/graph-server';
import { startTestIssuer, type TestIssuer } from '../../testing/oidc-issuer';

/**
 * Entra ID group overage against a local server that behaves like Microsoft Graph (pages linked by
 * `@odata.nextLink`, throttling with 429 + Retry-After) and a real OpenID provider for the ID tokens.
 */
describe('sign-in with Entra group overage (groups read from a Graph-compatible endpoint)', () => {
  let issuer: TestIssuer;
  let graph: GraphServer;
  let foreign: GraphServer;
  let app: IdentityTestApp;

  const now = () => Math.floor(Date.now() / 1000);
  /** An Entra-shaped overage ID token: no groups claim, a `_claim_names` pointer, the user's `oid`. */
  const overageToken = (oid: string, extra: Record<string, unknown> = {}) =>
    new SignJWT({
      sub: `pairwise-${oid}`,
      oid,
      _claim_names: { groups: 'src1' },
      // Never followed: Tollgate calls only the configured endpoint.
      _claim_sources: { src1: { endpoint: `${foreign.groupsEndpoint.replace('{userId}', oid)}` } },
      ...extra,
    })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.kid })
      .setIssuer(issuer.issuer)
      .setAudience(issuer.clientId)
      .setIssuedAt(now())
      .setExpirationTime(now() + 600)
      .sign(issuer.privateKey);
  const signIn = async (oid: string, extra: Record<string, unknown> = {}) =>
    app.call('POST', '/v1/idp/entra/sign-in', { body: { idToken: await overageToken(oid, extra) } });
  const eventCount = async () => Number((await app.sql(`SELECT count(*)::int AS n FROM identity.events`))[0].n);
  const groups = (n: number) => Array.from({ length: n }, (_, i) => `0b1f${String(i).padStart(4, '0')}-group-id`);

  beforeAll(async () => {
    issuer = await startTestIssuer();
    foreign = await startGraphServer();
    graph = await startGraphServer({ foreignOrigin: new URL(foreign.tokenEndpoint).origin });
    const base = connector('entra', {
      oidc: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, clientId: issuer.clientId },
    });
    app = await startIdentityApp({
      configure: (config) => ({
        ...config,
        idpConnectors: [
          {
            ...base,
            oidc: {
              ...base.oidc!,
              groupOverage: {
                tokenEndpoint: graph.tokenEndpoint,
                groupsEndpoint: graph.groupsEndpoint,
                clientId: graph.clientId,
                clientSecret: graph.clientSecret,
                scope: 'https://graph.microsoft.com/.default',
                userIdClaim: 'oid',
                securityEnabledOnly: false,
                timeoutMs: 500,
              },
            },
          },
        ],
      }),
    });
  });

  afterAll(async () => {
    await app?.close();
    await graph?.close();
    await foreign?.close();
    await issuer?.close();
  });

  beforeEach(() => {
    graph.requests.length = 0;
    foreign.requests.length = 0;
  });

  it('reads every page of the groups and replaces the user’s group set with them', async () => {
    const all = groups(GRAPH_PAGE_SIZE * 2 + 50);
    graph.setGroups('oid-many', all);
    const r = await signIn('oid-many');
    expect(r.status).toBe(200);
    expect(r.body.user.groups).toEqual(all);
    expect(graph.requests.filter((q) => q.includes('getMemberObjects'))).toEqual([
      'POST /v1.0/users/oid-many/getMemberObjects',
      'GET /v1.0/users/oid-many/getMemberObjects?$skiptoken=1',
      'GET /v1.0/users/oid-many/getMemberObjects?$skiptoken=2',
    ]);
    // The pointer inside the token was never followed.
    expect(foreign.requests).toEqual([]);
    const me = await app.call('GET', '/v1/me', { auth: r.body.token });
    expect(me.body.groups.map((g: { name: string }) => g.name)).toEqual(all);
  });

  it('reuses the client-credentials token until it expires', async () => {
    graph.setGroups('oid-cache', groups(3));
    const before = graph.tokensIssued();
    expect((await signIn('oid-cache')).status).toBe(200);
    expect((await signIn('oid-cache')).status).toBe(200);
    expect(graph.tokensIssued() - before).toBeLessThanOrEqual(1);
  });

  it('fetches a fresh access token once when Graph no longer accepts the cached one', async () => {
    graph.setGroups('oid-revoked', groups(2));
    expect((await signIn('oid-revoked')).status).toBe(200);
    const before = graph.tokensIssued();
    graph.misbehave('revoked-token');
    const r = await signIn('oid-revoked');
    expect(r.status).toBe(200);
    expect(r.body.user.groups).toEqual(groups(2));
    expect(graph.tokensIssued()).toBe(before + 1);
  });

  it("a throttled endpoint is 503 unavailable with the IdP's Retry-After, and writes nothing", async () => {
    graph.setGroups('oid-throttled', groups(5));
    const before = await eventCount();
    graph.misbehave('throttle');
    const r = await signIn('oid-throttled');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('unavailable');
    expect(r.headers.get('retry-after')).toBe('7');
    expect(await eventCount()).toBe(before);
    // The next attempt, once Graph answers again, signs in.
    expect((await signIn('oid-throttled')).status).toBe(200);
  });

  it.each([
    ['a redirect (never followed)', 'redirect' as const],
    ['a slow answer (cut at the timeout)', 'slow' as const],
    ['an oversized answer (size cap)', 'huge' as const],
  ])('%s is 503 unavailable with Retry-After, never a 500', async (_name, kind) => {
    graph.setGroups('oid-bad', groups(1));
    const before = await eventCount();
    graph.misbehave(kind);
    const r = await signIn('oid-bad');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('unavailable');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.text).not.toMatch(/\n\s+at /);
    expect(await eventCount()).toBe(before);
    expect(graph.requests).not.toContain('GET /elsewhere');
  });

  it('an @odata.nextLink to another origin is refused: Graph credentials never leave the endpoint', async () => {
    graph.setGroups('oid-link', groups(GRAPH_PAGE_SIZE + 1));
    graph.misbehave('foreign-link');
    const r = await signIn('oid-link');
    expect(r.status).toBe(503);
    expect(foreign.requests).toEqual([]);
  });

  it('an unreachable endpoint is 503 with Retry-After', async () => {
    const down = await startIdentityApp({
      configure: (config) => {
        const base = connector('entra', {
          oidc: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, clientId: issuer.clientId },
        });
        return {
          ...config,
          idpConnectors: [
            {
              ...base,
              oidc: {
                ...base.oidc!,
                groupOverage: {
                  tokenEndpoint: 'http://127.0.0.1:9/token',
                  groupsEndpoint: 'http://127.0.0.1:9/v1.0/users/{userId}/getMemberObjects',
                  clientSecret: 'x',
                  scope: 'https://graph.microsoft.com/.default',
                  userIdClaim: 'oid',
                  securityEnabledOnly: false,
                  timeoutMs: 500,
                },
              },
            },
          ],
        };
      },
    });
    try {
      const r = await down.call('POST', '/v1/idp/entra/sign-in', { body: { idToken: await overageToken('oid-x') } });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('unavailable');
      expect(r.headers.get('retry-after')).toBe('5');
    } finally {
      await down.close();
    }
  });

  it('an overage token without the user id claim is 401 token-invalid', async () => {
    const r = await signIn('oid-none', { oid: undefined });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('token-invalid');
  });

  it('never logs the client secret or a Graph access token', async () => {
    graph.setGroups('oid-log', groups(2));
    expect((await signIn('oid-log')).status).toBe(200);
    const logs = app.logLines().join('\n');
    expect(logs).not.toContain(graph.clientSecret);
    expect(logs).not.toContain('graph-access-token-');
  });
});
