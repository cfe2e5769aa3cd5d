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
// RFC 9110 auth-scheme is a token; the credentials are one run of visible ASCII (token68 and a bit more).
const SCHEME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CREDENTIALS_RE = /^[\x21-\x7e]+$/;
const SCHEME_SPLIT_RE = /^(\S+)(?:[ \t]+(.*))?$/s;
const OWS_RE = /^[ \t]+|[ \t]+$/g;

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
  const value = raw.replace(OWS_RE, '');
  if (value === '') return { type: 'none' };
  if (value.length > MAX_CREDENTIAL_LENGTH) return MALFORMED('too-long');
  const m = SCHEME_SPLIT_RE.exec(value);
  if (m === null || !SCHEME_RE.test(m[1]!)) return MALFORMED('unknown-scheme');
  const scheme = m[1]!.toLowerCase();
  const credentials = m[2];
  if (scheme !== 'bearer' && scheme !== 'apikey') return MALFORMED('unknown-scheme');
  if (credentials === undefined || credentials === '') return MALFORMED('no-credentials');
  if (!CREDENTIALS_RE.test(credentials)) return MALFORMED('not-a-key-or-jwt');
  const key = parseKey(credentials);
  if (key.ok) return { type: 'key', kind: key.kind, key: credentials, scheme };
  if (key.reason === 'credential-malformed') return MALFORMED('bad-key');
  if (scheme === 'bearer' && JWS_COMPACT_RE.test(credentials)) return { type: 'jwt', token: credentials };
  return MALFORMED('not-a-key-or-jwt', credentials);
}

/** Classify a model access key value (header or JSON body). */
export function parseAccessKey(value: string | readonly string[] | null | undefined): AccessKeyCredential {
  const raw = single(value);
  if (raw === 'multiple') return { type: 'malformed', reason: 'credential-malformed' };
  if (raw === undefined) return { type: 'none' };
  const v = raw.replace(OWS_RE, '');
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
