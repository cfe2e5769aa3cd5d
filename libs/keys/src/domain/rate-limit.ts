/**
 * Key-creation rate limit per key owner (CONTRACT section 3: 30 a minute by default): a token bucket per
 * owner holding `limit` tokens, refilled continuously at `limit` per `windowMs`. Pure apart from the map it
 * keeps; time is passed in. Per process: N replicas of the keys service allow up to N × the limit.
 */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    /** Buckets kept before full ones are dropped (memory bound). */
    private readonly maxTracked = 100_000,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  }

  take(owner: string, now: number): RateDecision {
    const rate = this.limit / this.windowMs;
    const bucket = this.buckets.get(owner) ?? { tokens: this.limit, at: now };
    const tokens = Math.min(this.limit, bucket.tokens + Math.max(0, now - bucket.at) * rate);
    if (tokens < 1) {
      this.buckets.set(owner, { tokens, at: now });
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / rate / 1000)) };
    }
    this.buckets.set(owner, { tokens: tokens - 1, at: now });
    if (this.buckets.size > this.maxTracked) this.prune(now);
    return { allowed: true };
  }

  private prune(now: number): void {
    const rate = this.limit / this.windowMs;
    for (const [owner, b] of this.buckets) if (b.tokens + (now - b.at) * rate >= this.limit) this.buckets.delete(owner);
  }
}
