import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '../../../../../test/support';
import { connector, type IdentityTestApp, startIdentityApp } from '../../testing/identity-app';
import { startTestIssuer, type TestIssuer } from '../../testing/oidc-issuer';
import { decodeBinding, encodeBinding } from './browser-binding';
import { LOGIN_COOKIE, SESSION_COOKIE } from './console-sign-in';

// The redirect URI registered at the IdP. The test plays the browser, so it need not be where the app listens:
// it only has to be the same in the authorization and token requests.
const REDIRECT_URI = 'http://console.test/v1/idp/corp/console/callback';

/** The `name=value` of a Set-Cookie, and its attributes. */
function cookieOf(response: Response, name: string): { value: string; attributes: string } | undefined {
  const line = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!line) return undefined;
  const [pair, ...rest] = line.split(';');
  return { value: pair!.slice(name.length + 1), attributes: rest.join(';').trim() };
}

describe('console sign-in with an IdP connector: OIDC authorization code + PKCE (issue 15)', () => {
  let issuer: TestIssuer;
  let app: IdentityTestApp;

  const get = (path: string, cookie?: string) =>
    fetch(`${app.url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });

  /** Starts a sign-in: the IdP URL and the browser-binding cookie. */
  async function start(path = '/v1/idp/corp/console/login') {
    const res = await get(path);
    expect(res.status).toBe(302);
    return { authorize: res.headers.get('location')!, login: cookieOf(res, LOGIN_COOKIE)!, res };
  }

  /** A whole sign-in up to the IdP's redirect back: the callback path+query on the app, and the login cookie. */
  async function atCallback(sub: string) {
    const { authorize, login } = await start();
    const back = await issuer.authorize(authorize, sub, REDIRECT_URI);
    return { callback: `${back.pathname}${back.search}`, login, back };
  }

  beforeAll(async () => {
    issuer = await startTestIssuer({ redirectUris: [REDIRECT_URI] });
    app = await startIdentityApp({
      configure: (config) => {
        const corp = connector('corp', {
          oidc: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, clientId: issuer.clientId },
        });
        const consoleless = connector('api-only', {
          oidc: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, clientId: issuer.clientId },
        });
        const down = connector('down', {
          oidc: { issuer: 'http://127.0.0.1:9/down', jwksUri: 'http://127.0.0.1:9/jwks', clientId: 'tollgate' },
        });
        return {
          ...config,
          idpConnectors: [
            {
              ...corp,
              // Endpoints from the issuer's discovery document; a confidential client.
              oidc: {
                ...corp.oidc!,
                console: {
                  redirectUri: REDIRECT_URI,
                  clientSecret: issuer.clientSecret,
                  scopes: ['openid', 'email', 'groups'],
                  name: 'Corp SSO',
                },
              },
            },
            consoleless,
            {
              ...down,
              oidc: {
                ...down.oidc!,
                console: { redirectUri: 'http://console.test/cb', scopes: ['openid'], clientSecret: undefined },
              },
            },
          ],
        };
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('lists the connectors that offer console sign-in, with their names', async () => {
    const res = await get('/v1/console/sign-in-options');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      idps: [
        { id: 'corp', name: 'Corp SSO' },
        { id: 'down', name: 'down' },
      ],
    });
  });

  it('sends the browser to the IdP with PKCE S256, state and nonce bound by an HttpOnly Secure SameSite=Lax cookie', async () => {
    const { authorize, login } = await start();
    const url = new URL(authorize);
    expect(url.origin).toBe(issuer.issuer);
    const params = Object.fromEntries(url.searchParams);
    expect(params).toEqual({
      response_type: 'code',
      client_id: issuer.clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'openid email groups',
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge_method: 'S256',
    });
    expect(authorize).not.toContain(issuer.clientSecret);
    expect(login.attributes).toBe('Path=/v1/idp/corp/console; Max-Age=600; HttpOnly; Secure; SameSite=Lax');
    const binding = decodeBinding(login.value, Date.now())!;
    expect(binding.state).toBe(params.state);
    expect(binding.nonce).toBe(params.nonce);
  });

  it('signs the user in through the real IdP: groups refreshed, a service token handed over once to the console', async () => {
    issuer.account('00u-console', { groups: ['ml-readers'], email: 'c@example.com' });
    const { callback, login } = await atCallback('00u-console');
    const res = await get(callback, `${LOGIN_COOKIE}=${login.value}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/console/?signin=idp');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(cookieOf(res, LOGIN_COOKIE)).toEqual({
      value: '',
      attributes: 'Path=/v1/idp/corp/console; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
    });
    const session = cookieOf(res, SESSION_COOKIE)!;
    expect(session.attributes).toBe('Path=/v1/console/session; Max-Age=60; HttpOnly; Secure; SameSite=Strict');

    const pickUp = (headers: Record<string, string>) =>
      fetch(`${app.url}/v1/console/session`, { method: 'POST', headers });
    // A cross-site form can send the cookie's name but not a custom header: refused.
    const forged = await pickUp({ cookie: `${SESSION_COOKIE}=${session.value}` });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('forbidden');

    const picked = await pickUp({ cookie: `${SESSION_COOKIE}=${session.value}`, 'x-tollgate-console': '1' });
    expect(picked.status).toBe(200);
    expect(cookieOf(picked, SESSION_COOKIE)?.attributes).toContain('Max-Age=0');
    const { token } = (await picked.json()) as { token: string };
    const me = await eventually(async () => {
      const r = await app.call('GET', '/v1/me', { auth: token });
      expect(r.status).toBe(200);
      return r.body;
    });
    expect(me).toMatchObject({ name: 'corp:00u-console', kind: 'external', groups: [{ name: 'ml-readers' }] });

    // Without the cookie (the browser cleared it): nothing to pick up.
    const again = await pickUp({ 'x-tollgate-console': '1' });
    expect(again.status).toBe(401);
  });

  it('the session cookie is no credential on the API or the authorizer', async () => {
    issuer.account('00u-cookie', { groups: ['g'] });
    const { callback, login } = await atCallback('00u-cookie');
    const session = cookieOf(await get(callback, `${LOGIN_COOKIE}=${login.value}`), SESSION_COOKIE)!;
    const me = await fetch(`${app.url}/v1/me`, { headers: { cookie: `${SESSION_COOKIE}=${session.value}` } });
    expect(me.status).toBe(401);
  });

  it('refuses a callback whose state is not this browser’s (login CSRF), and one with no pending sign-in', async () => {
    issuer.account('00u-csrf', { groups: [] });
    const { callback, login } = await atCallback('00u-csrf');
    const tampered = callback.replace(/state=[^&]+/, `state=${'A'.repeat(43)}`);
    for (const [path, cookie] of [
      [tampered, `${LOGIN_COOKIE}=${login.value}`],
      [callback, undefined],
      [callback, `${LOGIN_COOKIE}=not-a-binding`],
    ] as const) {
      const res = await get(path, cookie);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/console/?signin-error=state-mismatch');
      expect(cookieOf(res, SESSION_COOKIE)).toBeUndefined();
    }
  });

  it('refuses an expired pending sign-in', async () => {
    const { login } = await start();
    const binding = decodeBinding(login.value, Date.now())!;
    const expired = encodeBinding({ ...binding, expiresAt: Date.now() - 1 });
    const res = await get(`/v1/idp/corp/console/callback?code=x&state=${binding.state}`, `${LOGIN_COOKIE}=${expired}`);
    expect(res.headers.get('location')).toBe('/console/?signin-error=state-mismatch');
  });

  it('a replayed callback (code already redeemed) signs nobody in', async () => {
    issuer.account('00u-replay', { groups: [] });
    const { callback, login } = await atCallback('00u-replay');
    const first = await get(callback, `${LOGIN_COOKIE}=${login.value}`);
    expect(first.headers.get('location')).toBe('/console/?signin=idp');
    // An attacker who captured both the URL and the cookie: the IdP refuses the spent code.
    const replay = await get(callback, `${LOGIN_COOKIE}=${login.value}`);
    expect(replay.headers.get('location')).toBe('/console/?signin-error=token-exchange-failed');
    expect(cookieOf(replay, SESSION_COOKIE)).toBeUndefined();
  });

  it('a wrong PKCE verifier fails at the IdP, a wrong nonce fails at Tollgate', async () => {
    issuer.account('00u-pkce', { groups: [] });
    const pkce = await atCallback('00u-pkce');
    const binding = decodeBinding(pkce.login.value, Date.now())!;
    const otherVerifier = encodeBinding({ ...binding, codeVerifier: 'B'.repeat(43) });
    const res = await get(pkce.callback, `${LOGIN_COOKIE}=${otherVerifier}`);
    expect(res.headers.get('location')).toBe('/console/?signin-error=token-exchange-failed');

    const nonce = await atCallback('00u-pkce');
    const b = decodeBinding(nonce.login.value, Date.now())!;
    const otherNonce = encodeBinding({ ...b, nonce: 'C'.repeat(43) });
    const refused = await get(nonce.callback, `${LOGIN_COOKIE}=${otherNonce}`);
    expect(refused.headers.get('location')).toBe('/console/?signin-error=sign-in-refused');
    expect(cookieOf(refused, SESSION_COOKIE)).toBeUndefined();
  });

  it('never redirects where a request says: only to the configured IdP or this origin’s console', async () => {
    const { authorize } = await start(
      '/v1/idp/corp/console/login?redirect_uri=https://evil.example&next=//evil.example',
    );
    expect(new URL(authorize).origin).toBe(issuer.issuer);
    expect(new URL(authorize).searchParams.get('redirect_uri')).toBe(REDIRECT_URI);
    issuer.account('00u-open', { groups: [] });
    const { callback, login } = await atCallback('00u-open');
    const res = await get(
      `${callback}&next=https://evil.example&redirect_uri=https://evil.example`,
      `${LOGIN_COOKIE}=${login.value}`,
    );
    expect(res.headers.get('location')).toBe('/console/?signin=idp');
  });

  it('an IdP error comes back in words; unknown connectors and connectors without console sign-in are 404', async () => {
    const { login } = await start();
    const binding = decodeBinding(login.value, Date.now())!;
    const denied = await get(
      `/v1/idp/corp/console/callback?error=access_denied&state=${binding.state}`,
      `${LOGIN_COOKIE}=${login.value}`,
    );
    expect(denied.headers.get('location')).toBe('/console/?signin-error=idp-refused');
    for (const path of [
      '/v1/idp/nope/console/login',
      '/v1/idp/api-only/console/login',
      '/v1/idp/api-only/console/callback?code=x&state=y',
      '/v1/idp/__proto__/console/login',
      '/v1/idp/a%2Fb/console/login',
    ]) {
      expect([path, (await get(path)).status]).toEqual([path, 404]);
    }
  });

  it('an unreachable IdP sends the browser back to the console with a reason', async () => {
    const res = await get('/v1/idp/down/console/login');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/console/?signin-error=idp-unavailable');
    expect(cookieOf(res, LOGIN_COOKIE)).toBeUndefined();
  });
});
