import { compactVerify } from 'jose';
import type { IssuerRegistry, Issuer } from './issuer-registry';
import { SERVICE_TOKEN_ISSUER } from './issuer-registry';
import { type KeySetVersion, VerifiedTokenCache } from './verified-token-cache';
import {
  systemClock,
  type Clock,
  type ExpiredServiceToken,
  type ServiceTokenFacts,
  type TokenFailureReason,
  type TokenKind,
  type TokenVerification,
  type VerifiedToken,
  type VerificationKey,
} from './types';

/** Checks the signature of a compact JWS with `key` and `alg`; throws when it does not verify. */
export type SignatureVerifier = (token: string, key: VerificationKey, alg: string) => Promise<void>;

/** The default: jose's `compactVerify`, restricted to the one algorithm already checked against the allow-list. */
export const joseSignatureVerifier: SignatureVerifier = async (token, key, alg) => {
  await compactVerify(token, key, { algorithms: [alg] });
};

/** What a token is verified against: a trusted issuer or Tollgate itself. */
export interface TrustAnchor {
  kind: TokenKind;
  issuer: string;
  audiences: readonly string[];
  algorithms: ReadonlySet<string>;
  clockToleranceSeconds: number;
  subjectClaim: string;
  groupsClaim: string | undefined;
  environment: string | undefined;
  /** Trusted issuers: the IdP connector whose subjects this issuer's subjects are. */
  idpConnector?: string;
  /**
   * The key set `getKey` reads, when it can change (a remote JWKS): a cached verification is dropped once its
   * generation moves.
   */
  keySet?: KeySetVersion;
  /** The key for `kid` usable with `alg`, or undefined (the token is then invalid: fail closed). */
  getKey(kid: string, alg: string): Promise<VerificationKey | undefined>;
  /** Further checks of the verified claims (service tokens: scope, source, lifetime). */
  checkClaims?(
    claims: Record<string, unknown>,
    kid: string,
  ): { ok: true; serviceToken?: ServiceTokenFacts } | { ok: false; detail: string };
}

export function issuerAnchor(issuer: Issuer): TrustAnchor {
  return {
    kind: 'jwt',
    issuer: issuer.issuer,
    audiences: issuer.audiences,
    algorithms: issuer.algorithms,
    clockToleranceSeconds: issuer.clockToleranceSeconds,
    subjectClaim: issuer.subjectClaim,
    groupsClaim: issuer.groupsClaim,
    environment: issuer.environment,
    idpConnector: issuer.idpConnector,
    keySet: issuer.jwks,
    getKey: (kid, alg) => issuer.jwks.getKey(kid, alg),
  };
}

/** Header parameters that would let a token name its own key; their presence makes the token invalid. */
export const FORBIDDEN_HEADERS = ['jku', 'x5u', 'x5c', 'jwk'] as const;

const JWS_COMPACT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A verified token, with the key set it was verified under and that set's generation before the key lookup. */
type Verified = { ok: true; token: VerifiedToken; keySet?: KeySetVersion; generation: number };
type Fail = { ok: false; reason: TokenFailureReason; detail: string; expired?: ExpiredServiceToken };
const fail = (reason: TokenFailureReason, detail: string): Fail => ({ ok: false, reason, detail });

/**
 * An expired token. For a service token whose other claims hold, the failure keeps its subject and source:
 * the token dies with its key, so a caller answers with the key's reason when the key is revoked or expired
 * (CONTRACT section 2), not with the token's own expiry, which issuance caps at the key's.
 */
function expiredFailure(anchor: TrustAnchor, claims: Record<string, unknown>, kid: string): Fail {
  const failure = fail('token-expired', 'expired');
  const subject = claims[anchor.subjectClaim];
  if (anchor.kind !== 'service-token' || anchor.checkClaims === undefined || typeof subject !== 'string')
    return failure;
  const extra = anchor.checkClaims(claims, kid);
  if (extra.ok && extra.serviceToken !== undefined) failure.expired = { subject, serviceToken: extra.serviceToken };
  return failure;
}

