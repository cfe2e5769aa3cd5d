import { generateKey, parseKey } from '@tollgate/authn';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { caller, codeOf, InMemoryKeys, meta, T0 } from '../testing/in-memory-keys';

async function ready(k = new InMemoryKeys()) {
  await k.signingKeys.maintain();
  k.now += 2_000; // the first key activates after its lead
  return k;
}
const issue = (
  k: InMemoryKeys,
  key: string | undefined,
  body: { expiresInSeconds?: number } = {},
  idempotencyKey?: string,
) => k.tokens.issue(key === undefined ? undefined : `Bearer ${key}`, () => body, body, meta(idempotencyKey));
const userKey = async (k: InMemoryKeys, scope: 'inference' | 'management' = 'inference', expiresAt?: number) =>
  (
    await k.userKeys.create(
      caller('usr_alice'),
      'usr_alice',
      { name: 'k', scope, expiresAt },
      'POST /v1/keys',
      {},
      meta(),
    )
  ).body;

describe('TokensService', () => {
  it('exchanges an inference key for an EdDSA token verifiable with the JWKS', async () => {
    const k = await ready();
    const key = await userKey(k);
    const { body } = await issue(k, key.key!);
    expect(body).toEqual({
      token: expect.any(String),
      tokenType: 'Bearer',
      scope: 'inference',
      expiresAt: new Date(T0 + 2_000 + 3_600_000).toISOString(),
    });
    const jwks = createLocalJWKSet((await k.signingKeys.jwks()) as never);
    const { payload, protectedHeader } = await jwtVerify(body.token!, jwks, {
      issuer: 'tollgate',
      audience: 'tollgate',
      currentDate: new Date(k.now),
      algorithms: ['EdDSA'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: expect.any(String) });
    expect(payload).toMatchObject({ sub: 'usr_alice', scope: 'inference', src: key.keyId, jti: expect.any(String) });
  });

  it('carries the scope of a management key and honours expiresInSeconds', async () => {
    const k = await ready();
    const key = await userKey(k, 'management');
    const { body } = await issue(k, key.key!, { expiresInSeconds: 60 });
    expect(body).toMatchObject({ scope: 'management', expiresAt: new Date(k.now + 60_000).toISOString() });
  });

  it('never outlives its key', async () => {
    const k = await ready();
    const key = await userKey(k, 'inference', T0 + 2_000 + 600_000);
    const { body } = await issue(k, key.key!);
    expect(body.expiresAt).toBe(new Date(T0 + 2_000 + 600_000).toISOString());
  });

  it.each([
    ['no credential', undefined, 'unauthenticated'],
    ['a malformed key', 'tgi_short', 'unauthenticated'],
    ['a JWT instead of a key', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln', 'unauthenticated'],
    ['a well-formed key Tollgate never issued', generateKey('inference'), 'unauthenticated'],
  ])('refuses %s with 401', async (_what, key, code) => {
    if (_what.startsWith('a well-formed')) expect(parseKey(key!).ok).toBe(true);
    const k = await ready();
    expect(await codeOf(() => issue(k, key))).toBe(code);
  });

  it('refuses a model access key with key-scope-invalid', async () => {
    const k = await ready();
    k.project('prj_1', 'usr_alice');
    k.deployment('dep_1', 'prj_1');
    const { body } = await k.accessKeys.rotate(caller('usr_alice'), 'dep_1', 'primary', 'r', {}, meta());
    expect(await codeOf(() => issue(k, body.accessKey!))).toBe('key-scope-invalid');
  });

  it('refuses a revoked or expired key, naming the reason', async () => {
    const k = await ready();
    const revoked = await userKey(k);
    await k.userKeys.revoke(caller('usr_alice'), revoked.keyId, meta());
    await expect(issue(k, revoked.key!)).rejects.toThrow(/key-revoked/);
    const expiring = await userKey(k, 'inference', k.now + 1_000);
    k.now += 1_000;
    await expect(issue(k, expiring.key!)).rejects.toThrow(/key-expired/);
  });

  it("refuses a deactivated user's key", async () => {
    const k = await ready();
    k.user('usr_alice');
    const key = await userKey(k);
    k.deactivate('usr_alice');
    await expect(issue(k, key.key!)).rejects.toThrow(/user-deactivated/);
  });

  it('answers 503 with Retry-After before the first signing key activates', async () => {
    const k = new InMemoryKeys();
    await k.signingKeys.maintain();
    const key = await userKey(k);
    const error = await issue(k, key.key!).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable', headers: { 'Retry-After': '2' } });
  });

  it('replays with token: null for the same Idempotency-Key and body; 422 for another body', async () => {
    const k = await ready();
    const key = await userKey(k);
    const first = await issue(k, key.key!, { expiresInSeconds: 60 }, 'tok-1');
    const again = await issue(k, key.key!, { expiresInSeconds: 60 }, 'tok-1');
    expect(again).toEqual({ replayed: true, body: { ...first.body, token: null } });
    expect(await codeOf(() => issue(k, key.key!, { expiresInSeconds: 61 }, 'tok-1'))).toBe('idempotency-key-reused');
  });

  it('signs with the new key once it activates; the JWKS listed it before', async () => {
    const k = await ready();
    const key = await userKey(k);
    const before = decodeProtectedHeader((await issue(k, key.key!)).body.token!).kid;
    k.now = T0 + 2_000 + 7 * 86_400_000 - 3_600_000; // the successor's publication time
    await k.signingKeys.maintain();
    const jwks = (await k.signingKeys.jwks()).keys.map((j) => j.kid);
    expect(jwks).toHaveLength(2);
    expect(decodeProtectedHeader((await issue(k, key.key!)).body.token!).kid).toBe(before);
    k.now += 3_600_000;
    const after = decodeProtectedHeader((await issue(k, key.key!)).body.token!).kid;
    expect(after).not.toBe(before);
    expect(jwks).toContain(after);
  });
});
