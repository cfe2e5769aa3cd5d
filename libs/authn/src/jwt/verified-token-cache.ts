import { systemClock, type Clock, type VerifiedToken } from './types';

export interface VerifiedTokenCacheOptions {
  /** Most entries kept (default 100 000). */
  maxEntries?: number;
  /**
   * Most characters of raw tokens held as keys, summed over the entries (default 32 Mi, about 32 MiB: the
   * tokens are ASCII). With `maxEntries` this bounds the memory whatever the tokens' sizes.
   */
  maxTokenChars?: number;
  now?: Clock;
}

/**
 * What a cached verification depends on besides the token: the key set it was verified with. When its
 * `generation` moves (a key removed or replaced), the entries verified under an older one are dropped.
 */
export interface KeySetVersion {
  readonly generation: number;
}

/** One cached verification. */
class Entry {
  /** Read since it was inserted or last spared from eviction (second chance). */
  used = false;
  constructor(
    readonly token: string,
    readonly verified: VerifiedToken,
    readonly keySet: KeySetVersion | undefined,
    readonly generation: number,
  ) {}
}

/**
 * Characters at the end of a token (its signature) that key the map: hashing a whole token on every lookup
 * costs more than hashing these and comparing the whole token with the entry's.
 */
const KEY_CHARS = 32;
const keyOf = (token: string): string => (token.length > KEY_CHARS ? token.slice(token.length - KEY_CHARS) : token);

/**
 * Verified claims by raw token, until the token's `exp`: a repeated token costs one map lookup by its last
 * characters and one comparison with the whole token; no signature work and no cryptographic hash. Only
 * verifications are held (claims, issuer, subject), never an access decision.
 *
 * Bounded by entries and by the summed token length; eviction is second-chance (CLOCK) in insertion order:
 * a hit only sets a flag, and the oldest entry not read since it was last considered goes first, so a
 * token in use survives a flood of new ones. An entry is refused once `now >= exp`, and when the key set it
 * was verified with has changed since (`KeySetVersion`).
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly maxTokenChars: number;
  private readonly now: Clock;
  private tokenChars = 0;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.maxTokenChars = options.maxTokenChars ?? 32 * 1024 * 1024;
    if (!Number.isInteger(this.maxTokenChars) || this.maxTokenChars < 1)
      throw new RangeError('maxTokenChars must be a positive integer');
    this.now = options.now ?? systemClock;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Characters of raw tokens held (for tests and metrics). */
  get heldTokenChars(): number {
    return this.tokenChars;
  }

  /** The verified token for this raw token, if cached, not expired at `now()`, and its key set unchanged. */
  get(token: string): VerifiedToken | undefined {
    const key = keyOf(token);
    const hit = this.entries.get(key);
    // Another token with the same last characters is simply not this one.
    if (hit === undefined || hit.token !== token) return undefined;
    if (
      this.now() >= hit.verified.expiresAt ||
      (hit.keySet !== undefined && hit.keySet.generation !== hit.generation)
    ) {
      this.remove(key);
      return undefined;
    }
    hit.used = true;
    return hit.verified;
  }

  /**
   * Hold a verification of `token`. `keySet` and `generation` are the key set it was verified with and its
   * generation read before the key was looked up (a change during the verification then drops the entry).
   */
  set(token: string, verified: VerifiedToken, keySet?: KeySetVersion, generation = keySet?.generation ?? 0): void {
    if (this.now() >= verified.expiresAt || token.length > this.maxTokenChars) return;
    const key = keyOf(token);
    // A cached token with the same key (the same token, or one sharing its last characters) gives way.
    this.remove(key);
    this.entries.set(key, new Entry(token, verified, keySet, generation));
    this.tokenChars += token.length;
    this.evict();
  }

  delete(token: string): void {
    const key = keyOf(token);
    if (this.entries.get(key)?.token === token) this.remove(key);
  }

  clear(): void {
    this.entries.clear();
    this.tokenChars = 0;
  }

  /** Drop expired and outdated entries (optional housekeeping; `get` already ignores them). */
  prune(): number {
    const now = this.now();
    let n = 0;
    for (const [k, e] of this.entries) {
      if (now >= e.verified.expiresAt || (e.keySet !== undefined && e.keySet.generation !== e.generation)) {
        this.remove(k);
        n++;
      }
    }
    return n;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.tokenChars -= entry.token.length;
  }

  /** Second chance: an entry read since it was last considered goes to the back once, unflagged. */
  private evict(): void {
    let spared = 0;
    while (this.entries.size > this.maxEntries || this.tokenChars > this.maxTokenChars) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldest);
      // Every entry is spared at most once per call: after a full round all flags are clear.
      if (entry.used && spared < this.entries.size + 1) {
        entry.used = false;
        spared++;
        this.entries.set(oldest, entry);
      } else {
        this.tokenChars -= entry.token.length;
      }
    }
  }
}
