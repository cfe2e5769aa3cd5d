import { importJWK } from 'jose';
import { publicJwkFor } from './algorithms';
import {
  systemClock,
  type Clock,
  type VerificationKey,
  type FetchLike,
  type JsonWebKeySet,
  type PublicJwk,
} from './types';

export interface JwksCacheOptions {
  /** The issuer (for error messages only). */
  issuer: string;
  /** Inline key set: never fetched, never refreshed. */
  jwks?: JsonWebKeySet;
  /** Where to fetch the key set. Only this URL is ever fetched (never a token's `jku`/`x5u`). */
  jwksUri?: string;
  fetch?: FetchLike;
  now?: Clock;
  /** At most one fetch per this interval caused by an unknown `kid` (default 30 s). */
  cooldownMs?: number;
  /** Background refresh interval once `start()`ed (default 5 min). */
  refreshIntervalMs?: number;
  /** Fetch timeout (default 5 s). */
  timeoutMs?: number;
  /** Largest accepted JWKS document (default 512 KiB). */
  maxBytes?: number;
  /** Called when a fetch fails (the last good key set stays in use). */
  onError?: (error: Error) => void;
}

export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
export const DEFAULT_JWKS_REFRESH_INTERVAL_MS = 5 * 60_000;

export class JwksFetchError extends Error {
  override readonly name = 'JwksFetchError';
}

/**
 * The key set of one issuer. Keys are chosen only by `kid`. A remote set is fetched on first need (or by
 * `start()` in the background), kept, refreshed on a schedule and on an unknown `kid` (at most once per
 * cool-down). When a fetch fails the last good set stays; when no key can be had the caller fails closed.
 */
export class JwksCache {
  readonly issuer: string;
  readonly jwksUri: string | undefined;
  private readonly fetchImpl: FetchLike | undefined;
  private readonly now: Clock;
  private readonly cooldownMs: number;
  private readonly refreshIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly onError: ((error: Error) => void) | undefined;
  private keys = new Map<string, PublicJwk[]>();
  private readonly imported = new WeakMap<PublicJwk, Map<string, Promise<VerificationKey | undefined>>>();
  private inflight: Promise<boolean> | undefined;
  private lastAttemptAt: number | undefined;
  private lastSuccessAt: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  /**
   * Moves when a key of the set is removed or replaced (not when one is only added): tokens verified under
   * an older generation are no longer taken from the verified-token cache.
   */
  generation = 0;
  /** Counters, for metrics and tests. */
  readonly stats = { fetches: 0, failures: 0 };

  constructor(options: JwksCacheOptions) {
    this.issuer = options.issuer;
    this.now = options.now ?? systemClock;
    this.cooldownMs = options.cooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS;
    this.refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_JWKS_REFRESH_INTERVAL_MS;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxBytes = options.maxBytes ?? 512 * 1024;
    this.onError = options.onError;
    if ((options.jwks === undefined) === (options.jwksUri === undefined)) {
      throw new TypeError(`issuer ${options.issuer}: exactly one of jwks and jwksUri is required`);
    }
    if (options.jwks !== undefined) {
      this.jwksUri = undefined;
      this.fetchImpl = undefined;
      this.keys = indexKeys(options.jwks);
    } else {
      this.jwksUri = options.jwksUri;
      this.fetchImpl = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
    }
  }

  /** The kids currently known. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** When the key set was last fetched successfully (ms), if ever. */
  get lastRefreshedAt(): number | undefined {
    return this.lastSuccessAt;
  }

  /** The public JWK with this `kid` usable for `alg`, from the current set, without fetching. */
  peek(kid: string, alg: string): PublicJwk | undefined {
    for (const jwk of this.keys.get(kid) ?? []) {
      const pub = publicJwkFor(jwk, alg);
      if (pub !== undefined) return pub;
    }
    return undefined;
  }

