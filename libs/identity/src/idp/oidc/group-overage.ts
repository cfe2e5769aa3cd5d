import { ApiError } from '@tollgate/contracts';
import type { GroupOverageConfig } from '@tollgate/config';

/**
 * Entra ID group overage. A user in more groups than fit in a token (200 for JWTs) gets an ID token
 * without the groups claim and a `_claim_names`/`_claim_sources` pointer instead (or `hasgroups: true`).
 * The groups are then read from the connector's configured Graph-compatible endpoint
 * (`getMemberObjects`) with a client-credentials token from the IdP's token endpoint.
 *
 * The pointer inside the token is never followed: only the configured URL is called, with no redirects,
 * a timeout per call, a size cap per answer and a cap on pages, and `@odata.nextLink` only on the
 * configured endpoint's origin, so a token cannot make Tollgate send its Graph credentials elsewhere.
 * Anything that keeps the groups from being read is 503 `unavailable` with `Retry-After` (the IdP's own
 * when it throttles): a sign-in never proceeds on a partial or unknown group set.
 */
export class GroupOverageClient {
  private accessToken: { value: string; expiresAt: number } | undefined;

  constructor(
    private readonly config: ResolvedGroupOverageConfig,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user's groups (as the endpoint names them: ids for getMemberObjects), in the endpoint's order. */
  async groupsOf(claims: Readonly<Record<string, unknown>>): Promise<string[]> {
    const userId = claims[this.config.userIdClaim];
    if (typeof userId !== 'string' || !USER_ID.test(userId)) {
      throw new ApiError(
        'token-invalid',
        `the ID token signals group overage but its "${this.config.userIdClaim}" claim (the user's id for the groups endpoint) is missing or malformed`,
      );
    }
    const first = new URL(this.config.groupsEndpoint.replace('{userId}', encodeURIComponent(userId)));
    try {
      return await this.readAllPages(first);
    } catch (error) {
      // One retry with a fresh access token when the endpoint says ours is no longer good.
      if (!(error instanceof StaleAccessToken)) throw error;
      this.accessToken = undefined;
      return await this.readAllPages(first);
    }
  }

  private async readAllPages(first: URL): Promise<string[]> {
    const groups: string[] = [];
    let next: URL | undefined = first;
    for (let page = 0; next !== undefined; page++) {
      if (page === MAX_PAGES) throw unavailable(`the groups endpoint returned more than ${MAX_PAGES} pages`, 60);
      const token = await this.token();
      const body = await this.call(
        next,
        page === 0
          ? {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ securityEnabledOnly: this.config.securityEnabledOnly }),
            }
          : { method: 'GET', headers: { authorization: `Bearer ${token}` } },
        'groups endpoint',
      );
      const parsed = parseGroupsPage(body);
      groups.push(...parsed.groups);
      if (groups.length > this.config.maxGroups) {
        throw new ApiError(
          'validation-failed',
          `the user is in more than ${this.config.maxGroups} groups, more than Tollgate keeps for one user`,
          [{ field: 'groups', message: 'too many groups' }],
        );
      }
      next = parsed.nextLink === undefined ? undefined : this.sameOrigin(parsed.nextLink, first);
    }
    return [...new Set(groups)];
  }

  private sameOrigin(link: string, first: URL): URL {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      throw unavailable('the groups endpoint returned a malformed @odata.nextLink', 60);
    }
    if (url.origin !== first.origin) {
      throw unavailable(`the groups endpoint's @odata.nextLink leaves its origin (${first.origin})`, 60);
    }
    return url;
  }

  private async token(): Promise<string> {
    const cached = this.accessToken;
    if (cached && cached.expiresAt > this.now()) return cached.value;
    const body = await this.call(
      new URL(this.config.tokenEndpoint),
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: this.config.clientId,
          client_secret: this.config.clientSecret,
          scope: this.config.scope,
        }).toString(),
      },
      'token endpoint',
    );
    const answer = body as { access_token?: unknown; expires_in?: unknown } | null;
    if (typeof answer?.access_token !== 'string' || answer.access_token.length === 0) {
      throw unavailable('the token endpoint answered without an access_token', 60);
    }
    const lifetimeS = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : 300;
    // Renew a minute early so a token never expires between our check and the endpoint's.
    this.accessToken = { value: answer.access_token, expiresAt: this.now() + Math.max(0, lifetimeS - 60) * 1000 };
    return answer.access_token;
  }

  /** One request: no redirects, a deadline for the whole exchange, at most MAX_BYTES of answer, JSON only. */
  private async call(url: URL, init: RequestInit, what: string): Promise<unknown> {
    let response: Response;
    const signal = AbortSignal.timeout(this.config.timeoutMs);
    try {
      response = await this.fetchImpl(url, { ...init, redirect: 'manual', signal });
    } catch {
      throw unavailable(`the IdP's ${what} could not be reached in ${this.config.timeoutMs} ms`, 5);
    }
    if (response.status === 429 || response.status === 503) {
      await response.body?.cancel();
      throw unavailable(`the IdP's ${what} is throttling (${response.status})`, retryAfter(response.headers));
    }
    if (response.status === 401 && what === 'groups endpoint') {
      await response.body?.cancel();
      throw new StaleAccessToken();
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      const hint =
        response.status >= 300 && response.status < 400
          ? ' (redirects are not followed)'
          : response.status === 400 || response.status === 401 || response.status === 403
            ? " (check the connector's groupOverage client credentials and the application's Graph permissions)"
            : '';
      throw unavailable(`the IdP's ${what} answered ${response.status}${hint}`, 30);
    }
    let text: string;
    try {
      text = await readCapped(response, MAX_BYTES);
    } catch (error) {
      if (error instanceof TooLarge) throw unavailable(`the IdP's ${what} answered more than ${MAX_BYTES} bytes`, 60);
      throw unavailable(`the IdP's ${what} answer could not be read in ${this.config.timeoutMs} ms`, 5);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw unavailable(`the IdP's ${what} answered something other than JSON`, 30);
    }
  }
}

