import { createPublicKey } from 'node:crypto';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import {
  ed25519Thumbprint,
  generateServiceSigningKey,
  loadServiceSigningKey,
  serviceTokenAnchor,
  ServiceTokenSigner,
  SIGN_IN_SOURCE,
} from './service-tokens';
import { IssuerRegistry } from './issuer-registry';
import { TokenVerifier } from './token-verifier';
import { edSigner, rsaSigner, signJwt, type TestSigner } from './testing';
import type { PublicJwk } from './types';

const T0 = Date.UTC(2026, 10, 26, 6, 30, 0);
const NOW_S = T0 / 1000;
const signingKey = generateServiceSigningKey();

function setup() {
  let now = T0;
  const clock = () => now;
  const published = new Map<string, PublicJwk>([[signingKey.kid, signingKey.publicJwk]]);
  const signer = new ServiceTokenSigner(signingKey, { now: clock });
  const verifier = new TokenVerifier({
    now: clock,
    serviceTokens: serviceTokenAnchor({ getKey: (kid) => published.get(kid) }),
    issuers: new IssuerRegistry([]),
  });
  return { signer, verifier, published, setNow: (ms: number) => (now = ms) };
}

/** A raw signer with the service key, to forge claims the signer would never produce. */
const raw: TestSigner = {
  kid: signingKey.kid,
  alg: 'EdDSA',
  privateKey: signingKey.privateKey,
  publicJwk: signingKey.publicJwk,
  publicPem: '',
};
const serviceClaims = (over: Record<string, unknown> = {}) => {
  const c: Record<string, unknown> = {
    iss: 'tollgate',
    aud: 'tollgate',
    sub: 'usr_0123456789abcdef',
    jti: 'j1',
    iat: NOW_S,
    exp: NOW_S + 3600,
    scope: 'inference',
    src: 'key_0123456789abcdef',
    ...over,
  };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
};

