import { parseKey, type KeyKind } from './keys';

/**
 * Credential extraction: from the `Authorization` header value and the optional model access key
 * (`X-Model-Access-Key` header or JSON `accessKey`), what did the client present? Pure: no lookups, no
 * verification. Query strings are never an input (CONTRACT section 1: a credential there is ignored).
 */

export type AuthScheme = 'bearer' | 'apikey';

/** What the `Authorization` header carries. */
export type AuthorizationCredential =
  /** No `Authorization` header (or an empty one). */
  | { type: 'none' }
  /** A well-formed Tollgate key (checksum verified); `kind` from its prefix. Not yet looked up. */
  | { type: 'key'; kind: KeyKind; key: string; scheme: AuthScheme }
  /** A three-part compact JWS under `Bearer`; not yet verified (the signature part may be empty). */
  | { type: 'jwt'; token: string }
  /**
   * `credential-malformed`: an unknown scheme, a Tollgate-prefixed string with a bad length, alphabet or
   * checksum, or anything else that is neither a key nor a JWT. `opaque` is the credential string when the
   * scheme was `Bearer`/`ApiKey` and it had no Tollgate prefix, so the management API can compare it with
   * the bootstrap admin credential; it is a secret like any other: never log it.
   */
  | { type: 'malformed'; reason: 'credential-malformed'; detail: MalformedDetail; opaque?: string };

export type MalformedDetail =
  'multiple-headers' | 'too-long' | 'no-credentials' | 'unknown-scheme' | 'bad-key' | 'not-a-key-or-jwt';

/** What the model access key input carries. */
export type AccessKeyCredential =
  | { type: 'none' }
  /** A well-formed `tga_` key (checksum verified); not yet looked up. */
  | { type: 'key'; key: string }
  /** A well-formed Tollgate key of another kind (`tgi_`, `tgm_`): never an access key. */
  | { type: 'invalid'; reason: 'access-key-invalid' }
  /** Not a well-formed Tollgate key. */
  | { type: 'malformed'; reason: 'credential-malformed' };

export interface PresentedCredentials {
  authorization: AuthorizationCredential;
  accessKey: AccessKeyCredential;
  /** True when neither input carried anything: the request is `credential-missing`. */
  missing: boolean;
}

export interface CredentialInputs {
  /** The whole `Authorization` header value(s) exactly as received. */
  authorization?: string | readonly string[] | null;
  /** `X-Model-Access-Key` header value(s), or the JSON body's `accessKey`. */
  accessKey?: string | readonly string[] | null;
}

/** Longest credential value considered; longer ones are malformed (no parsing work on huge inputs). */
export const MAX_CREDENTIAL_LENGTH = 16 * 1024;

const JWS_COMPACT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

// Parsing below scans character codes instead of running regexes (it is on every check). The rules are
// those of RFC 9110: optional whitespace (space, tab) around the value, an auth-scheme token, one or more
// spaces or tabs, then the credentials as one run of visible ASCII (token68 and a bit more). Only the
// schemes `Bearer` and `ApiKey` (ASCII, any case) are accepted; any other scheme, or a scheme not followed
// by a space or a tab, is `unknown-scheme`.
const SPACE = 0x20;
const TAB = 0x09;