  /**
   * The verification key for `kid` and `alg`, or undefined (fail closed). An unknown `kid` triggers a fetch
   * unless one ran within the cool-down; a fetch already in flight is awaited rather than repeated.
   */
  async getKey(kid: string, alg: string): Promise<VerificationKey | undefined> {
    let jwk = this.findRaw(kid, alg);
    if (jwk === undefined && this.jwksUri !== undefined) {
      if (this.inflight !== undefined) await this.inflight;
      else if (this.mayFetchNow()) await this.refresh();
      jwk = this.findRaw(kid, alg);
    }
    if (jwk === undefined) return undefined;
    return this.importFor(jwk, alg);
  }

  /** Fetch the key set now (deduplicated with a fetch in flight). Resolves true when a set was loaded. */
  refresh(): Promise<boolean> {
    if (this.jwksUri === undefined) return Promise.resolve(true);
    this.inflight ??= this.fetchOnce().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Fetch now and then every `refreshIntervalMs` in the background (the timer does not keep the process alive). */
  start(): void {
    if (this.jwksUri === undefined || this.timer !== undefined) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshIntervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private mayFetchNow(): boolean {
    return this.lastAttemptAt === undefined || this.now() - this.lastAttemptAt >= this.cooldownMs;
  }

  private findRaw(kid: string, alg: string): PublicJwk | undefined {
    for (const jwk of this.keys.get(kid) ?? []) if (publicJwkFor(jwk, alg) !== undefined) return jwk;
    return undefined;
  }

  private importFor(jwk: PublicJwk, alg: string): Promise<VerificationKey | undefined> {
    let byAlg = this.imported.get(jwk);
    if (byAlg === undefined) this.imported.set(jwk, (byAlg = new Map()));
    let p = byAlg.get(alg);
    if (p === undefined) {
      const pub = publicJwkFor(jwk, alg)!;
      p = importJWK(pub, alg).then(
        (k) => (k instanceof Uint8Array ? undefined : k),
        () => undefined,
      );
      byAlg.set(alg, p);
    }
    return p;
  }

  private async fetchOnce(): Promise<boolean> {
    this.lastAttemptAt = this.now();
    this.stats.fetches++;
    try {
      const res = await this.fetchImpl!(this.jwksUri!, {
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
        headers: { accept: 'application/jwk-set+json, application/json' },
      });
      if (!res.ok) throw new JwksFetchError(`issuer ${this.issuer}: JWKS fetch answered HTTP ${res.status}`);
      const text = await res.text();
      if (text.length > this.maxBytes) throw new JwksFetchError(`issuer ${this.issuer}: JWKS document too large`);
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw new JwksFetchError(`issuer ${this.issuer}: JWKS is not JSON`);
      }
      if (!isKeySet(doc)) throw new JwksFetchError(`issuer ${this.issuer}: JWKS has no "keys" array`);
      const keys = indexKeys(doc);
      if (keysRemovedOrChanged(this.keys, keys)) this.generation++;
      this.keys = keys;
      this.lastSuccessAt = this.now();
      return true;
    } catch (e) {
      this.stats.failures++;
      const error =
        e instanceof JwksFetchError
          ? e
          : new JwksFetchError(`issuer ${this.issuer}: JWKS fetch failed: ${(e as Error)?.message ?? String(e)}`);
      this.onError?.(error);
      return false;
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isKeySet(v: unknown): v is JsonWebKeySet {
  return isObject(v) && Array.isArray(v.keys);
}

/** Does `next` lack, or hold a different value for, any key of `prev`? */
function keysRemovedOrChanged(prev: Map<string, PublicJwk[]>, next: Map<string, PublicJwk[]>): boolean {
  for (const [kid, jwks] of prev) {
    const now = next.get(kid);
    if (now === undefined || JSON.stringify(now) !== JSON.stringify(jwks)) return true;
  }
  return false;
}

function indexKeys(set: JsonWebKeySet): Map<string, PublicJwk[]> {
  const out = new Map<string, PublicJwk[]>();
  if (!isKeySet(set)) return out;
  for (const jwk of set.keys) {
    // Keys without a kid can never be chosen (selection is by kid only); symmetric keys are never used.
    if (!isObject(jwk) || typeof jwk.kid !== 'string' || jwk.kid === '' || jwk.kty === 'oct') continue;
    const list = out.get(jwk.kid);
    if (list === undefined) out.set(jwk.kid, [jwk]);
    else list.push(jwk);
  }
  return out;
}
