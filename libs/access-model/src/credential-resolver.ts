import { type ExpiredServiceToken, type ServiceTokenFacts, SIGN_IN_SOURCE, type VerifiedToken } from '@tollgate/authn';
import type { AccessModel } from './access-model';
import { keyState } from './model/records';
import type { KeyRecord, UserRecord } from './types';

/**
 * Who a credential names and whether its key still holds, answered once for both readers of the access
 * model: the authorizer's check and the management APIs' caller authentication (CONTRACT section 2, "Who
 * the caller is"). Pure functions over synchronous Map reads; each reader maps the outcome to its answer.
 */

export const BOOTSTRAP_ADMIN_USER_ID = 'usr_admin';
export const BOOTSTRAP_ADMIN_NAME = 'admin';

/** The lookups credential resolution needs. */
export type CredentialLookups = Pick<
  AccessModel,
  'keyByHash' | 'keyById' | 'user' | 'userByName' | 'userByExternalSubject' | 'signingKey'
>;

export type KeyRefusal = 'key-revoked' | 'key-expired';

/** Why a key may not be used at `now` (revoked wins over expired), or undefined when it may. */
export function keyRefusal(key: KeyRecord, now: number): KeyRefusal | undefined {
  const state = keyState(key, now);
  return state === 'valid' ? undefined : state === 'revoked' ? 'key-revoked' : 'key-expired';
}

export type UserKeyResolution =
  | { ok: true; key: KeyRecord; owner: UserRecord | undefined }
  | { ok: false; reason: 'key-unknown' | KeyRefusal; key?: KeyRecord };

/** A user API key by the SHA-256 of its secret: known, neither revoked nor expired, its owner not deactivated. */
export function resolveUserKey(model: CredentialLookups, secretHash: string, now: number): UserKeyResolution {
  const key = model.keyByHash(secretHash);
  if (key === undefined || key.kind !== 'user-key') return { ok: false, reason: 'key-unknown' };
  const refused = keyRefusal(key, now);
  if (refused) return { ok: false, reason: refused, key };
  const owner = key.userId === null ? undefined : model.user(key.userId);
  // Deactivating a user revokes all their keys; until those revocations arrive the owner says so.
  if (owner?.deactivated) return { ok: false, reason: 'key-revoked', key };
  return { ok: true, key, owner };
}

export type ServiceTokenResolution =
  | { ok: true; keyId: string | undefined; user: UserRecord | undefined }
  | { ok: false; reason: 'key-unknown' | 'token-invalid' | KeyRefusal };

/**
 * A Tollgate service token's source and subject. A sign-in token names its user (who may be deactivated:
 * each reader answers that its own way); a token exchanged for a key dies with the key, and with its
 * owner's deactivation (`key-revoked`, as for the key itself).
 */
export function resolveServiceToken(
  model: CredentialLookups,
  subject: string,
  facts: ServiceTokenFacts,
  now: number,
): ServiceTokenResolution {
  // Its signing key retired: the token is dead, even when a verifier cached its signature check (a
  // verified token is cached until its own `exp`, which an early retirement precedes).
  if (model.signingKey(facts.kid) === undefined) return { ok: false, reason: 'token-invalid' };
  const user = model.user(subject);
  if (facts.source === SIGN_IN_SOURCE) return { ok: true, keyId: undefined, user };
  const key = model.keyById(facts.source);
  if (key === undefined) return { ok: false, reason: 'key-unknown' };
  if (key.kind !== 'user-key' || key.userId !== subject) return { ok: false, reason: 'token-invalid' };
  const refused = keyRefusal(key, now);
  if (refused) return { ok: false, reason: refused };
  if (user?.deactivated) return { ok: false, reason: 'key-revoked' };
  return { ok: true, keyId: key.keyId, user };
}

/**
 * The reason for an expired service token: its source key's when that key is revoked or expired (issuance
 * caps a token's `exp` at its key's expiry, so the two usually end together), else `token-expired`.
 */
export function expiredServiceTokenReason(
  model: CredentialLookups,
  expired: ExpiredServiceToken | undefined,
  now: number,
): KeyRefusal | 'token-expired' {
  if (expired === undefined || expired.serviceToken.source === SIGN_IN_SOURCE) return 'token-expired';
  const source = resolveServiceToken(model, expired.subject, expired.serviceToken, now);
  return !source.ok && (source.reason === 'key-revoked' || source.reason === 'key-expired')
    ? source.reason
    : 'token-expired';
}

/** The built-in admin acts only through the bootstrap credential and its own keys, never through a JWT. */
export function isBuiltInAdmin(user: UserRecord): boolean {
  return user.userId === BOOTSTRAP_ADMIN_USER_ID || user.name === BOOTSTRAP_ADMIN_NAME;
}

/**
 * The user a trusted issuer's JWT names. With `idpConnector` on the issuer: the user that connector's
 * sign-in, SCIM and webhooks know by this subject. Without: the user whose `name` is the subject claim,
 * unless that is the built-in admin or a user an IdP connector created (`<idp>:<sub>`): those a JWT never
 * names by name, so no issuer can act as the admin or as another IdP's user. undefined: an authenticated
 * caller with no role.
 */
export function resolveJwtUser(model: CredentialLookups, token: VerifiedToken): UserRecord | undefined {
  if (token.idpConnector !== undefined) return model.userByExternalSubject(token.idpConnector, token.subject);
  const user = model.userByName(token.subject);
  if (user === undefined || isBuiltInAdmin(user) || user.idp !== null) return undefined;
  return user;
}
