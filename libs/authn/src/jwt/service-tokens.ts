import { SERVICE_TOKEN_CEILING_LIFETIME_SECONDS } from '@tollgate/contracts';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { randomBase62 } from '../base62';
import { publicJwkFor } from './algorithms';
import { SERVICE_TOKEN_ISSUER } from './issuer-registry';
import type { TrustAnchor } from './token-verifier';
import { systemClock, type Clock, type VerificationKey, type PublicJwk, type ServiceTokenScope } from './types';

/** `iss` and `aud` of service tokens. */
export const SERVICE_TOKEN_AUDIENCE = 'tollgate';
export const SERVICE_TOKEN_ALGORITHM = 'EdDSA';
/**
 * Default lifetime, and the maximum for everyone but machine users (CONTRACT section 1: 1 h). An admin may
 * let machine users ask for up to `SERVICE_TOKEN_CEILING_LIFETIME_SECONDS` (24 h; the key policy's
 * `maxServiceTokenLifetimeSeconds`): the signer and the verifier accept up to that ceiling, and the keys
 * service enforces each caller's own maximum when it issues.
 */
export const SERVICE_TOKEN_MAX_LIFETIME_SECONDS = 3600;
export { SERVICE_TOKEN_CEILING_LIFETIME_SECONDS };
/** `src` of a token issued at IdP sign-in (not exchanged for a key). */
export const SIGN_IN_SOURCE = 'sign-in';

const SCOPES: ReadonlySet<string> = new Set<ServiceTokenScope>(['inference', 'management', 'any']);

export interface ServiceSigningKey {
  kid: string;
  /** Ed25519 private key (re-imported from PEM: see RECIPES.md, the Node 20 export hang). */
  privateKey: KeyObject;
  /** PKCS#8 PEM of the private key, for storage by the keys service. A secret. */
  privateKeyPem: string;
  /** The public JWK to publish (`kty`, `crv`, `x`, `kid`, `alg`, `use`). Exported once; reuse it. */
  publicJwk: PublicJwk;
}

/** RFC 7638 thumbprint of an Ed25519 public JWK (base64url SHA-256 of its canonical members). */
export function ed25519Thumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

/** A service-token signing key from its stored PKCS#8 PEM. `kid` defaults to the RFC 7638 thumbprint. */
export function loadServiceSigningKey(privateKeyPem: string, kid?: string): ServiceSigningKey {
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('service signing keys are Ed25519');
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { x?: string };
  if (typeof jwk.x !== 'string') throw new TypeError('cannot export the Ed25519 public key');
  const id = kid ?? ed25519Thumbprint(jwk.x);
  return {
    kid: id,
    privateKey,
    privateKeyPem,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: id, alg: SERVICE_TOKEN_ALGORITHM, use: 'sig' },
  };
}

/** A new Ed25519 signing key; generated, then re-imported from PEM before its JWK is exported. */
export function generateServiceSigningKey(kid?: string): ServiceSigningKey {
  const kp = generateKeyPairSync('ed25519');
  const pem = kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return loadServiceSigningKey(pem, kid);
}

export interface SignServiceTokenInput {
  /** The Tollgate user id. */
  subject: string;
  scope: ServiceTokenScope;
  /** The key id the token is exchanged for, or `sign-in`. */
  source: string;
  /** 1..86400 (the ceiling; the keys service applies the caller's own maximum), default 3600. */
  expiresInSeconds?: number;
}

export interface SignedServiceToken {
  token: string;
  jti: string;
  kid: string;
  /** ms */
  issuedAt: number;
  /** ms: the token is expired from this instant on. */
  expiresAt: number;
}

/** Signs service tokens (EdDSA/Ed25519, header `kid`, `iss`/`aud` `tollgate`). */
export class ServiceTokenSigner {
  private readonly now: Clock;

  constructor(
    private readonly key: { kid: string; privateKey: KeyObject },
    options: { now?: Clock } = {},
  ) {
    if (key.privateKey.asymmetricKeyType !== 'ed25519' || key.privateKey.type !== 'private') {
      throw new TypeError('service tokens are signed with an Ed25519 private key');
    }
    this.now = options.now ?? systemClock;
  }

