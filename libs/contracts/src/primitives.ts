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
 * Where a change came from, so a consumer (or an IdP connector) never echoes back a change it caused.
 * `api` = management REST; `idp:<id>:sign-in|webhook|scim`; `system` = a reaction of one service to another's event.
 */
export const sourceChannel = z.string().regex(/^(api|system|bootstrap|ops|idp:[A-Za-z0-9_-]+:(sign-in|webhook|scim))$/);