function decodeSegment(seg: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(utf8.decode(Buffer.from(seg, 'base64url')));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Verify a compact JWT against the anchor `pick` chooses by its (unverified) `iss`, following the JWT rules
 * of CONTRACT section 1. Never throws; never fetches anything the token names.
 */
export async function verifyJwt(
  token: string,
  pick: (iss: string) => TrustAnchor | undefined,
  now: number,
  verifySignature: SignatureVerifier = joseSignatureVerifier,
): Promise<Verified | Fail> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !JWS_COMPACT_RE.test(token)) {
    return fail('token-invalid', 'not a compact JWS');
  }
  const [h, p, sig] = token.split('.') as [string, string, string];
  const header = decodeSegment(h);
  if (header === undefined) return fail('token-invalid', 'header is not a JSON object');
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') return fail('token-invalid', 'alg missing');
  if (alg.toLowerCase() === 'none') return fail('token-invalid', 'alg none is never accepted');
  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name)) return fail('token-invalid', `header ${name} is not accepted`);
  }
  if (Object.hasOwn(header, 'crit')) return fail('token-invalid', 'crit header: no extension is implemented');
  if (Object.hasOwn(header, 'b64')) return fail('token-invalid', 'b64 header is not accepted');
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '') return fail('token-invalid', 'kid missing');
  if (sig === '') return fail('token-invalid', 'signature missing');

  // The payload is decoded unverified only to choose the issuer.
  const unverified = decodeSegment(p);
  if (unverified === undefined) return fail('token-invalid', 'payload is not a JSON object');
  const iss = unverified.iss;
  if (typeof iss !== 'string' || iss === '') return fail('issuer-untrusted', 'iss missing');
  const anchor = pick(iss);
  if (anchor === undefined) return fail('issuer-untrusted', 'issuer not trusted');
  if (!anchor.algorithms.has(alg)) return fail('token-invalid', `alg ${alg} not allowed for this issuer`);

  // Read before the key: a key set replaced while this verification runs makes the result outdated at once.
  const keySet = anchor.keySet;
  const generation = keySet?.generation ?? 0;
  let key: VerificationKey | undefined;
  try {
    key = await anchor.getKey(kid, alg);
  } catch {
    key = undefined;
  }
  if (key === undefined) return fail('token-invalid', 'no key for kid');
  try {
    await verifySignature(token, key, alg);
  } catch {
    return fail('token-invalid', 'signature does not verify');
  }
  // The signature covers exactly the payload segment decoded above: these claims are now verified.
  const claims = unverified;
  if (claims.iss !== anchor.issuer) return fail('issuer-untrusted', 'iss mismatch');

  const aud = claims.aud;
  const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [];
  if (!auds.some((a) => anchor.audiences.includes(a)))
    return fail('audience-mismatch', 'aud contains none of the audiences');

  const tolMs = anchor.clockToleranceSeconds * 1000;
  if (!isNumericDate(claims.exp)) return fail('token-invalid', 'exp missing');
  const expiresAt = claims.exp * 1000;
  if (now >= expiresAt) return expiredFailure(anchor, claims, kid);
  if (claims.nbf !== undefined) {
    if (!isNumericDate(claims.nbf)) return fail('token-invalid', 'nbf is not a number');
    if (claims.nbf * 1000 > now + tolMs) return fail('token-invalid', 'not yet valid (nbf)');
  }
  let issuedAt: number | undefined;
  if (claims.iat !== undefined) {
    if (!isNumericDate(claims.iat)) return fail('token-invalid', 'iat is not a number');
    if (claims.iat * 1000 > now + tolMs) return fail('token-invalid', 'issued in the future (iat)');
    issuedAt = claims.iat * 1000;
  }
  const subject = claims[anchor.subjectClaim];
  if (typeof subject !== 'string' || subject === '')
    return fail('token-invalid', `${anchor.subjectClaim} claim missing`);

  let groups: string[] | undefined;
  if (anchor.groupsClaim !== undefined && claims[anchor.groupsClaim] !== undefined) {
    const g = claims[anchor.groupsClaim];
    if (!Array.isArray(g) || !g.every((x) => typeof x === 'string')) {
      return fail('token-invalid', `${anchor.groupsClaim} claim is not an array of strings`);
    }
    groups = [...new Set(g as string[])];
  }

  let serviceToken: ServiceTokenFacts | undefined;
  if (anchor.checkClaims !== undefined) {
    const extra = anchor.checkClaims(claims, kid);
    if (!extra.ok) return fail('token-invalid', extra.detail);
    serviceToken = extra.serviceToken;
  }

  const verified: VerifiedToken = {
    kind: anchor.kind,
    issuer: anchor.issuer,
    subject,
    expiresAt,
    claims: Object.freeze({ ...claims }),
  };
  if (groups !== undefined) verified.groups = groups;
  if (issuedAt !== undefined) verified.issuedAt = issuedAt;
  if (anchor.environment !== undefined) verified.environment = anchor.environment;
  if (anchor.idpConnector !== undefined) verified.idpConnector = anchor.idpConnector;
  if (serviceToken !== undefined) verified.serviceToken = serviceToken;
  const result: Verified = { ok: true, token: Object.freeze(verified), generation };
  if (keySet !== undefined) result.keySet = keySet;
  return result;
}

