import { RateLimiter } from './rate-limit';

describe('RateLimiter (per key owner)', () => {
  const t0 = 1_000_000;

  it('allows the limit in a burst, then refuses with Retry-After', () => {
    const limiter = new RateLimiter(30);
    for (let i = 0; i < 30; i++) expect(limiter.take('usr_a', t0)).toEqual({ allowed: true });
    expect(limiter.take('usr_a', t0)).toEqual({ allowed: false, retryAfterSeconds: 2 });
  });

  it('counts each owner separately', () => {
    const limiter = new RateLimiter(2);
    limiter.take('usr_a', t0);
    limiter.take('usr_a', t0);
    expect(limiter.take('usr_a', t0).allowed).toBe(false);
    expect(limiter.take('usr_b', t0).allowed).toBe(true);
  });

  it('refills at limit per minute', () => {
    const limiter = new RateLimiter(30);
    for (let i = 0; i < 30; i++) limiter.take('usr_a', t0);
    expect(limiter.take('usr_a', t0 + 1_000).allowed).toBe(false);
    expect(limiter.take('usr_a', t0 + 2_000).allowed).toBe(true);
    expect(limiter.take('usr_a', t0 + 2_000).allowed).toBe(false);
    // A full window later the whole burst is available again.
    for (let i = 0; i < 30; i++) expect(limiter.take('usr_a', t0 + 62_000 + 60_000).allowed).toBe(true);
  });

  it('states how long to wait for a slow limit', () => {
    const limiter = new RateLimiter(1, 60_000);
    limiter.take('usr_a', t0);
    expect(limiter.take('usr_a', t0 + 15_000)).toEqual({ allowed: false, retryAfterSeconds: 45 });
  });
});
