import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { testRsaKey } from '../../../../test/support/test-keys';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider (oidc-provider) on a loopback port, for the sign-in specs. `idToken(sub)` runs the
 * authorization code flow end to end (authorization request, login and consent interactions, token
 * request) and returns the ID token it issued, with the account's `groups` claim.
 */
export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  clientId: string;
  clientSecret: string;
  /** The provider's RS256 signing key (to forge tokens in the negative specs) and its kid. */
  privateKey: KeyObject;
  kid: string;
  /** Sets an account's claims (groups, email…) for the next ID tokens. */
  account(sub: string, claims: Record<string, unknown>): void;
  idToken(sub: string): Promise<string>;
  /**
   * Plays the browser at the provider from `authorizationUrl` (login as `sub`, consent) until it redirects to
   * a URL starting with `stopAt`, and returns that URL (the relying party's callback with code and state).
   */
  authorize(authorizationUrl: string, sub: string, stopAt: string): Promise<URL>;
  /** JWKS requests served so far. */
  jwksRequests(): number;
  close(): Promise<void>;
}

type Jar = Map<string, string>;

function remember(jar: Jar, response: Response): void {
  for (const cookie of response.headers.getSetCookie()) {
    const [pair] = cookie.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(name);
    else jar.set(name, value);
  }
}

const cookieHeader = (jar: Jar): string => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

export async function startTestIssuer(
  options: { clientId?: string; groupsClaim?: string; redirectUris?: string[] } = {},
): Promise<TestIssuer> {
  const clientId = options.clientId ?? 'tollgate';
  const clientSecret = randomBytes(16).toString('hex');
  const redirectUri = 'http://127.0.0.1/callback';
  const groupsClaim = options.groupsClaim ?? 'groups';
  // A fixed test key: generating RSA keys at test time can hang Node 20 (RECIPES.md).
  const privateKey = testRsaKey();
  const kid = `test-${randomBytes(4).toString('hex')}`;
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
  const accounts = new Map<string, Record<string, unknown>>();
  let jwksRequests = 0;

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // The provider warns on construction about its development-only defaults (memory adapter, dev interactions).
  /* eslint-disable no-console */
  const warn = console.warn;
  console.warn = () => undefined;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri, ...(options.redirectUris ?? [])],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        id_token_signed_response_alg: 'RS256',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email'], groups: [groupsClaim] },
    // The groups claim goes into the ID token itself (as IdPs configured for sign-in do).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    async findAccount(_ctx: unknown, sub: string) {
      return { accountId: sub, claims: () => ({ sub, ...(accounts.get(sub) ?? {}) }) };
    },
  });
  console.warn = warn;
  /* eslint-enable no-console */
  provider.on('server_error', () => undefined);
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/jwks')) jwksRequests += 1;
    callback(req, res);
  });

  /** Follows redirects by hand (cookies kept) until the callback URL, returning it. */
  async function follow(jar: Jar, url: string, stopAt = redirectUri): Promise<URL> {
    let next = url;
    let request: RequestInit = {};
    for (let hop = 0; hop < 20; hop++) {
      if (next.startsWith(stopAt)) return new URL(next);
      const response = await fetch(next, {
        ...request,
        redirect: 'manual',
        headers: { ...(request.headers as Record<string, string>), cookie: cookieHeader(jar) },
      });
      remember(jar, response);
      const location = response.headers.get('location');
      if (location) {
        next = new URL(location, next).toString();
        request = {};
        await response.arrayBuffer();
        continue;
      }
      const html = await response.text();
      // A dev interaction page: submit its form (login, then consent).
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      if (!action)
        throw new Error(`unexpected page from the OpenID provider (${response.status}): ${html.slice(0, 300)}`);
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1] ?? 'login';
      const form = new URLSearchParams({ prompt });
      if (prompt === 'login') {
        form.set('login', (request as { sub?: string }).sub ?? currentSub);
        form.set('password', 'any');
      }
      next = new URL(action.replace(/&amp;/g, '&'), next).toString();
      request = {
        method: 'POST',
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      };
    }
    throw new Error('too many redirects');
  }

  let currentSub = '';
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    clientId,
    clientSecret,
    privateKey,
    kid,
    account(sub, claims) {
      accounts.set(sub, claims);
    },
    async idToken(sub) {
      currentSub = sub;
      const jar: Jar = new Map();
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const auth = new URL(`${issuer}/auth`);
      auth.search = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        scope: 'openid email groups',
        redirect_uri: redirectUri,
        state: randomBytes(8).toString('hex'),
        nonce: randomBytes(8).toString('hex'),
        code_challenge: challenge,
        code_challenge_method: 'S256',
        prompt: 'login consent',
      }).toString();
      const callbackUrl = await follow(jar, auth.toString());
      const code = callbackUrl.searchParams.get('code');
      if (!code) throw new Error(`no code in ${callbackUrl.toString()}`);
      const token = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        }).toString(),
      });
      const body = (await token.json()) as { id_token?: string; error?: string; error_description?: string };
      if (!body.id_token) throw new Error(`token endpoint: ${body.error}: ${body.error_description}`);
      return body.id_token;
    },
    async authorize(authorizationUrl, sub, stopAt) {
      currentSub = sub;
      return follow(new Map(), authorizationUrl, stopAt);
    },
    jwksRequests: () => jwksRequests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
