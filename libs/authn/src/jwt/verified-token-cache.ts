import { hash } from 'node:crypto';
import { systemClock, type Clock, type VerifiedToken } from './types';

export interface VerifiedTokenCacheOptions {
  /** Most entries kept; the least recently used goes first (default 100 000). */
  maxEntries?: number;
  now?: Clock;
}

/** SHA-256 (hex) of a raw token: the cache key, so raw tokens are never held as map keys. */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'hex');
}

/**
 * Verified claims by SHA-256 of the raw token, until the token's `exp`: a repeated token costs one hash
 * and a map lookup, no signature work. Bounded (LRU). Synchronous.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();
  private readonly maxEntries: number;
  private readonly now: Clock;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.now = options.now ?? systemClock;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The verified token for this raw token, if cached and not expired at `now()`. */
  get(token: string): VerifiedToken | undefined {
    return this.getByKey(tokenCacheKey(token));
  }

  getByKey(key: string): VerifiedToken | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    if (this.now() >= hit.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    // Refresh recency: Map keeps insertion order, so re-insert to move to the back.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(token: string, verified: VerifiedToken): void {
    this.setByKey(tokenCacheKey(token), verified);
  }

  setByKey(key: string, verified: VerifiedToken): void {
    if (this.now() >= verified.expiresAt) return;
    this.entries.delete(key);
    this.entries.set(key, verified);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(token: string): void {
    this.entries.delete(tokenCacheKey(token));
  }

  clear(): void {
    this.entries.clear();
  }

  /** Drop expired entries (optional housekeeping; `get` already ignores them). */
  prune(): number {
    const now = this.now();
    let n = 0;
    for (const [k, v] of this.entries) {
      if (now >= v.expiresAt) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }
}
