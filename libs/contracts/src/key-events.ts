import { z } from 'zod';
import { accessKeySlot, isoTime, keyScope, sha256Hex } from './primitives';

/**
 * Events written by the keys service (topic tollgate.keys.v1).
 * Streams: `key-<keyId>` for every key (user API keys and model access keys alike, so a revocation is one
 * event type whatever the key), `key-policy`, `signing-keys`.
 * A published type never changes meaning; a change adds a new type or version.
 */
export const keyCreated = z.strictObject({
  keyId: z.string(),
  /** `user-key`: a user's API key; `access-key`: a deployment's model access key in one slot. */
  kind: z.enum(['user-key', 'access-key']),
  secretHash: sha256Hex,
  name: z.string().optional(),
  /** Owner of a user key. */
  userId: z.string().optional(),
  scope: keyScope.optional(),
  /** Deployment and slot of an access key. */
  deploymentId: z.string().optional(),
  slot: accessKeySlot.optional(),
  /** null: never expires (only when the key policy has no maximum). */
  expiresAt: isoTime.nullable(),
  createdAt: isoTime,
});

export const keyRevocationReason = z.enum(['user', 'admin', 'rotated', 'slot-revoked', 'user-deactivated', 'leaked']);
export type KeyRevocationReason = z.infer<typeof keyRevocationReason>;

export const keyRevoked = z.strictObject({
  keyId: z.string(),
  reason: keyRevocationReason,
  revokedAt: isoTime,
});

export const keyPolicyChanged = z.strictObject({
  defaultLifetimeDays: z.number().int().min(1),
  maxLifetimeDays: z.number().int().min(1).nullable(),
});

/** A service-token signing key is published (in the JWKS) before it signs: `activatesAt` is later than now. */
export const signingKeyPublished = z.strictObject({
  kid: z.string(),
  /** Public JWK only (OKP/Ed25519). */
  publicJwk: z.record(z.string(), z.unknown()),
  activatesAt: isoTime,
});

/** Removed from the JWKS once its last token has expired. */
export const signingKeyRetired = z.strictObject({
  kid: z.string(),
  retiredAt: isoTime,
});

export const keyEventSchemas = {
  KeyCreated: keyCreated,
  KeyRevoked: keyRevoked,
  KeyPolicyChanged: keyPolicyChanged,
  SigningKeyPublished: signingKeyPublished,
  SigningKeyRetired: signingKeyRetired,
} as const;

export type KeyCreated = z.infer<typeof keyCreated>;
export type KeyRevoked = z.infer<typeof keyRevoked>;
export type KeyPolicyChanged = z.infer<typeof keyPolicyChanged>;
export type SigningKeyPublished = z.infer<typeof signingKeyPublished>;
export type SigningKeyRetired = z.infer<typeof signingKeyRetired>;

export type KeyEvent =
  | { type: 'KeyCreated'; data: KeyCreated }
  | { type: 'KeyRevoked'; data: KeyRevoked }
  | { type: 'KeyPolicyChanged'; data: KeyPolicyChanged }
  | { type: 'SigningKeyPublished'; data: SigningKeyPublished }
  | { type: 'SigningKeyRetired'; data: SigningKeyRetired };

export const keyStream = (keyId: string): string => `key-${keyId}`;
export const KEY_POLICY_STREAM = 'key-policy';
export const SIGNING_KEYS_STREAM = 'signing-keys';
