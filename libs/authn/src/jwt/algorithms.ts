import { ASYMMETRIC_JWS_ALGORITHMS } from '@tollgate/contracts';
import type { PublicJwk } from './types';

/**
 * The asymmetric JWS algorithms an issuer may allow (`ASYMMETRIC_JWS_ALGORITHMS` of the contract). HMAC
 * (`HS*`) and `none` are never accepted: Tollgate never verifies a signature with a symmetric key.
 */
export const SUPPORTED_ALGORITHMS = ASYMMETRIC_JWS_ALGORITHMS;

export type SupportedAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

const SUPPORTED: ReadonlySet<string> = new Set(SUPPORTED_ALGORITHMS);

export function isSupportedAlgorithm(alg: string): alg is SupportedAlgorithm {
  return SUPPORTED.has(alg);
}

/** The key type (and curve) a JWK must have to verify `alg`. */
function expectedKey(alg: SupportedAlgorithm): { kty: string; crv?: string } {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return { kty: 'RSA' };
  if (alg === 'ES256') return { kty: 'EC', crv: 'P-256' };
  if (alg === 'ES384') return { kty: 'EC', crv: 'P-384' };
  if (alg === 'ES512') return { kty: 'EC', crv: 'P-521' };
  return { kty: 'OKP', crv: 'Ed25519' };
}

/**
 * The public members only of `jwk` if it may verify `alg`, else undefined: wrong key type or curve, an
 * `alg` member naming another algorithm, a `use` other than `sig`, `key_ops` without `verify`, or a
 * symmetric key. Private members (`d`, `p`, ...) are dropped, never imported.
 */
export function publicJwkFor(jwk: PublicJwk, alg: string): PublicJwk | undefined {
  if (!isSupportedAlgorithm(alg)) return undefined;
  const want = expectedKey(alg);
  if (jwk.kty !== want.kty) return undefined;
  if (want.crv !== undefined && jwk.crv !== want.crv) return undefined;
  if (jwk.alg !== undefined && jwk.alg !== alg && !(isEdDsaAlias(jwk.alg) && isEdDsaAlias(alg))) return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined && (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify'))) return undefined;
  switch (jwk.kty) {
    case 'RSA':
      return typeof jwk.n === 'string' && typeof jwk.e === 'string' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : undefined;
    case 'EC':
      return typeof jwk.x === 'string' && typeof jwk.y === 'string'
        ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }
        : undefined;
    case 'OKP':
      return typeof jwk.x === 'string' ? { kty: 'OKP', crv: jwk.crv, x: jwk.x } : undefined;
    default:
      return undefined;
  }
}

function isEdDsaAlias(alg: string): boolean {
  return alg === 'EdDSA' || alg === 'Ed25519';
}
