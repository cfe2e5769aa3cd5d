import { z } from 'zod';

/** ISO 8601 UTC with milliseconds, as every time in the contract. */
export const isoTime = z.iso.datetime({ offset: false, precision: 3 });

export const keyScope = z.enum(['inference', 'management']);
export type KeyScope = z.infer<typeof keyScope>;

export const accessKeySlot = z.enum(['primary', 'secondary']);
export type AccessKeySlot = z.infer<typeof accessKeySlot>;

export const userKind = z.enum(['internal', 'external', 'machine']);
export type UserKind = z.infer<typeof userKind>;

export const projectRole = z.enum(['owner', 'admin', 'contributor', 'viewer']);
export type ProjectRole = z.infer<typeof projectRole>;

/** Roles that may invoke a deployment of their project. */
export const INVOKING_ROLES: readonly ProjectRole[] = ['owner', 'admin', 'contributor'];

export const credentialKind = z.enum(['api-key', 'access-key', 'jwt', 'service-token']);
export type CredentialKind = z.infer<typeof credentialKind>;
export const ALL_CREDENTIAL_KINDS: readonly CredentialKind[] = credentialKind.options;

/** SHA-256 of a secret, lowercase hex. Events and tables carry only this, never the secret. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * Where a change came from (event-store metadata `channel`), so a consumer or an IdP connector never echoes
 * back a change it caused. The actor says who: `usr_…`, `idp:<connector id>` for IdP channels, or `system`.
 * `rest` = management REST; `oidc`, `webhook`, `scim` = the IdP inbound channels; `system` = one service's
 * reaction to another's event; `bootstrap` = first start; `ops` = the operator CLI.
 */
export const EVENT_CHANNELS = ['rest', 'oidc', 'webhook', 'scim', 'system', 'bootstrap', 'ops'] as const;
export type EventChannel = (typeof EVENT_CHANNELS)[number];

/**
 * The asymmetric JWS algorithms a trusted issuer or IdP may allow (CONTRACT section 1): HMAC (`HS*`) and
 * `none` never, since Tollgate never verifies a signature with a symmetric key. Shared by the configuration
 * schema and the verifier.
 */
export const ASYMMETRIC_JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