  get kid(): string {
    return this.key.kid;
  }

  async sign(input: SignServiceTokenInput): Promise<SignedServiceToken> {
    const lifetime = input.expiresInSeconds ?? SERVICE_TOKEN_MAX_LIFETIME_SECONDS;
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > SERVICE_TOKEN_CEILING_LIFETIME_SECONDS) {
      throw new RangeError(`expiresInSeconds must be an integer from 1 to ${SERVICE_TOKEN_CEILING_LIFETIME_SECONDS}`);
    }
    if (typeof input.subject !== 'string' || input.subject === '') throw new TypeError('subject is required');
    if (!SCOPES.has(input.scope)) throw new TypeError(`unknown scope ${String(input.scope)}`);
    if (typeof input.source !== 'string' || input.source === '') throw new TypeError('source is required');
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + lifetime;
    const jti = randomBase62(22);
    const token = await new SignJWT({ scope: input.scope, src: input.source })
      .setProtectedHeader({ alg: SERVICE_TOKEN_ALGORITHM, kid: this.key.kid, typ: 'JWT' })
      .setIssuer(SERVICE_TOKEN_ISSUER)
      .setAudience(SERVICE_TOKEN_AUDIENCE)
      .setSubject(input.subject)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key.privateKey);
    return { token, jti, kid: this.key.kid, issuedAt: iat * 1000, expiresAt: exp * 1000 };
  }
}

export interface ServiceTokenAnchorOptions {
  /** The published public JWK with this kid (learned from signing-key events), or undefined. */
  getKey(kid: string): PublicJwk | undefined;
  /** Default 60. */
  clockToleranceSeconds?: number;
}

/**
 * The trust anchor for service tokens, to pass as `TokenVerifier`'s `serviceTokens`: EdDSA only, key by
 * `kid` from `getKey`, `iss` and `aud` `tollgate`, and `sub`, `jti`, `iat`, `exp` (at most 24 h after
 * `iat`), `scope` and `src` all required.
 */
export function serviceTokenAnchor(options: ServiceTokenAnchorOptions): TrustAnchor {
  const imported = new WeakMap<PublicJwk, Promise<VerificationKey | undefined>>();
  return {
    kind: 'service-token',
    issuer: SERVICE_TOKEN_ISSUER,
    audiences: [SERVICE_TOKEN_AUDIENCE],
    algorithms: new Set([SERVICE_TOKEN_ALGORITHM]),
    clockToleranceSeconds: options.clockToleranceSeconds ?? 60,
    subjectClaim: 'sub',
    groupsClaim: undefined,
    environment: undefined,
    getKey(kid, alg) {
      const jwk = options.getKey(kid);
      if (jwk === undefined) return Promise.resolve(undefined);
      let p = imported.get(jwk);
      if (p === undefined) {
        const pub = publicJwkFor(jwk, alg);
        p =
          pub === undefined
            ? Promise.resolve(undefined)
            : importJWK(pub, alg).then(
                (k) => (k instanceof Uint8Array ? undefined : k),
                () => undefined,
              );
        imported.set(jwk, p);
      }
      return p;
    },
    checkClaims(claims, kid) {
      const { jti, iat, exp, scope, src } = claims;
      if (typeof jti !== 'string' || jti === '') return { ok: false, detail: 'jti missing' };
      if (typeof iat !== 'number' || !Number.isFinite(iat)) return { ok: false, detail: 'iat missing' };
      if (typeof exp !== 'number' || exp - iat > SERVICE_TOKEN_CEILING_LIFETIME_SECONDS) {
        return { ok: false, detail: 'lifetime exceeds 24 h' };
      }
      if (typeof scope !== 'string' || !SCOPES.has(scope)) return { ok: false, detail: 'scope missing or unknown' };
      if (typeof src !== 'string' || src === '') return { ok: false, detail: 'src missing' };
      return { ok: true, serviceToken: { scope: scope as ServiceTokenScope, source: src, jti, kid } };
    },
  };
}
