import { hash, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { base62Digit, decodeBase62Uint, encodeBase62Uint, randomBase62, type RandomBytes } from './base62';

/** The three kinds of Tollgate keys (CONTRACT section 1). */
export type KeyKind = 'inference' | 'management' | 'access';

export const KEY_PREFIXES = {
  inference: 'tgi_',
  management: 'tgm_',
  access: 'tga_',
} as const satisfies Record<KeyKind, string>;

export type KeyPrefix = (typeof KEY_PREFIXES)[KeyKind];

const KIND_BY_PREFIX: ReadonlyMap<string, KeyKind> = new Map(
  (Object.entries(KEY_PREFIXES) as Array<[KeyKind, string]>).map(([kind, prefix]) => [prefix, kind]),
);

export const KEY_RANDOM_LENGTH = 32;
export const KEY_CHECKSUM_LENGTH = 6;
export const KEY_PREFIX_LENGTH = 4;
/** Total length of a key: 4 + 32 + 6 = 42. */
export const KEY_LENGTH = KEY_PREFIX_LENGTH + KEY_RANDOM_LENGTH + KEY_CHECKSUM_LENGTH;

/**
 * The published scanner regex (CONTRACT section 1). Not global, so `test` is stateless; to find every key in
 * a text, with checksums verified, use `findKeysInText`.
 */
export const KEY_SCANNER_REGEX = /\btg[ima]_[0-9A-Za-z]{38}\b/;
/** The same pattern as a source string, for scanners that build their own RegExp. */
export const KEY_SCANNER_PATTERN = String.raw`\btg[ima]_[0-9A-Za-z]{38}\b`;

/** The 6-character base62 checksum of `prefix + random`. */
export function keyChecksum(prefixAndRandom: string): string {
  return encodeBase62Uint(crc32(prefixAndRandom), KEY_CHECKSUM_LENGTH);
}

export function kindOfPrefix(prefix: string): KeyKind | undefined {
  return KIND_BY_PREFIX.get(prefix);
}

/** A fresh key of the given kind: `prefix + 32 base62 random + 6 base62 CRC-32`. Show it once, store its hash. */
export function generateKey(kind: KeyKind, options: { randomBytes?: RandomBytes } = {}): string {
  const prefix = KEY_PREFIXES[kind];
  if (prefix === undefined) throw new TypeError(`unknown key kind: ${String(kind)}`);
  const body = prefix + randomBase62(KEY_RANDOM_LENGTH, options.randomBytes);
  return body + keyChecksum(body);
}

export type ParsedKey =
  | { ok: true; kind: KeyKind; prefix: KeyPrefix; random: string; checksum: string; key: string }
  | {
      ok: false;
      /**
       * `credential-malformed`: it has a Tollgate prefix but a wrong length, alphabet or checksum.
       * `not-a-key`: not a Tollgate key at all (no `tgi_`/`tgm_`/`tga_` prefix, compared exactly).
       */
      reason: 'credential-malformed' | 'not-a-key';
      /** Set when the prefix was recognised. */
      kind?: KeyKind;
    };

/** Is `s` a Tollgate key, and if so of which kind? Pure and offline; says nothing about whether it was issued. */
export function parseKey(s: string): ParsedKey {
  if (typeof s !== 'string') return { ok: false, reason: 'not-a-key' };
  const prefix = s.slice(0, KEY_PREFIX_LENGTH);
  const kind = KIND_BY_PREFIX.get(prefix);
  if (kind === undefined) return { ok: false, reason: 'not-a-key' };
  if (s.length !== KEY_LENGTH) return { ok: false, reason: 'credential-malformed', kind };
  // Checked on every request by the authorizer: no intermediate strings. A base62 checksum of fixed width
  // is unique per value, so comparing the decoded number is comparing the text.
  const checksumStart = KEY_PREFIX_LENGTH + KEY_RANDOM_LENGTH;
  for (let i = KEY_PREFIX_LENGTH; i < checksumStart; i++) {
    if (base62Digit(s.charCodeAt(i)) < 0) return { ok: false, reason: 'credential-malformed', kind };
  }
  const written = decodeBase62Uint(s, checksumStart, KEY_LENGTH);
  // The prefix and the random part are ASCII (checked above), so their UTF-8 bytes are the characters.
  if (written < 0 || written !== crc32(s.slice(0, checksumStart)))
    return { ok: false, reason: 'credential-malformed', kind };
  return {
    ok: true,
    kind,
    prefix: prefix as KeyPrefix,
    random: s.slice(KEY_PREFIX_LENGTH, checksumStart),
    checksum: s.slice(checksumStart),
    key: s,
  };
}

export interface FoundKey {
  key: string;
  kind: KeyKind;
  /** Offset of the match in the scanned text (UTF-16 code units). */
  index: number;
}

/** Every match of the scanner regex in `text` whose checksum is valid (offline secret scanning). */
export function findKeysInText(text: string): FoundKey[] {
  const found: FoundKey[] = [];
  const re = new RegExp(KEY_SCANNER_REGEX.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const parsed = parseKey(m[0]);
    if (parsed.ok) found.push({ key: m[0], kind: parsed.kind, index: m.index });
  }
  return found;
}

/** SHA-256 of a secret (key, token, SCIM bearer token) as lowercase hex: the only form that is ever stored. */
export function hashSecret(secret: string): string {
  // One-shot hash: about half the cost of a createHash object per call, and this runs on every request.
  return hash('sha256', secret, 'hex');
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/**
 * Compare two hex strings (e.g. SHA-256 digests) in time independent of where they differ. Different
 * lengths or non-hex input compare unequal (lengths of digests are not secret).
 */
export function constantTimeEqualHex(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  if (a.length !== b.length || a.length % 2 !== 0 || !HEX_RE.test(a) || !HEX_RE.test(b)) return false;
  const ba = Buffer.from(a.toLowerCase(), 'hex');
  const bb = Buffer.from(b.toLowerCase(), 'hex');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** Prefixes of the typed opaque ids. */
export const ID_PREFIXES = ['key', 'usr', 'prj', 'dep', 'evt', 'req'] as const;
export type IdPrefix = (typeof ID_PREFIXES)[number];
export type TypedId<P extends IdPrefix = IdPrefix> = `${P}_${string}`;

export const ID_RANDOM_LENGTH = 16;

/** A new opaque id: `<prefix>_` + 16 base62 random characters (about 95 bits), e.g. `key_3fK9...`. */
export function newId<P extends IdPrefix>(prefix: P, options: { randomBytes?: RandomBytes } = {}): TypedId<P> {
  if (!(ID_PREFIXES as readonly string[]).includes(prefix)) throw new TypeError(`unknown id prefix: ${String(prefix)}`);
  return `${prefix}_${randomBase62(ID_RANDOM_LENGTH, options.randomBytes)}`;
}

const ID_RE = /^(key|usr|prj|dep|evt|req)_[0-9A-Za-z]{16}$/;

/** Is `s` an id made by `newId` (optionally of the given prefix)? */
export function isId<P extends IdPrefix>(s: unknown, prefix?: P): s is TypedId<P> {
  if (typeof s !== 'string' || !ID_RE.test(s)) return false;
  return prefix === undefined || s.startsWith(`${prefix}_`);
}