export interface TokenVerifierOptions {
  /** Trusted issuers. */
  issuers?: IssuerRegistry;
  /** Verification of Tollgate's own service tokens (see `serviceTokenAnchor`). */
  serviceTokens?: TrustAnchor;
  cache?: VerifiedTokenCache;
  now?: Clock;
  /** Injectable signature check (default: jose `compactVerify`). */
  verifySignature?: SignatureVerifier;
}

/**
 * Verifies trusted issuers' JWTs and service tokens, caching each verified token until its `exp`.
 * `verify` is async (signature work, maybe a JWKS fetch); `lookupVerified` is the synchronous hot-path
 * read of the cache.
 */
export class TokenVerifier {
  readonly cache: VerifiedTokenCache;
  private readonly now: Clock;
  private readonly issuers: IssuerRegistry | undefined;
  private readonly service: TrustAnchor | undefined;
  private readonly verifySignature: SignatureVerifier;
  private readonly anchors = new WeakMap<Issuer, TrustAnchor>();
  private readonly inflight = new Map<string, Promise<TokenVerification>>();

  constructor(options: TokenVerifierOptions) {
    this.now = options.now ?? systemClock;
    this.issuers = options.issuers;
    this.service = options.serviceTokens;
    this.verifySignature = options.verifySignature ?? joseSignatureVerifier;
    this.cache = options.cache ?? new VerifiedTokenCache({ now: this.now });
  }

  /** The cached verified token, if this exact token was verified before and has not expired. No signature work. */
  lookupVerified(token: string): VerifiedToken | undefined {
    return this.cache.get(token);
  }

  /** Verify a token (from the cache when possible). Concurrent verifications of one token share the work. */
  verify(token: string): Promise<TokenVerification> {
    const hit = this.cache.get(token);
    if (hit !== undefined) return Promise.resolve({ ok: true, token: hit, cached: true });
    let p = this.inflight.get(token);
    if (p === undefined) {
      p = this.verifyUncached(token);
      this.inflight.set(token, p);
    }
    return p;
  }

  private async verifyUncached(token: string): Promise<TokenVerification> {
    try {
      const result = await verifyJwt(token, (iss) => this.pick(iss), this.now(), this.verifySignature);
      if (!result.ok) return result;
      this.cache.set(token, result.token, result.keySet, result.generation);
      return { ok: true, token: result.token, cached: false };
    } finally {
      this.inflight.delete(token);
    }
  }

  private pick(iss: string): TrustAnchor | undefined {
    if (iss === SERVICE_TOKEN_ISSUER) return this.service;
    const issuer = this.issuers?.get(iss);
    if (issuer === undefined) return undefined;
    let anchor = this.anchors.get(issuer);
    if (anchor === undefined) this.anchors.set(issuer, (anchor = issuerAnchor(issuer)));
    return anchor;
  }
}
