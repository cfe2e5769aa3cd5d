import { createHash } from 'node:crypto';
import { codeChallenge, decodeBinding, encodeBinding, LOGIN_TTL_MS, newBinding, sameSecret } from './browser-binding';
import { clearCookie, cookieValue, setCookie } from './cookies';

describe('console sign-in: the browser binding', () => {
  const now = 1_800_000_000_000;

  it('draws fresh 256-bit values each time and round-trips through the cookie', () => {
    const a = newBinding(now);
    const b = newBinding(now);
    expect(a.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([a.state, a.nonce, a.codeVerifier, b.state, b.nonce, b.codeVerifier]).size).toBe(6);
    expect(a.expiresAt).toBe(now + LOGIN_TTL_MS);
    expect(decodeBinding(encodeBinding(a), now)).toEqual(a);
  });

  it('refuses an expired, malformed or oversized cookie', () => {
    const binding = newBinding(now);
    expect(decodeBinding(encodeBinding(binding), binding.expiresAt)).toBeUndefined();
    for (const value of [
      undefined,
      '',
      'x',
      Buffer.from('{"__proto__":1}').toString('base64url'),
      Buffer.from(JSON.stringify(['short', binding.nonce, binding.codeVerifier, now + 1])).toString('base64url'),
      Buffer.from(JSON.stringify([binding.state, binding.nonce, binding.codeVerifier, 'later'])).toString('base64url'),
      'A'.repeat(2000),
    ]) {
      expect(decodeBinding(value, now)).toBeUndefined();
    }
  });

  it('computes the S256 challenge of RFC 7636 (appendix B)', () => {
    expect(codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
    expect(codeChallenge('v')).toBe(createHash('sha256').update('v').digest('base64url'));
  });

  it('compares secrets exactly, refusing non-strings', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abd', 'abc')).toBe(false);
    expect(sameSecret('ab', 'abc')).toBe(false);
    expect(sameSecret(['abc'], 'abc')).toBe(false);
    expect(sameSecret(undefined, 'abc')).toBe(false);
  });
});

describe('console sign-in: cookies', () => {
  it('reads the named cookie only', () => {
    expect(cookieValue('a=1; tollgate_x=two; b=3', 'tollgate_x')).toBe('two');
    expect(cookieValue('xtollgate_x=no', 'tollgate_x')).toBeUndefined();
    expect(cookieValue(undefined, 'a')).toBeUndefined();
    expect(cookieValue(['a=1', 'b=2'], 'b')).toBe('2');
  });

  it('writes HttpOnly, Secure, SameSite cookies and clears them with Max-Age=0', () => {
    expect(setCookie('n', 'v', { path: '/p', maxAgeSeconds: 60, sameSite: 'Strict' })).toBe(
      'n=v; Path=/p; Max-Age=60; HttpOnly; Secure; SameSite=Strict',
    );
    expect(clearCookie('n', { path: '/p', sameSite: 'Lax' })).toBe(
      'n=; Path=/p; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
    );
  });
});
