/**
 * Key-creation rate limit per key owner (CONTRACT section 3: 30 a minute by default): a token bucket per
 * owner holding `limit` tokens, refilled continuously at `limit` per `windowMs`. The arithmetic is pure
 * (`takeToken`); where the buckets live is the limiter's business: in memory (`RateLimiter`, one process) or
 * in PostgreSQL (`PostgresRateLimiter`, shared by every replica of the keys service).
 */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface Bucket {
  tokens: number;
  /** When `tokens` was last computed (ms). */
  at: number;
}

/** What the services ask: may this owner create one more key now? */
export interface KeyCreationLimiter {
  take(owner: string, now: number): RateDecision | Promise<RateDecision>;
}

/** Refills `bucket` (undefined: a new, full one) up to `now` and takes one token if there is one. */
export function takeToken(
  bucket: Bucket | undefined,
  limit: number,
  windowMs: number,
  now: number,
): { decision: RateDecision; bucket: Bucket } {
  const rate = limit / windowMs;
  const current = bucket ?? { tokens: limit, at: now };
  const tokens = Math.min(limit, current.tokens + Math.max(0, now - current.at) * rate);
  if (tokens < 1) {
    return {
      decision: { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / rate / 1000)) },
      bucket: { tokens, at: now },
    };
  }
  return { decision: { allowed: true }, bucket: { tokens: tokens - 1, at: now } };
}

export function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
}

/** Buckets in this process's memory (tests, and a single keys process). */
export class RateLimiter implements KeyCreationLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    /** Buckets kept before full ones are dropped (memory bound). */
    private readonly maxTracked = 100_000,
  ) {
    assertLimit(limit);
  }

  take(owner: string, now: number): RateDecision {
    const { decision, bucket } = takeToken(this.buckets.get(owner), this.limit, this.windowMs, now);
    this.buckets.set(owner, bucket);
    if (decision.allowed && this.buckets.size > this.maxTracked) this.prune(now);
    return decision;
  }

  private prune(now: number): void {
    const rate = this.limit / this.windowMs;
    for (const [owner, b] of this.buckets) if (b.tokens + (now - b.at) * rate >= this.limit) this.buckets.delete(owner);
  }
}
