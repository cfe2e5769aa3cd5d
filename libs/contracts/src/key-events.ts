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

/**
 * A user key is being rotated: `successorKeyId` (created in the same transaction) replaces it, and the key
 * stops working at `revokesAt` (its expiry is then min(expiresAt, revokesAt) for every reader of the log,
 * without a scheduler in the path). The keys service appends the real `KeyRevoked` (reason `rotated`) once
 * `revokesAt` has passed. A key is rotated at most once (stream `key-<keyId>`, after its `KeyCreated`).
 */
export const keyRotated = z.strictObject({
  keyId: z.string(),
  successorKeyId: z.string(),
  rotatedAt: isoTime,
  revokesAt: isoTime,
});

/** Service-token lifetimes an admin may allow machine users (seconds): the default and the hard ceiling. */
export const SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS = 3600;
export const SERVICE_TOKEN_CEILING_LIFETIME_SECONDS = 86_400;

export const keyPolicyChanged = z.strictObject({
  defaultLifetimeDays: z.number().int().min(1),
  maxLifetimeDays: z.number().int().min(1).nullable(),
  /**
   * Longest service token a machine user may ask for (3600..86400). Absent in events written before the
   * field existed: read as 3600 (events are immutable; readers default it).
   */
  maxServiceTokenLifetimeSeconds: z
    .number()
    .int()
    .min(SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS)
    .max(SERVICE_TOKEN_CEILING_LIFETIME_SECONDS)
    .optional(),
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
  KeyRotated: keyRotated,
  KeyPolicyChanged: keyPolicyChanged,
  SigningKeyPublished: signingKeyPublished,
  SigningKeyRetired: signingKeyRetired,
} as const;

export type KeyCreated = z.infer<typeof keyCreated>;
export type KeyRevoked = z.infer<typeof keyRevoked>;
export type KeyRotated = z.infer<typeof keyRotated>;
export type KeyPolicyChanged = z.infer<typeof keyPolicyChanged>;
export type SigningKeyPublished = z.infer<typeof signingKeyPublished>;
export type SigningKeyRetired = z.infer<typeof signingKeyRetired>;

export type KeyEvent =
  | { type: 'KeyCreated'; data: KeyCreated }
  | { type: 'KeyRevoked'; data: KeyRevoked }
  | { type: 'KeyRotated'; data: KeyRotated }
  | { type: 'KeyPolicyChanged'; data: KeyPolicyChanged }
  | { type: 'SigningKeyPublished'; data: SigningKeyPublished }
  | { type: 'SigningKeyRetired'; data: SigningKeyRetired };

export const keyStream = (keyId: string): string => `key-${keyId}`;
export const KEY_POLICY_STREAM = 'key-policy';
export const SIGNING_KEYS_STREAM = 'signing-keys';