/** `groupOverage` of the configuration with the secret read and the defaults that depend on the connector. */
export interface ResolvedGroupOverageConfig extends Omit<GroupOverageConfig, 'clientId'> {
  clientId: string;
  maxGroups: number;
}

/** One page of a Graph answer: `value` holds ids (getMemberObjects) or directory objects with an `id`. */
export function parseGroupsPage(body: unknown): { groups: string[]; nextLink?: string } {
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { value?: unknown }).value)) {
    throw unavailable('the groups endpoint answered without a "value" array', 30);
  }
  const page = body as { value: unknown[]; '@odata.nextLink'?: unknown };
  const groups = page.value.map((item) => {
    const id = typeof item === 'string' ? item : (item as { id?: unknown } | null)?.id;
    // A group name is stored and compared exactly: NUL or a lone surrogate could not be (CONTRACT section 3).
    if (typeof id !== 'string' || id.length === 0 || NOT_STORABLE.test(id)) {
      throw unavailable('the groups endpoint answered a malformed group', 30);
    }
    return id;
  });
  const next = page['@odata.nextLink'];
  if (next !== undefined && typeof next !== 'string') throw unavailable('malformed @odata.nextLink', 30);
  return next === undefined ? { groups } : { groups, nextLink: next };
}

/** `Retry-After` as seconds (a number or an HTTP date), kept between 1 s and 5 min; 5 s when absent. */
export function retryAfter(headers: Headers, now = Date.now()): number {
  const value = headers.get('retry-after');
  if (value === null) return 5;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) : (Date.parse(value) - now) / 1000;
  if (!Number.isFinite(seconds)) return 5;
  return Math.min(300, Math.max(1, Math.ceil(seconds)));
}

const USER_ID = /^[A-Za-z0-9._@-]{1,256}$/;
const NOT_STORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_PAGES = 50;
const MAX_BYTES = 4 * 1024 * 1024;

class StaleAccessToken extends Error {}
class TooLarge extends Error {}

function unavailable(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError('unavailable', `sign-in cannot read the user's groups (group overage): ${message}`, undefined, {
    'Retry-After': String(retryAfterSeconds),
  });
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new TooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
