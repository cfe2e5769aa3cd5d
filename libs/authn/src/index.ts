export { crc32 } from './crc32';
export { BASE62_ALPHABET, encodeBase62Uint, isBase62, randomBase62, type RandomBytes } from './base62';
export {
  constantTimeEqualHex,
  findKeysInText,
  generateKey,
  hashSecret,
  ID_PREFIXES,
  isId,
  KEY_LENGTH,
  KEY_PREFIXES,
  KEY_SCANNER_PATTERN,
  KEY_SCANNER_REGEX,
  keyChecksum,
  kindOfPrefix,
  newId,
  parseKey,
  type FoundKey,
  type IdPrefix,
  type KeyKind,
  type KeyPrefix,
  type ParsedKey,
  type TypedId,
} from './keys';
export {
  extractCredentials,
  looksLikeCompactJws,
  MAX_CREDENTIAL_LENGTH,
  parseAccessKey,
  parseAuthorization,
  type AccessKeyCredential,
  type AuthorizationCredential,
  type AuthScheme,
  type CredentialInputs,
  type MalformedDetail,
  type PresentedCredentials,
} from './credentials';
export {
  systemClock,
  type Clock,
  type FetchLike,
  type JsonWebKeySet,
  type PublicJwk,
  type ServiceTokenFacts,
  type ServiceTokenScope,
  type TokenFailureReason,
  type TokenKind,
  type TokenVerification,
  type VerifiedToken,
  type VerificationKey,
} from './jwt/types';
export { isSupportedAlgorithm, publicJwkFor, SUPPORTED_ALGORITHMS, type SupportedAlgorithm } from './jwt/algorithms';
export {
  DEFAULT_JWKS_COOLDOWN_MS,
  DEFAULT_JWKS_REFRESH_INTERVAL_MS,
  JwksCache,
  JwksFetchError,
  type JwksCacheOptions,
} from './jwt/jwks-cache';
export {
  IssuerConfigError,
  IssuerRegistry,
  SERVICE_TOKEN_ISSUER,
  type Issuer,
  type IssuerConfig,
  type IssuerRegistryOptions,
} from './jwt/issuer-registry';
export { tokenCacheKey, VerifiedTokenCache, type VerifiedTokenCacheOptions } from './jwt/verified-token-cache';
export {
  FORBIDDEN_HEADERS,
  issuerAnchor,
  joseSignatureVerifier,
  TokenVerifier,
  verifyJwt,
  type SignatureVerifier,
  type TokenVerifierOptions,
  type TrustAnchor,
} from './jwt/token-verifier';
export {
  ed25519Thumbprint,
  generateServiceSigningKey,
  loadServiceSigningKey,
  SERVICE_TOKEN_ALGORITHM,
  SERVICE_TOKEN_AUDIENCE,
  SERVICE_TOKEN_MAX_LIFETIME_SECONDS,
  serviceTokenAnchor,
  ServiceTokenSigner,
  SIGN_IN_SOURCE,
  type ServiceSigningKey,
  type ServiceTokenAnchorOptions,
  type SignedServiceToken,
  type SignServiceTokenInput,
} from './jwt/service-tokens';
