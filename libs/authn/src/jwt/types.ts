import type { CryptoKey as JoseCryptoKey, JWK } from 'jose';

/** A WebCrypto public key, as jose imports it. */
export type VerificationKey = JoseCryptoKey;

/** Milliseconds since the epoch; injectable everywhere so tests control time. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** The subset of WHATWG `fetch` the JWKS cache uses; inject one in tests to serve JWKS from memory. */
export type FetchLike = (
  url: string,
  init: { signal?: AbortSignal; redirect?: 'error' | 'follow' | 'manual'; headers?: Record<string, string> },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

export type PublicJwk = JWK;

export interface JsonWebKeySet {
  keys: readonly PublicJwk[];
}

/** The 401 reasons a token verification can end with (CONTRACT section 2). */
export type TokenFailureReason = 'token-invalid' | 'token-expired' | 'issuer-untrusted' | 'audience-mismatch';

/** `jwt`: a trusted issuer's token; `service-token`: signed by Tollgate. */
export type TokenKind = 'jwt' | 'service-token';

/** What a service token was exchanged for and may be used for. `any`: a sign-in token (both APIs). */
export type ServiceTokenScope = 'inference' | 'management' | 'any';

export interface ServiceTokenFacts {
  scope: ServiceTokenScope;
  /** The key id it was exchanged for, or `sign-in`. */
  source: string;
  jti: string;
  kid: string;
}

export interface VerifiedToken {
  kind: TokenKind;
  /** `iss`, exactly (`tollgate` for service tokens). */
  issuer: string;
  /** The issuer's subject claim (`sub` by default); for service tokens a Tollgate user id. */
  subject: string;
  /** The issuer's groups claim, when the token has one (exact strings, order kept, duplicates removed). */
  groups?: string[];
  /** `iat` in milliseconds, when the token has one. */
  issuedAt?: number;
  /** `exp` in milliseconds: the token is expired from this instant on. */
  expiresAt: number;
  /** The issuer config's `environment`, when set: the issuer is trusted only on deployments of it. */
  environment?: string;
  /**
   * A trusted issuer's `idpConnector`: its subject is that connector's IdP subject (the user `<idp>:<sub>`),
   * not a user name.
   */
  idpConnector?: string;
  /** Set for service tokens. */
  serviceToken?: ServiceTokenFacts;
  /** The whole verified payload. */
  claims: Readonly<Record<string, unknown>>;
}

export type TokenVerification =
  | { ok: true; token: VerifiedToken; cached: boolean }
  | {
      ok: false;
      reason: TokenFailureReason;
      /** Why, for logs and `explain` traces (never contains the token). */
      detail: string;
      /**
       * `token-expired` of a correctly signed service token: its subject and source, so the caller can answer
       * with the source key's reason when the key itself is revoked or expired (a token dies with its key).
       */
      expired?: ExpiredServiceToken;
    };

/** What a correctly signed but expired service token still says. */
export interface ExpiredServiceToken {
  subject: string;
  serviceToken: ServiceTokenFacts;
}
