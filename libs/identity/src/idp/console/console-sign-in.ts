import { ApiError } from '@tollgate/contracts';
import type { Logger } from 'pino';
import type { ConnectorRegistry } from '../connectors';
import type { SignInService } from '../oidc/sign-in';
import { codeChallenge, decodeBinding, encodeBinding, LOGIN_TTL_MS, newBinding, sameSecret } from './browser-binding';
import { clearCookie, cookieValue, setCookie } from './cookies';
import { OidcClient } from './oidc-client';

export const LOGIN_COOKIE = 'tollgate_console_login';
export const SESSION_COOKIE = 'tollgate_console_session';
/** The only path the session cookie is ever sent to: it is not a credential anywhere else. */
export const SESSION_PATH = '/v1/console/session';
/** The console picks its session up right after the redirect: a minute is plenty. */
const SESSION_COOKIE_SECONDS = 60;

/** Why a console sign-in failed, as the callback tells the console (`/console/?signin-error=<code>`). */
export type ConsoleSignInError =
  'state-mismatch' | 'idp-refused' | 'idp-unavailable' | 'token-exchange-failed' | 'sign-in-refused';

/** A browser answer: where to go (always this origin's console or the configured IdP) and the cookies to set. */
export interface BrowserRedirect {
  location: string;
  cookies: string[];
}

const loginPath = (idp: string) => `/v1/idp/${idp}/console`;
const failed = (code: ConsoleSignInError) => `/console/?signin-error=${code}`;

/**
 * Sign-in to the web console through an IdP connector: OIDC authorization code flow with PKCE. `start`
 * sends the browser to the IdP with a fresh state, nonce and code verifier bound to it by an HttpOnly cookie;
 * `callback` checks the state against that cookie (then clears it: one use), redeems the code server-side,
 * checks the ID token's nonce, and signs the user in through the connector's ordinary sign-in (user linked or
 * created, groups refreshed); the resulting service token reaches the console once, through a short-lived
 * HttpOnly cookie that only `POST /v1/console/session` reads. Never a redirect to a URL a request chose.
 */
export class ConsoleSignIn {
  private readonly clients = new Map<string, OidcClient>();

  constructor(
    private readonly connectors: ConnectorRegistry,
    private readonly signIn: SignInService,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    fetchImpl: typeof fetch = fetch,
  ) {
    for (const connector of connectors.all()) {
      const oidc = connector.oidc;
      if (oidc?.config.console)
        this.clients.set(
          connector.id,
          new OidcClient(oidc.config.issuer, oidc.config.clientId, oidc.config.console, fetchImpl),
        );
    }
  }

  /** The connectors offering console sign-in, for the sign-in page. */
  options(): { idps: { id: string; name: string }[] } {
    return {
      idps: [...this.clients.keys()].map((id) => ({
        id,
        name: this.connectors.get(id)?.oidc?.config.console?.name ?? id,
      })),
    };
  }

  async start(idp: string): Promise<BrowserRedirect> {
    const client = this.clientOf(idp);
    const binding = newBinding(this.now());
    let location: string;
    try {
      location = await client.authorizationUrl({
        state: binding.state,
        nonce: binding.nonce,
        codeChallenge: codeChallenge(binding.codeVerifier),
      });
    } catch (err) {
      this.logger.warn({ idp, err: (err as Error).message }, 'console sign-in: IdP discovery failed');
      return { location: failed('idp-unavailable'), cookies: [] };
    }
    const cookie = setCookie(LOGIN_COOKIE, encodeBinding(binding), {
      path: loginPath(idp),
      maxAgeSeconds: LOGIN_TTL_MS / 1000,
      // Lax: the IdP's redirect back is a cross-site top-level navigation, which Strict would strip it from.
      sameSite: 'Lax',
    });
    return { location, cookies: [cookie] };
  }

  async callback(
    idp: string,
    query: Record<string, unknown>,
    cookieHeader: string | string[] | undefined,
    requestId: string,
  ): Promise<BrowserRedirect> {
    this.clientOf(idp);
    // One use: whatever happens next, this browser's pending sign-in is over.
    const cookies = [clearCookie(LOGIN_COOKIE, { path: loginPath(idp), sameSite: 'Lax' })];
    const fail = (code: ConsoleSignInError, detail: string): BrowserRedirect => {
      this.logger.info({ idp, requestId, reason: code, detail }, 'console sign-in refused');
      return { location: failed(code), cookies };
    };
    const binding = decodeBinding(cookieValue(cookieHeader, LOGIN_COOKIE), this.now());
    if (!binding) return fail('state-mismatch', 'no pending sign-in in this browser (cookie missing or expired)');
    if (!sameSecret(query.state, binding.state)) return fail('state-mismatch', 'state does not match');
    if (query.error !== undefined) return fail('idp-refused', `the IdP answered ${String(query.error).slice(0, 100)}`);
    const code = query.code;
    if (typeof code !== 'string' || code.length === 0 || code.length > 4096) return fail('idp-refused', 'no code');

    let idToken: string;
    try {
      idToken = await this.clientOf(idp).redeem(code, binding.codeVerifier);
    } catch (err) {
      return fail('token-exchange-failed', (err as Error).message);
    }
    const verified = await this.connectors.get(idp)!.oidc!.verifier.verify(idToken);
    if (!verified.ok) return fail('sign-in-refused', `${verified.reason}: ${verified.detail}`);
    if (!sameSecret(verified.token.claims.nonce, binding.nonce)) return fail('sign-in-refused', 'nonce does not match');
    try {
      const result = await this.signIn.signIn(idp, idToken, requestId);
      const session = setCookie(SESSION_COOKIE, result.token, {
        path: SESSION_PATH,
        maxAgeSeconds: SESSION_COOKIE_SECONDS,
        sameSite: 'Strict',
      });
      this.logger.info({ idp, requestId, userId: result.user.id }, 'console sign-in');
      return { location: '/console/?signin=idp', cookies: [...cookies, session] };
    } catch (err) {
      return fail('sign-in-refused', err instanceof ApiError ? err.code : (err as Error).message);
    }
  }

  /**
   * `POST /v1/console/session`: the service token of the sign-in that just finished in this browser, once.
   * The custom header is what a cross-site form or a simple request cannot send (CSRF).
   */
  pickUp(headers: Record<string, string | string[] | undefined>): { answer: { token: string }; cookies: string[] } {
    if (headers['x-tollgate-console'] !== '1')
      throw new ApiError('forbidden', 'the console session is picked up by the console only (X-Tollgate-Console: 1)');
    const token = cookieValue(headers.cookie, SESSION_COOKIE);
    if (!token || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token))
      throw new ApiError('unauthenticated', 'no console sign-in to pick up in this browser');
    return {
      answer: { token },
      cookies: [clearCookie(SESSION_COOKIE, { path: SESSION_PATH, sameSite: 'Strict' })],
    };
  }

  private clientOf(idp: string): OidcClient {
    const client = this.clients.get(idp);
    if (!client) throw new ApiError('not-found', `no IdP connector ${JSON.stringify(idp)} with console sign-in`);
    return client;
  }
}
