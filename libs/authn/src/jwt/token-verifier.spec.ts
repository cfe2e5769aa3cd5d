import { createHmac } from 'node:crypto';
import { IssuerConfigError, IssuerRegistry, type IssuerConfig } from './issuer-registry';
import { joseSignatureVerifier, TokenVerifier, type SignatureVerifier } from './token-verifier';
import { VerifiedTokenCache } from './verified-token-cache';
import { b64json, ecSigner, edSigner, memoryFetch, rsaSigner, signJwt } from './testing';

const T0 = Date.UTC(2026, 10, 26, 6, 30, 0); // a whole second
const NOW_S = T0 / 1000;
const ISS = 'https://idp.example.com/realms/ml';
const JWKS_URI = 'https://idp.example.com/realms/ml/protocol/openid-connect/certs';
const ISS_ES = 'https://es-only.example.com';
const ISS_STRICT = 'https://strict.example.com';
const ATTACKER_URL = 'https://attacker.example/jwks.json';

const rsa = rsaSigner('rsa-1');
const ed = edSigner('ed-1');
const es = ecSigner('ec-1');
const attackerRsa = rsaSigner('rsa-1'); // same kid as the real key, different key
const attackerEd = edSigner('evil');
const otherIssuerRsa = rsaSigner('rsa-2');
const ISS_OTHER = 'https://other.example.com';

function setup(extra: { verifySignature?: SignatureVerifier; configs?: IssuerConfig[] } = {}) {
  let now = T0;
  const clock = () => now;
  const docs = new Map<string, unknown>([[JWKS_URI, { keys: [rsa.publicJwk, ed.publicJwk] }]]);
  const { fetch, calls } = memoryFetch(docs);
  const registry = new IssuerRegistry(
    extra.configs ?? [
      { issuer: ISS, jwksUri: JWKS_URI, audiences: ['tollgate', 'api'], algorithms: ['RS256', 'EdDSA'] },
      {
        issuer: ISS_ES,
        jwks: { keys: [es.publicJwk] },
        audiences: ['tollgate'],
        algorithms: ['ES256'],
        environment: 'prod',
      },
      {
        issuer: ISS_STRICT,
        jwks: { keys: [es.publicJwk] },
        audiences: ['tollgate'],
        algorithms: ['ES256'],
        clockToleranceSeconds: 0,
        subjectClaim: 'preferred_username',
        groupsClaim: 'roles',
      },
      { issuer: ISS_OTHER, jwks: { keys: [otherIssuerRsa.publicJwk] }, audiences: ['tollgate'], algorithms: ['RS256'] },
    ],
    { fetch, now: clock },
  );
  const signatureChecks = { count: 0 };
  const verifySignature: SignatureVerifier = async (token, key, alg) => {
    signatureChecks.count++;
    await (extra.verifySignature ?? joseSignatureVerifier)(token, key, alg);
  };
  const verifier = new TokenVerifier({ issuers: registry, now: clock, verifySignature });
  return {
    verifier,
    registry,
    fetchCalls: calls,
    docs,
    signatureChecks,
    setNow: (ms: number) => {
      now = ms;
    },
  };
}

const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => {
  const c: Record<string, unknown> = {
    iss: ISS,
    aud: 'tollgate',
    sub: 'alice',
    iat: NOW_S - 10,
    exp: NOW_S + 300,
    groups: ['ml-team', 'Data'],
    ...over,
  };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
};

const hs256 = (secret: string, header: Record<string, unknown>, payload: Record<string, unknown>) => {
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};

const unsigned = (alg: string, payload = claims()) =>
  `${b64json({ alg, kid: 'rsa-1', typ: 'JWT' })}.${b64json(payload)}.`;