describe('service signing keys', () => {
  it('generates Ed25519 keys whose kid is the RFC 7638 thumbprint and whose JWK is public only', () => {
    const k = generateServiceSigningKey();
    expect(k.publicJwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expect.any(String),
      kid: k.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
    expect(k.kid).toBe(ed25519Thumbprint(String(k.publicJwk.x)));
    expect(k.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(createPublicKey(k.privateKey).export({ format: 'jwk' })).toMatchObject({ x: k.publicJwk.x });
  });

  it('reloads the same key from its PEM', () => {
    const again = loadServiceSigningKey(signingKey.privateKeyPem);
    expect(again.kid).toBe(signingKey.kid);
    expect(again.publicJwk).toEqual(signingKey.publicJwk);
    expect(loadServiceSigningKey(signingKey.privateKeyPem, 'custom').kid).toBe('custom');
  });

  it('refuses a non-Ed25519 key', () => {
    const rsa = rsaSigner();
    expect(() => new ServiceTokenSigner({ kid: 'x', privateKey: rsa.privateKey })).toThrow(TypeError);
  });
});

describe('ServiceTokenSigner', () => {
  it('signs EdDSA tokens with kid, iss/aud tollgate, sub, jti, iat, exp, scope and src', async () => {
    const { signer } = setup();
    const t = await signer.sign({ subject: 'usr_a', scope: 'inference', source: 'key_k' });
    expect(decodeProtectedHeader(t.token)).toEqual({ alg: 'EdDSA', kid: signingKey.kid, typ: 'JWT' });
    const { payload } = await jwtVerify(t.token, await importJWK(signingKey.publicJwk, 'EdDSA'), {
      issuer: 'tollgate',
      audience: 'tollgate',
      currentDate: new Date(T0),
    });
    expect(payload).toEqual({
      iss: 'tollgate',
      aud: 'tollgate',
      sub: 'usr_a',
      jti: t.jti,
      iat: NOW_S,
      exp: NOW_S + 3600,
      scope: 'inference',
      src: 'key_k',
    });
    expect(t).toMatchObject({ kid: signingKey.kid, issuedAt: T0, expiresAt: T0 + 3_600_000 });
  });

  it('makes a fresh jti each time', async () => {
    const { signer } = setup();
    const a = await signer.sign({ subject: 'u', scope: 'any', source: SIGN_IN_SOURCE });
    const b = await signer.sign({ subject: 'u', scope: 'any', source: SIGN_IN_SOURCE });
    expect(a.jti).not.toBe(b.jti);
    expect(a.token).not.toBe(b.token);
  });

  it.each([0, 86_401, 1.5, -1])('refuses a lifetime of %s seconds', async (s) => {
    const { signer } = setup();
    await expect(signer.sign({ subject: 'u', scope: 'inference', source: 'k', expiresInSeconds: s })).rejects.toThrow(
      RangeError,
    );
  });

  it('accepts 1, 3600 and (for machine users, when the key policy allows it) 86400 seconds', async () => {
    const { signer } = setup();
    expect((await signer.sign({ subject: 'u', scope: 'inference', source: 'k', expiresInSeconds: 1 })).expiresAt).toBe(
      T0 + 1000,
    );
    expect(
      (await signer.sign({ subject: 'u', scope: 'inference', source: 'k', expiresInSeconds: 3600 })).expiresAt,
    ).toBe(T0 + 3_600_000);
    expect(
      (await signer.sign({ subject: 'u', scope: 'inference', source: 'k', expiresInSeconds: 86_400 })).expiresAt,
    ).toBe(T0 + 86_400_000);
  });
});

describe('service token verification', () => {
  it('round-trips: kind, issuer, subject, scope, source', async () => {
    const { signer, verifier } = setup();
    const t = await signer.sign({ subject: 'usr_a', scope: 'management', source: 'key_m', expiresInSeconds: 600 });
    const r = await verifier.verify(t.token);
    expect(r).toMatchObject({
      ok: true,
      token: {
        kind: 'service-token',
        issuer: 'tollgate',
        subject: 'usr_a',
        issuedAt: T0,
        expiresAt: T0 + 600_000,
        serviceToken: { scope: 'management', source: 'key_m', jti: t.jti, kid: signingKey.kid },
      },
    });
    expect(r.ok && r.token.groups).toBeUndefined();
    expect(verifier.lookupVerified(t.token)).toBeDefined();
  });

  it('expires strictly at exp', async () => {
    const { signer, verifier, setNow } = setup();
    const t = await signer.sign({ subject: 'u', scope: 'inference', source: 'k', expiresInSeconds: 60 });
    setNow(T0 + 59_999);
    expect((await verifier.verify(t.token)).ok).toBe(true);
    setNow(T0 + 60_000);
    expect(verifier.lookupVerified(t.token)).toBeUndefined();
    expect(await verifier.verify(t.token)).toMatchObject({ ok: false, reason: 'token-expired' });
  });

  it('a kid not (or no longer) published is token-invalid', async () => {
    const { signer, verifier, published } = setup();
    const t = await signer.sign({ subject: 'u', scope: 'inference', source: 'k' });
    published.clear();
    expect(await verifier.verify(t.token)).toMatchObject({ ok: false, reason: 'token-invalid' });
  });

  const other = edSigner(signingKey.kid);
  it.each<[string, () => string, string]>([
    ['lifetime over 24 h', () => signJwt(raw, serviceClaims({ exp: NOW_S + 86_401 })), 'token-invalid'],
    ['no iat', () => signJwt(raw, serviceClaims({ iat: undefined })), 'token-invalid'],
    ['no jti', () => signJwt(raw, serviceClaims({ jti: undefined })), 'token-invalid'],
    ['no scope', () => signJwt(raw, serviceClaims({ scope: undefined })), 'token-invalid'],
    ['unknown scope', () => signJwt(raw, serviceClaims({ scope: 'admin' })), 'token-invalid'],
    ['no src', () => signJwt(raw, serviceClaims({ src: undefined })), 'token-invalid'],
    ['no sub', () => signJwt(raw, serviceClaims({ sub: undefined })), 'token-invalid'],
    ['wrong audience', () => signJwt(raw, serviceClaims({ aud: 'other' })), 'audience-mismatch'],
    ['signed by another key under the published kid', () => signJwt(other, serviceClaims()), 'token-invalid'],
    ['another algorithm', () => signJwt(rsaSigner(signingKey.kid), serviceClaims()), 'token-invalid'],
    ['embedded jwk', () => signJwt(other, serviceClaims(), { jwk: other.publicJwk }), 'token-invalid'],
    ['well-formed forgery is accepted only with the right key (control)', () => signJwt(raw, serviceClaims()), 'ok'],
  ])('%s', async (_n, make, reason) => {
    const { verifier } = setup();
    const r = await verifier.verify(make());
    if (reason === 'ok') expect(r.ok).toBe(true);
    else expect(r).toMatchObject({ ok: false, reason });
  });

  it('without service-token verification configured, iss tollgate is an untrusted issuer', async () => {
    const { signer } = setup();
    const t = await signer.sign({ subject: 'u', scope: 'inference', source: 'k' });
    const verifier = new TokenVerifier({ issuers: new IssuerRegistry([]), now: () => T0 });
    expect(await verifier.verify(t.token)).toMatchObject({ ok: false, reason: 'issuer-untrusted' });
  });
});
