import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What binds an OIDC sign-in to the browser that started it (RFC 6749 `state`, OIDC `nonce`, RFC 7636 PKCE
 * `code_verifier`), carried in an HttpOnly cookie between the start and the callback. Pure functions.
 */
export interface LoginBinding {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Epoch ms after which the callback is refused. */
  expiresAt: number;
}

/** A sign-in must come back within this long. */
export const LOGIN_TTL_MS = 10 * 60_000;

const random = (): string => randomBytes(32).toString('base64url');

export function newBinding(now: number): LoginBinding {
  return { state: random(), nonce: random(), codeVerifier: random(), expiresAt: now + LOGIN_TTL_MS };
}

/** PKCE S256: base64url(SHA-256(verifier)). */
export const codeChallenge = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

export const encodeBinding = (b: LoginBinding): string =>
  Buffer.from(JSON.stringify([b.state, b.nonce, b.codeVerifier, b.expiresAt])).toString('base64url');

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The binding in a cookie value, or undefined when it is missing, malformed or expired. */
export function decodeBinding(value: string | undefined, now: number): LoginBinding | undefined {
  if (value === undefined || value.length > 1024) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return undefined;
  const [state, nonce, codeVerifier, expiresAt] = parsed as unknown[];
  if (![state, nonce, codeVerifier].every((v) => typeof v === 'string' && TOKEN.test(v))) return undefined;
  if (typeof expiresAt !== 'number' || !(now < expiresAt)) return undefined;
  return { state: state as string, nonce: nonce as string, codeVerifier: codeVerifier as string, expiresAt };
}

/** Constant-time equality of two strings (a `state` or a `nonce`); false for any non-string. */
export function sameSecret(a: unknown, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
