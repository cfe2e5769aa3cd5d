import { jest } from '@jest/globals';
import { publicJwkFor } from './algorithms';
import { JwksCache } from './jwks-cache';
import { ecSigner, edSigner, memoryFetch, rsaSigner } from './testing';

const URI = 'https://idp.example.com/certs';
const T0 = Date.UTC(2026, 10, 26, 6, 30, 0);
const k1 = edSigner('k1');
const k2 = edSigner('k2');
const rsa = rsaSigner('r1');

function setup(initial: unknown = { keys: [k1.publicJwk] }, cooldownMs = 30_000) {
  let now = T0;
  const docs = new Map<string, unknown>([[URI, initial]]);
  const { fetch, calls } = memoryFetch(docs);
  const errors: Error[] = [];
  const cache = new JwksCache({
    issuer: 'iss',
    jwksUri: URI,
    fetch,
    now: () => now,
    cooldownMs,
    onError: (e) => errors.push(e),
  });
  return {
    cache,
    docs,
    calls,
    errors,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('JwksCache', () => {
  it('fetches lazily on first need, then serves known kids from memory', async () => {
    const { cache, calls } = setup();
    expect(calls).toEqual([]);
    expect(await cache.getKey('k1', 'EdDSA')).toBeDefined();
    expect(await cache.getKey('k1', 'EdDSA')).toBeDefined();
    expect(calls).toEqual([URI]);
  });

  it('refreshes on an unknown kid at most once per cool-down, and picks up a rotated key', async () => {
    const { cache, calls, docs, advance } = setup();
    await cache.getKey('k1', 'EdDSA');
    docs.set(URI, { keys: [k1.publicJwk, k2.publicJwk] });
    // Within the cool-down: no fetch, the unknown kid fails closed.
    advance(10_000);
    expect(await cache.getKey('k2', 'EdDSA')).toBeUndefined();
    expect(await cache.getKey('nope', 'EdDSA')).toBeUndefined();
    expect(calls).toHaveLength(1);
    // After the cool-down: one fetch, the new key is found.
    advance(20_000);
    expect(await cache.getKey('k2', 'EdDSA')).toBeDefined();
    expect(calls).toHaveLength(2);
    // An attacker spraying unknown kids causes at most one fetch per cool-down.
    for (let i = 0; i < 50; i++) expect(await cache.getKey(`junk-${i}`, 'EdDSA')).toBeUndefined();
    expect(calls).toHaveLength(2);
    advance(30_000);
    for (let i = 0; i < 50; i++) await cache.getKey(`junk-${i}`, 'EdDSA');
    expect(calls).toHaveLength(3);
  });

  it('concurrent lookups of an unknown kid share one fetch', async () => {
    const { cache, calls } = setup();
    const keys = await Promise.all([
      cache.getKey('k1', 'EdDSA'),
      cache.getKey('k1', 'EdDSA'),
      cache.getKey('x', 'EdDSA'),
    ]);
    expect(keys[0]).toBeDefined();
    expect(keys[1]).toBeDefined();
    expect(keys[2]).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('asks fetch not to follow redirects and to time out', async () => {
    const fetch = jest.fn(async (_url: string, _init: unknown) => ({
      ok: true,
      status: 200,
      text: async () => JSON.stringify({ keys: [] }),
    }));
    const cache = new JwksCache({ issuer: 'iss', jwksUri: URI, fetch });
    await cache.refresh();
    expect(fetch).toHaveBeenCalledTimes(1);
    const init = fetch.mock.calls[0]![1] as { redirect: string; signal: AbortSignal };
    expect(init.redirect).toBe('error');
    expect(init.signal).toBeInstanceOf(AbortSignal);
  });

  it.each([
    ['HTTP 500', () => ({ ok: false, status: 500, text: async () => '' })],
    ['not JSON', () => ({ ok: true, status: 200, text: async () => '<html>' })],
    ['no keys array', () => ({ ok: true, status: 200, text: async () => '{"keys":{}}' })],
    ['too large', () => ({ ok: true, status: 200, text: async () => `{"keys":[],"pad":"${'x'.repeat(600_000)}"}` })],
  ])('fails closed when the first fetch fails (%s)', async (_n, respond) => {
    const errors: Error[] = [];
    const cache = new JwksCache({
      issuer: 'iss',
      jwksUri: URI,
      fetch: async () => respond(),
      onError: (e) => errors.push(e),
    });
    expect(await cache.getKey('k1', 'EdDSA')).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(cache.stats).toEqual({ fetches: 1, failures: 1 });
  });

  it('fails closed when fetch throws (network error)', async () => {
    const cache = new JwksCache({
      issuer: 'iss',
      jwksUri: URI,
      fetch: async () => {
        throw new Error('ECONNREFUSED');
      },
    });
    expect(await cache.getKey('k1', 'EdDSA')).toBeUndefined();
  });

  it('keeps the last good key set when a refresh fails', async () => {
    const { cache, docs, errors, advance } = setup();
    await cache.getKey('k1', 'EdDSA');
    docs.set(URI, new Error('down'));
    advance(60_000);
    expect(await cache.refresh()).toBe(false);
    expect(errors).toHaveLength(1);
    expect(await cache.getKey('k1', 'EdDSA')).toBeDefined();
  });

  it('a successful refresh replaces the set (a removed key is gone)', async () => {
    const { cache, docs } = setup({ keys: [k1.publicJwk, k2.publicJwk] });
    await cache.refresh();
    expect(cache.keyIds.sort()).toEqual(['k1', 'k2']);
    docs.set(URI, { keys: [k2.publicJwk] });
    await cache.refresh();
    expect(cache.keyIds).toEqual(['k2']);
  });

  it('never fetches an inline key set', async () => {
    const fetch = jest.fn(async () => ({ ok: true, status: 200, text: async () => '{}' }));
    const cache = new JwksCache({ issuer: 'iss', jwks: { keys: [k1.publicJwk] }, fetch });
    expect(await cache.getKey('k1', 'EdDSA')).toBeDefined();
    expect(await cache.getKey('k2', 'EdDSA')).toBeUndefined();
    await cache.refresh();
    cache.start();
    cache.stop();
    expect(fetch).not.toHaveBeenCalled();
  });

  it('requires exactly one of jwks and jwksUri', () => {
    expect(() => new JwksCache({ issuer: 'iss' })).toThrow(TypeError);
    expect(() => new JwksCache({ issuer: 'iss', jwks: { keys: [] }, jwksUri: URI })).toThrow(TypeError);
  });

  it('start() fetches in the background; stop() ends the schedule', async () => {
    const { cache, calls } = setup();
    cache.start();
    await cache.refresh(); // joins the fetch start() began
    expect(calls).toHaveLength(1);
    expect(cache.peek('k1', 'EdDSA')).toBeDefined();
    cache.stop();
  });

  it('ignores keys without kid and symmetric keys; a kid only serves algorithms its key fits', async () => {
    const es = ecSigner('e1');
    const { cache } = setup({
      keys: [
        { kty: 'oct', kid: 'sym', k: 'c2VjcmV0' },
        { ...k2.publicJwk, kid: undefined },
        rsa.publicJwk,
        es.publicJwk,
        { ...k1.publicJwk, alg: 'EdDSA', use: 'enc' },
      ],
    });
    await cache.refresh();
    expect(cache.keyIds.sort()).toEqual(['e1', 'k1', 'r1']);
    expect(await cache.getKey('sym', 'HS256')).toBeUndefined();
    expect(await cache.getKey('r1', 'RS256')).toBeDefined();
    expect(await cache.getKey('r1', 'ES256')).toBeUndefined();
    expect(await cache.getKey('e1', 'ES256')).toBeDefined();
    expect(await cache.getKey('e1', 'ES384')).toBeUndefined();
    expect(await cache.getKey('k1', 'EdDSA')).toBeUndefined(); // use: enc
  });
});

describe('publicJwkFor', () => {
  it('keeps only public members', () => {
    const withPrivate = { ...rsa.publicJwk, d: 'secret', p: 'x', q: 'y', alg: 'RS256', use: 'sig' };
    expect(publicJwkFor(withPrivate, 'RS256')).toEqual({ kty: 'RSA', n: rsa.publicJwk.n, e: rsa.publicJwk.e });
  });

  it.each([
    ['alg member naming another algorithm', { alg: 'RS384' }, 'RS256'],
    ['key_ops without verify', { key_ops: ['sign'] }, 'RS256'],
    ['HMAC algorithm', {}, 'HS256'],
    ['none', {}, 'none'],
  ])('refuses %s', (_n, over, alg) => {
    expect(publicJwkFor({ ...rsa.publicJwk, ...over }, alg)).toBeUndefined();
  });
});