describe('TokenVerifier: trusted issuers', () => {
  it('accepts a valid RS256 token and reports issuer, subject, groups, times and claims', async () => {
    const { verifier } = setup();
    const r = await verifier.verify(signJwt(rsa, claims()));
    expect(r).toEqual({
      ok: true,
      cached: false,
      token: {
        kind: 'jwt',
        issuer: ISS,
        subject: 'alice',
        groups: ['ml-team', 'Data'],
        issuedAt: (NOW_S - 10) * 1000,
        expiresAt: (NOW_S + 300) * 1000,
        claims: claims(),
      },
    });
  });

  it('accepts EdDSA and ES256 where allowed, and reports the issuer environment', async () => {
    const { verifier } = setup();
    expect(await verifier.verify(signJwt(ed, claims()))).toMatchObject({ ok: true });
    const r = await verifier.verify(signJwt(es, claims({ iss: ISS_ES })));
    expect(r).toMatchObject({ ok: true, token: { issuer: ISS_ES, environment: 'prod' } });
  });

  it('uses the configured subject and groups claims', async () => {
    const { verifier } = setup();
    const r = await verifier.verify(signJwt(es, claims({ iss: ISS_STRICT, preferred_username: 'bob', roles: ['r1'] })));
    expect(r).toMatchObject({ ok: true, token: { subject: 'bob', groups: ['r1'] } });
  });

  it('a token without a groups claim has no groups (not an empty list)', async () => {
    const { verifier } = setup();
    const r = await verifier.verify(signJwt(rsa, claims({ groups: undefined })));
    expect(r.ok && r.token.groups).toBeUndefined();
  });

  it('accepts aud as an array containing one of the audiences', async () => {
    const { verifier } = setup();
    expect(await verifier.verify(signJwt(rsa, claims({ aud: ['other', 'api'] })))).toMatchObject({ ok: true });
  });

  describe('attack table', () => {
    const cases: Array<[string, () => string, string, string]> = [
      ['alg none', () => unsigned('none'), 'token-invalid', 'alg none'],
      ['alg NONE', () => unsigned('NONE'), 'token-invalid', 'alg none'],
      ['alg None', () => unsigned('None'), 'token-invalid', 'alg none'],
      ['alg nOnE', () => unsigned('nOnE'), 'token-invalid', 'alg none'],
      [
        'alg none with a signature appended',
        () => `${b64json({ alg: 'none', kid: 'rsa-1' })}.${b64json(claims())}.c2ln`,
        'token-invalid',
        'alg none',
      ],
      [
        'RS256 token presented to an ES256-only issuer',
        () => signJwt(rsa, claims({ iss: ISS_ES })),
        'token-invalid',
        'not allowed',
      ],
      [
        'HS256 signed with the RSA public key PEM as the secret',
        () => hs256(rsa.publicPem, { alg: 'HS256', kid: 'rsa-1', typ: 'JWT' }, claims()),
        'token-invalid',
        'not allowed',
      ],
      [
        'HS256 signed with the JWK n as the secret',
        () => hs256(String(rsa.publicJwk.n), { alg: 'HS256', kid: 'rsa-1' }, claims()),
        'token-invalid',
        'not allowed',
      ],
      [
        'stripped signature',
        () => signJwt(rsa, claims()).replace(/\.[^.]+$/, '.'),
        'token-invalid',
        'signature missing',
      ],
      [
        'signature removed entirely (two parts)',
        () => signJwt(rsa, claims()).replace(/\.[^.]+$/, ''),
        'token-invalid',
        'compact',
      ],
      [
        'tampered payload',
        () => {
          const [h, , s] = signJwt(rsa, claims()).split('.');
          return `${h}.${b64json(claims({ sub: 'admin' }))}.${s}`;
        },
        'token-invalid',
        'signature',
      ],
      [
        'signature of another token',
        () => {
          const [h, p] = signJwt(rsa, claims()).split('.');
          const s = signJwt(rsa, claims({ sub: 'x' })).split('.')[2];
          return `${h}.${p}.${s}`;
        },
        'token-invalid',
        'signature',
      ],
      [
        'embedded jwk header with the attacker key',
        () => signJwt(attackerEd, claims(), { jwk: attackerEd.publicJwk }),
        'token-invalid',
        'jwk',
      ],
      [
        'embedded jwk header, kid of a real key',
        () => signJwt(attackerRsa, claims(), { jwk: attackerRsa.publicJwk }),
        'token-invalid',
        'jwk',
      ],
      ['jku header', () => signJwt(attackerEd, claims(), { jku: ATTACKER_URL }), 'token-invalid', 'jku'],
      ['x5u header', () => signJwt(attackerEd, claims(), { x5u: ATTACKER_URL }), 'token-invalid', 'x5u'],
      ['x5c header', () => signJwt(attackerRsa, claims(), { x5c: ['MIIB'] }), 'token-invalid', 'x5c'],
      [
        'jku header on a correctly signed token',
        () => signJwt(rsa, claims(), { jku: ATTACKER_URL }),
        'token-invalid',
        'jku',
      ],
      [
        'crit naming an unknown extension',
        () => signJwt(rsa, claims(), { crit: ['exp'], exp: 1 }),
        'token-invalid',
        'crit',
      ],
      [
        'crit b64 (unencoded payload)',
        () => signJwt(rsa, claims(), { crit: ['b64'], b64: true }),
        'token-invalid',
        'crit',
      ],
      ['empty crit', () => signJwt(rsa, claims(), { crit: [] }), 'token-invalid', 'crit'],
      ['signed by another key under a real kid', () => signJwt(attackerRsa, claims()), 'token-invalid', 'signature'],
      ['unknown kid', () => signJwt(attackerEd, claims()), 'token-invalid', 'no key'],
      ['no kid', () => signJwt(rsa, claims(), { kid: undefined }), 'token-invalid', 'kid'],
      [
        'kid of another issuer (keys are per issuer)',
        () => signJwt(otherIssuerRsa, claims()), // rsa-2 belongs to ISS_OTHER, the token says ISS
        'token-invalid',
        'no key',
      ],
      ['exp equal to now', () => signJwt(rsa, claims({ exp: NOW_S })), 'token-expired', ''],
      ['exp one second ago', () => signJwt(rsa, claims({ exp: NOW_S - 1 })), 'token-expired', ''],
      ['exp missing', () => signJwt(rsa, claims({ exp: undefined })), 'token-invalid', 'exp'],
      ['exp not a number', () => signJwt(rsa, claims({ exp: String(NOW_S + 100) })), 'token-invalid', 'exp'],
      ['nbf beyond the tolerance', () => signJwt(rsa, claims({ nbf: NOW_S + 61 })), 'token-invalid', 'nbf'],
      ['iat beyond the tolerance', () => signJwt(rsa, claims({ iat: NOW_S + 61 })), 'token-invalid', 'iat'],
      [
        'nbf one second ahead with tolerance 0',
        () => signJwt(es, claims({ iss: ISS_STRICT, nbf: NOW_S + 1, preferred_username: 'b' })),
        'token-invalid',
        'nbf',
      ],
      ['unknown issuer', () => signJwt(rsa, claims({ iss: 'https://evil.example.com' })), 'issuer-untrusted', ''],
      ['issuer with a trailing slash', () => signJwt(rsa, claims({ iss: `${ISS}/` })), 'issuer-untrusted', ''],
      ['issuer in another case', () => signJwt(rsa, claims({ iss: ISS.toUpperCase() })), 'issuer-untrusted', ''],
      ['no iss', () => signJwt(rsa, claims({ iss: undefined })), 'issuer-untrusted', ''],
      [
        'iss tollgate without service-token verification',
        () => signJwt(ed, claims({ iss: 'tollgate' })),
        'issuer-untrusted',
        '',
      ],
      ['wrong audience', () => signJwt(rsa, claims({ aud: 'someone-else' })), 'audience-mismatch', ''],
      ['audience in another case', () => signJwt(rsa, claims({ aud: 'Tollgate' })), 'audience-mismatch', ''],
      ['no audience', () => signJwt(rsa, claims({ aud: undefined })), 'audience-mismatch', ''],
      ['no subject', () => signJwt(rsa, claims({ sub: undefined })), 'token-invalid', 'sub'],
      ['groups claim not an array', () => signJwt(rsa, claims({ groups: 'admins' })), 'token-invalid', 'groups'],
      ['groups claim with a non-string', () => signJwt(rsa, claims({ groups: ['a', 1] })), 'token-invalid', 'groups'],
      ['header not JSON', () => `bm90IGpzb24.${b64json(claims())}.c2ln`, 'token-invalid', 'header'],
      [
        'payload not JSON',
        () => `${b64json({ alg: 'RS256', kid: 'rsa-1' })}.bm90IGpzb24.c2ln`,
        'token-invalid',
        'payload',
      ],
      [
        'payload a JSON array',
        () => `${b64json({ alg: 'RS256', kid: 'rsa-1' })}.${b64json([1])}.c2ln`,
        'token-invalid',
        'payload',
      ],
      ['not a JWS at all', () => 'hello', 'token-invalid', 'compact'],
    ];

    it.each(cases)('%s', async (_name, make, reason, detail) => {
      const { verifier, fetchCalls } = setup();
      const r = await verifier.verify(make());
      expect(r).toMatchObject({ ok: false, reason });
      if (!r.ok) expect(r.detail).toContain(detail);
      // Nothing a token names is ever fetched: only the configured JWKS URI.
      expect(fetchCalls.every((u) => u === JWKS_URI)).toBe(true);
      expect(fetchCalls).not.toContain(ATTACKER_URL);
    });

    it('no signature work is done for tokens refused on their header', async () => {
      const { verifier, signatureChecks, fetchCalls } = setup();
      for (const t of [
        unsigned('none'),
        signJwt(attackerEd, claims(), { jku: ATTACKER_URL }),
        signJwt(attackerEd, claims(), { x5u: ATTACKER_URL }),
        signJwt(attackerEd, claims(), { jwk: attackerEd.publicJwk }),
        hs256(rsa.publicPem, { alg: 'HS256', kid: 'rsa-1' }, claims()),
      ]) {
        expect((await verifier.verify(t)).ok).toBe(false);
      }
      expect(signatureChecks.count).toBe(0);
      expect(fetchCalls).toEqual([]);
    });

    it('the key chosen for a jku token is never the one at the jku URL, even if the URL served the right key', async () => {
      const { verifier, docs, fetchCalls } = setup();
      docs.set(ATTACKER_URL, { keys: [attackerEd.publicJwk] });
      const r = await verifier.verify(signJwt(attackerEd, claims(), { jku: ATTACKER_URL, kid: 'evil' }));
      expect(r).toMatchObject({ ok: false, reason: 'token-invalid' });
      expect(fetchCalls).not.toContain(ATTACKER_URL);
    });
  });

  describe('time', () => {
    it('exp one second after now is accepted; the token expires exactly at its exp second', async () => {
      const { verifier, setNow } = setup();
      const token = signJwt(rsa, claims({ exp: NOW_S + 1 }));
      expect(await verifier.verify(token)).toMatchObject({ ok: true });
      setNow(T0 + 999);
      expect(verifier.lookupVerified(token)).toBeDefined();
      expect(await verifier.verify(token)).toMatchObject({ ok: true });
      setNow(T0 + 1000);
      expect(verifier.lookupVerified(token)).toBeUndefined();
      expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'token-expired' });
    });

    it('no clock tolerance on exp, even with a tolerance configured', async () => {
      const { verifier, setNow } = setup();
      setNow(T0 + 500);
      expect(await verifier.verify(signJwt(rsa, claims({ exp: NOW_S })))).toMatchObject({
        ok: false,
        reason: 'token-expired',
      });
    });

    it('nbf and iat in the future are tolerated up to clockToleranceSeconds (default 60)', async () => {
      const { verifier } = setup();
      expect(await verifier.verify(signJwt(rsa, claims({ nbf: NOW_S + 60 })))).toMatchObject({ ok: true });
      expect(await verifier.verify(signJwt(rsa, claims({ iat: NOW_S + 60 })))).toMatchObject({ ok: true });
      expect(await verifier.verify(signJwt(rsa, claims({ nbf: NOW_S + 30, iat: NOW_S + 30 })))).toMatchObject({
        ok: true,
      });
    });

    it('tolerance 0 accepts nbf equal to now', async () => {
      const { verifier } = setup();
      const t = signJwt(es, claims({ iss: ISS_STRICT, nbf: NOW_S, iat: NOW_S, preferred_username: 'b' }));
      expect(await verifier.verify(t)).toMatchObject({ ok: true });
    });
  });

  describe('issuer configuration', () => {
    const base = { issuer: ISS, jwksUri: JWKS_URI, audiences: ['tollgate'] };
    it.each([
      ['HS256', ['HS256']],
      ['HS512 among others', ['RS256', 'HS512']],
      ['none', ['none']],
      ['an unknown algorithm', ['RS1']],
      ['empty', []],
    ])('refuses an allow-list with %s', (_n, algorithms) => {
      expect(() => new IssuerRegistry([{ ...base, algorithms }])).toThrow(IssuerConfigError);
    });

    it.each<[string, Partial<IssuerConfig>, string]>([
      ['no audience', { audiences: [] }, 'trustedIssuers[0].audiences'],
      ['both jwks and jwksUri', { jwks: { keys: [] } }, 'trustedIssuers[0].jwks'],
      ['neither jwks nor jwksUri', { jwksUri: undefined }, 'trustedIssuers[0].jwks'],
      ['a bad jwksUri', { jwksUri: 'ftp://x' }, 'trustedIssuers[0].jwksUri'],
      ['the reserved issuer', { issuer: 'tollgate' }, 'trustedIssuers[0].issuer'],
      ['a negative tolerance', { clockToleranceSeconds: -1 }, 'trustedIssuers[0].clockToleranceSeconds'],
    ])('refuses %s, naming the field', (_n, over, field) => {
      let err: unknown;
      try {
        new IssuerRegistry([{ ...base, algorithms: ['RS256'], ...over }]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IssuerConfigError);
      expect((err as IssuerConfigError).field).toBe(field);
    });

    it('refuses duplicate issuers', () => {
      expect(
        () =>
          new IssuerRegistry([
            { ...base, algorithms: ['RS256'] },
            { ...base, algorithms: ['ES256'] },
          ]),
      ).toThrow(/trustedIssuers\[1\]\.issuer/);
    });
  });
});

