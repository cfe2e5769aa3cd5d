import type { ConsoleSignInConfig } from '@tollgate/config';

/**
 * The two calls Tollgate makes to an IdP for a console sign-in: discovery (once, when the endpoints are not
 * configured) and the token request that redeems an authorization code with its PKCE verifier. No redirect
 * is followed and each call is bounded in time.
 */
export interface OidcEndpoints {
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

export class OidcClientError extends Error {}

const TIMEOUT_MS = 10_000;

const isHttpUrl = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

export class OidcClient {
  private discovered: Promise<OidcEndpoints> | undefined;

  constructor(
    private readonly issuer: string,
    private readonly clientId: string,
    private readonly config: ConsoleSignInConfig,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  endpoints(): Promise<OidcEndpoints> {
    const { authorizationEndpoint, tokenEndpoint } = this.config;
    if (authorizationEndpoint && tokenEndpoint) return Promise.resolve({ authorizationEndpoint, tokenEndpoint });
    // A failed discovery is tried again at the next sign-in, not remembered.
    this.discovered ??= this.discover().catch((err: unknown) => {
      this.discovered = undefined;
      throw err;
    });
    return this.discovered;
  }

  /** The URL the browser is sent to. */
  async authorizationUrl(params: { state: string; nonce: string; codeChallenge: string }): Promise<string> {
    const url = new URL((await this.endpoints()).authorizationEndpoint);
    const query = {
      response_type: 'code',
      client_id: this.clientId,
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes.join(' '),
      state: params.state,
      nonce: params.nonce,
      code_challenge: params.codeChallenge,
      code_challenge_method: 'S256',
    };
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url.toString();
  }

  /** Redeems `code`; returns the ID token (verified by the caller, like any sign-in's). */
  async redeem(code: string, codeVerifier: string): Promise<string> {
    const { tokenEndpoint } = await this.endpoints();
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.config.redirectUri,
      code_verifier: codeVerifier,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.config.clientSecret !== undefined) {
      // client_secret_basic (RFC 6749 2.3.1): both parts form-urlencoded first.
      const basic = `${encodeURIComponent(this.clientId)}:${encodeURIComponent(this.config.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    } else {
      body.set('client_id', this.clientId);
    }
    const response = await this.call(tokenEndpoint, { method: 'POST', headers, body: body.toString() });
    const answer = (await response.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
    if (!response.ok || typeof answer.id_token !== 'string') {
      throw new OidcClientError(
        `token endpoint answered ${response.status}${typeof answer.error === 'string' ? ` ${answer.error}` : ''}`,
      );
    }
    return answer.id_token;
  }

  private async discover(): Promise<OidcEndpoints> {
    const url = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await this.call(url, { headers: { accept: 'application/json' } });
    const doc = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok || !isHttpUrl(doc.authorization_endpoint) || !isHttpUrl(doc.token_endpoint)) {
      throw new OidcClientError(`discovery at ${url} answered ${response.status} without both endpoints`);
    }
    return { authorizationEndpoint: doc.authorization_endpoint, tokenEndpoint: doc.token_endpoint };
  }

  private async call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw new OidcClientError(`${url} unreachable: ${(err as Error).message}`);
    }
  }
}
