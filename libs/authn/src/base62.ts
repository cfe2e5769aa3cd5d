import { randomBytes as nodeRandomBytes } from 'node:crypto';

/** The base62 alphabet of the contract, in this exact order. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A source of cryptographically strong random bytes (injectable for tests). */
export type RandomBytes = (size: number) => Uint8Array;

const BASE62_RE = /^[0-9A-Za-z]*$/;

export function isBase62(s: string): boolean {
  return BASE62_RE.test(s);
}

/**
 * `length` characters of base62 from crypto randomness, without modulo bias: bytes >= 248 (= 4 * 62) are
 * rejected, so every accepted byte maps to each of the 62 characters with exactly the same probability.
 */
export function randomBase62(length: number, randomBytes: RandomBytes = nodeRandomBytes): string {
  if (!Number.isInteger(length) || length < 0) throw new RangeError('length must be a non-negative integer');
  let out = '';
  while (out.length < length) {
    const need = length - out.length;
    // 248/256 of bytes are accepted; ask for a few more than needed so one round almost always suffices.
    const bytes = randomBytes(need + (need >> 3) + 4);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const b = bytes[i]!;
      if (b < 248) out += BASE62_ALPHABET[b % 62];
    }
  }
  return out;
}

/** An unsigned integer in base62, most significant digit first, left-padded with `0` to `width`. */
export function encodeBase62Uint(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('value must be a non-negative safe integer');
  let out = '';
  let v = value;
  do {
    out = BASE62_ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  } while (v > 0);
  if (out.length > width) throw new RangeError(`value does not fit in ${width} base62 digits`);
  return out.padStart(width, '0');
}

/** The base62 digit of a character code (alphabet `0-9A-Za-z`), or -1. */
export function base62Digit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 90) return code - 55;
  if (code >= 97 && code <= 122) return code - 61;
  return -1;
}

/** The number written in base62 in `s[start, end)` (most significant first), or -1 if a character is not base62. */
export function decodeBase62Uint(s: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = base62Digit(s.charCodeAt(i));
    if (digit < 0) return -1;
    value = value * 62 + digit;
  }
  return value;
}