describe('TokenVerifier: verified-token cache', () => {
  it('a repeated token does no signature work and no key lookup', async () => {
    const { verifier, signatureChecks, fetchCalls } = setup();
    const token = signJwt(rsa, claims());
    expect(verifier.lookupVerified(token)).toBeUndefined();
    const first = await verifier.verify(token);
    expect(first).toMatchObject({ ok: true, cached: false });
    expect(signatureChecks.count).toBe(1);
    expect(fetchCalls).toHaveLength(1);
    const second = await verifier.verify(token);
    expect(second).toMatchObject({ ok: true, cached: true });
    expect(signatureChecks.count).toBe(1);
    expect(fetchCalls).toHaveLength(1);
    // The hot path: synchronous, same claims.
    expect(verifier.lookupVerified(token)).toBe(first.ok ? first.token : undefined);
    expect(signatureChecks.count).toBe(1);
  });

  it('a different token string (same claims) is verified on its own', async () => {
    const { verifier, signatureChecks } = setup();
    await verifier.verify(signJwt(rsa, claims()));
    await verifier.verify(signJwt(ed, claims()));
    expect(signatureChecks.count).toBe(2);
  });

  it('failures are not cached as successes', async () => {
    const { verifier } = setup();
    const bad = signJwt(attackerRsa, claims());
    expect((await verifier.verify(bad)).ok).toBe(false);
    expect(verifier.lookupVerified(bad)).toBeUndefined();
  });

  it('concurrent verifications of one token share one signature check', async () => {
    const { verifier, signatureChecks } = setup();
    const token = signJwt(rsa, claims());
    const results = await Promise.all([verifier.verify(token), verifier.verify(token), verifier.verify(token)]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(signatureChecks.count).toBe(1);
  });

  it('is keyed by the raw token and bounded, a token read since it was last considered spared once', () => {
    let now = T0;
    const cache = new VerifiedTokenCache({ maxEntries: 2, now: () => now });
    const v = (sub: string, exp = T0 + 10_000) => ({
      kind: 'jwt' as const,
      issuer: ISS,
      subject: sub,
      expiresAt: exp,
      claims: {},
    });
    cache.set('t1', v('1'));
    cache.set('t2', v('2'));
    expect(cache.get('t1')?.subject).toBe('1'); // t1 read: spared by the next eviction
    cache.set('t3', v('3'));
    expect(cache.get('t2')).toBeUndefined();
    expect(cache.get('t1')?.subject).toBe('1');
    expect(cache.get('t3')?.subject).toBe('3');
    expect(cache.size).toBe(2);
    cache.set('late', v('late', T0));
    expect(cache.get('late')).toBeUndefined();
    now = T0 + 10_000;
    expect(cache.get('t1')).toBeUndefined();
    expect(cache.prune()).toBe(1);
    expect(cache.size).toBe(0);
  });

  const verified = (sub: string) => ({
    kind: 'jwt' as const,
    issuer: ISS,
    subject: sub,
    expiresAt: T0 + 10_000,
    claims: {},
  });

  it('a flood of distinct tokens stays within maxEntries and maxTokenChars; the token in use survives', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 100, maxTokenChars: 50 * 40, now: () => T0 });
    const inUse = 'u'.repeat(40);
    cache.set(inUse, verified('in-use'));
    for (let i = 0; i < 10_000; i++) {
      cache.set(`flood-${i}`.padEnd(40, 'x'), verified(String(i)));
      if (i % 10 === 0) expect(cache.get(inUse)?.subject).toBe('in-use');
    }
    // The character budget binds first: 50 tokens of 40 characters.
    expect(cache.size).toBe(50);
    expect(cache.heldTokenChars).toBe(50 * 40);
    const byCount = new VerifiedTokenCache({ maxEntries: 100, now: () => T0 });
    for (let i = 0; i < 10_000; i++) byCount.set(`t-${i}`, verified(String(i)));
    expect(byCount.size).toBe(100);
    // A token longer than the whole budget is not held at all.
    const small = new VerifiedTokenCache({ maxTokenChars: 10, now: () => T0 });
    small.set('x'.repeat(11), verified('big'));
    expect(small.size).toBe(0);
    expect(small.heldTokenChars).toBe(0);
  });

  it('two tokens ending alike: each is only ever answered for itself, and the later one takes the place', () => {
    const cache = new VerifiedTokenCache({ now: () => T0 });
    const tail = 's'.repeat(40);
    cache.set(`a.${tail}`, verified('a'));
    expect(cache.get(`b.${tail}`)).toBeUndefined();
    expect(cache.get(`a.${tail}`)?.subject).toBe('a');
    cache.set(`bb.${tail}`, verified('b'));
    expect(cache.get(`a.${tail}`)).toBeUndefined();
    expect(cache.get(`bb.${tail}`)?.subject).toBe('b');
    cache.delete(`a.${tail}`);
    expect(cache.get(`bb.${tail}`)?.subject).toBe('b');
    expect(cache.size).toBe(1);
    expect(cache.heldTokenChars).toBe(`bb.${tail}`.length);
  });

  it('a cached token stops being accepted at its exp, through lookupVerified and verify', async () => {
    const { verifier, setNow, signatureChecks } = setup();
    const token = signJwt(rsa, claims({ exp: NOW_S + 60 }));
    expect(await verifier.verify(token)).toMatchObject({ ok: true, cached: false });
    setNow(T0 + 59_999);
    expect(verifier.lookupVerified(token)).toBeDefined();
    setNow(T0 + 60_000);
    expect(verifier.lookupVerified(token)).toBeUndefined();
    expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'token-expired' });
    expect(signatureChecks.count).toBe(2);
  });

  it("a key removed from the issuer's JWKS drops the tokens cached under it; a key only added does not", async () => {
    const { verifier, docs, registry, signatureChecks } = setup();
    const byRsa = signJwt(rsa, claims());
    const byEd = signJwt(ed, claims({ sub: 'bob' }));
    expect((await verifier.verify(byRsa)).ok).toBe(true);
    expect((await verifier.verify(byEd)).ok).toBe(true);
    const jwks = registry.get(ISS)!.jwks;
    // A key added (rotation announced): nothing cached changes.
    docs.set(JWKS_URI, { keys: [rsa.publicJwk, ed.publicJwk, es.publicJwk] });
    expect(await jwks.refresh()).toBe(true);
    expect(verifier.lookupVerified(byRsa)).toBeDefined();
    expect(verifier.lookupVerified(byEd)).toBeDefined();
    // The RSA key removed: no token of the issuer is taken from the cache any more, and the RSA one fails.
    docs.set(JWKS_URI, { keys: [ed.publicJwk] });
    expect(await jwks.refresh()).toBe(true);
    expect(verifier.lookupVerified(byRsa)).toBeUndefined();
    expect(verifier.lookupVerified(byEd)).toBeUndefined();
    expect(await verifier.verify(byRsa)).toMatchObject({ ok: false, reason: 'token-invalid' });
    expect(await verifier.verify(byEd)).toMatchObject({ ok: true, cached: false });
    expect(signatureChecks.count).toBe(3);
  });

  it('a key replaced under the same kid drops the cached tokens', async () => {
    const { verifier, docs, registry } = setup();
    const token = signJwt(rsa, claims());
    expect((await verifier.verify(token)).ok).toBe(true);
    docs.set(JWKS_URI, { keys: [attackerRsa.publicJwk, ed.publicJwk] });
    expect(await registry.get(ISS)!.jwks.refresh()).toBe(true);
    expect(verifier.lookupVerified(token)).toBeUndefined();
    expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'token-invalid' });
  });

  it('a key set changed while a verification runs: its result is not served from the cache', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { verifier, docs, registry } = setup({
      verifySignature: async (token, key, alg) => {
        await gate;
        await joseSignatureVerifier(token, key, alg);
      },
    });
    const token = signJwt(rsa, claims());
    const pending = verifier.verify(token);
    // Let the verification reach the (held) signature check, then rotate the key away.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    docs.set(JWKS_URI, { keys: [ed.publicJwk] });
    expect(await registry.get(ISS)!.jwks.refresh()).toBe(true);
    release();
    expect((await pending).ok).toBe(true);
    expect(verifier.lookupVerified(token)).toBeUndefined();
  });
});