/** `s` without leading and trailing spaces and tabs (the same string when there are none). */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === SPACE || s.charCodeAt(start) === TAB)) start++;
  while (end > start && (s.charCodeAt(end - 1) === SPACE || s.charCodeAt(end - 1) === TAB)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Does `s` start with the lowercase ASCII word `lower`, compared ASCII case-insensitively? */
function startsWithAsciiCi(s: string, lower: string): boolean {
  if (s.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = s.charCodeAt(i);
    // ASCII upper case to lower case; every other code unit as is.
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

const NOT_VISIBLE = 0;
const VISIBLE = 1;
const COMPACT_JWS = 2;

/** A base64url alphabet code unit (`A-Z a-z 0-9 - _`)? */
function isBase64Url(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
}

/**
 * One pass over `s` from `from` on: `NOT_VISIBLE` when a code unit is not visible ASCII (0x21..0x7e), else
 * `COMPACT_JWS` when the rest has the shape of `JWS_COMPACT_RE` (two non-empty base64url segments and a
 * possibly empty third, separated by dots), else `VISIBLE`.
 */
function scanCredentials(s: string, from: number): typeof NOT_VISIBLE | typeof VISIBLE | typeof COMPACT_JWS {
  let jws = true;
  let dots = 0;
  let segmentStart = from;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return NOT_VISIBLE;
    if (!jws) continue;
    if (c === 0x2e) {
      if (i === segmentStart || dots === 2) jws = false;
      else {
        dots++;
        segmentStart = i + 1;
      }
    } else if (!isBase64Url(c)) jws = false;
  }
  return jws && dots === 2 ? COMPACT_JWS : VISIBLE;
}

/** Is `s` shaped like a compact JWS (`header.payload.signature`, base64url; the signature may be empty)? */
export function looksLikeCompactJws(s: string): boolean {
  return s.length <= MAX_CREDENTIAL_LENGTH && JWS_COMPACT_RE.test(s);
}

function single(value: string | readonly string[] | null | undefined): string | undefined | 'multiple' {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value.length === 0) return undefined;
  if (value.length > 1) return 'multiple';
  return value[0];
}

const MALFORMED = (detail: MalformedDetail, opaque?: string): AuthorizationCredential =>
  opaque === undefined
    ? { type: 'malformed', reason: 'credential-malformed', detail }
    : { type: 'malformed', reason: 'credential-malformed', detail, opaque };

/** Classify an `Authorization` header value. */
export function parseAuthorization(header: string | readonly string[] | null | undefined): AuthorizationCredential {
  const raw = single(header);
  if (raw === 'multiple') return MALFORMED('multiple-headers');
  if (raw === undefined) return { type: 'none' };
  const value = trimOws(raw);
  if (value === '') return { type: 'none' };
  if (value.length > MAX_CREDENTIAL_LENGTH) return MALFORMED('too-long');
  // Both accepted schemes are six letters long.
  const scheme: AuthScheme | undefined = startsWithAsciiCi(value, 'bearer')
    ? 'bearer'
    : startsWithAsciiCi(value, 'apikey')
      ? 'apikey'
      : undefined;
  if (scheme === undefined) return MALFORMED('unknown-scheme');
  if (value.length === 6) return MALFORMED('no-credentials');
  let i = 6;
  for (let c = value.charCodeAt(i); c === SPACE || c === TAB; c = value.charCodeAt(i)) i++;
  // A longer token (`Bearerx`) or another separator (`Bearer\n`) is another scheme.
  if (i === 6) return MALFORMED('unknown-scheme');
  // Trailing spaces and tabs were trimmed: something follows the separator.
  if (i === value.length) return MALFORMED('no-credentials');
  const shape = scanCredentials(value, i);
  if (shape === NOT_VISIBLE) return MALFORMED('not-a-key-or-jwt');
  const credentials = value.slice(i);
  const key = parseKey(credentials);
  if (key.ok) return { type: 'key', kind: key.kind, key: credentials, scheme };
  if (key.reason === 'credential-malformed') return MALFORMED('bad-key');
  if (scheme === 'bearer' && shape === COMPACT_JWS) return { type: 'jwt', token: credentials };
  return MALFORMED('not-a-key-or-jwt', credentials);
}

/** Classify a model access key value (header or JSON body). */
export function parseAccessKey(value: string | readonly string[] | null | undefined): AccessKeyCredential {
  const raw = single(value);
  if (raw === 'multiple') return { type: 'malformed', reason: 'credential-malformed' };
  if (raw === undefined) return { type: 'none' };
  const v = trimOws(raw);
  if (v === '') return { type: 'none' };
  const key = parseKey(v);
  if (!key.ok) return { type: 'malformed', reason: 'credential-malformed' };
  if (key.kind !== 'access') return { type: 'invalid', reason: 'access-key-invalid' };
  return { type: 'key', key: v };
}

/** Everything the client presented, classified. */
export function extractCredentials(inputs: CredentialInputs): PresentedCredentials {
  const authorization = parseAuthorization(inputs.authorization);
  const accessKey = parseAccessKey(inputs.accessKey);
  return { authorization, accessKey, missing: authorization.type === 'none' && accessKey.type === 'none' };
}
