import type { AccessKeySlot, CredentialKind, DeploymentState, DomainEvent, ProjectRole } from '@tollgate/contracts';
import type { PublicJwk } from '@tollgate/authn';
import type { RecordedEvent } from '@tollgate/event-store';
import type {
  DeploymentRecord,
  ExternalAccessPolicy,
  KeyPolicy,
  KeyRecord,
  KeyRevocationReasonValue,
  KeyState,
  SigningKeyRecord,
  UserRecord,
} from '../types';

/**
 * One area of the access model (keys, directory, deployments, policies, signing keys): the events it folds.
 * The model routes each event type to exactly one area (a table the compiler checks is complete).
 */
export interface Evolver {
  evolve(e: DomainEvent, event: RecordedEvent): void;
}

export const time = (iso: string): number => Date.parse(iso);

/** A public JWK as published in the JWKS (frozen). Usable as `serviceTokenAnchor`'s `getKey` result. */
export type PublicJwkRecord = PublicJwk;

/** A revocation seen before its key (a tombstone: the key is born revoked). */
export interface KeyTombstone {
  revokedAt: number;
  reason: KeyRevocationReasonValue;
  eventId: string;
}

/** Facts about a user that arrived before its `UserCreated`. */
export interface PendingUser {
  deactivatedAt: number | null;
  groups: string[] | null;
  groupsRefreshedAt: number | null;
  groupsChangedAt: number | null;
  groupsVersion: number;
}

/** A role assignment with the project stream version that set it; `role: null` is a removal. */
export interface RoleEntry {
  role: ProjectRole | null;
  version: number;
}

export interface HeldSigningKey extends SigningKeyRecord {
  /** Stream version of the `SigningKeyPublished` it came from. */
  readonly version: number;
}

export const DEFAULT_EXTERNAL_ACCESS_POLICY: ExternalAccessPolicy = Object.freeze({
  requireExternalUserLoginAfterHours: -1,
});
export const DEFAULT_KEY_POLICY: KeyPolicy = Object.freeze({ defaultLifetimeDays: 365, maxLifetimeDays: 365 });

/** Builds key records with one property order, so every record shares one hidden class. */
export function keyRecord(k: {
  keyId: string;
  kind: 'user-key' | 'access-key';
  secretHash: string;
  userId: string | null;
  scope: KeyRecord['scope'];
  deploymentId: string | null;
  slot: AccessKeySlot | null;
  expiresAt: number | null;
  createdAt: number;
  revokedAt: number | null;
  revocationReason: KeyRevocationReasonValue | null;
  revocationEventId: string | null;
}): KeyRecord {
  return {
    keyId: k.keyId,
    kind: k.kind,
    secretHash: k.secretHash,
    userId: k.userId,
    scope: k.scope,
    deploymentId: k.deploymentId,
    slot: k.slot,
    expiresAt: k.expiresAt,
    createdAt: k.createdAt,
    revoked: k.revokedAt !== null,
    revokedAt: k.revokedAt,
    revocationReason: k.revocationReason,
    revocationEventId: k.revocationEventId,
  };
}

export function userRecord(u: Omit<UserRecord, 'deactivated'>): UserRecord {
  return {
    userId: u.userId,
    name: u.name,
    kind: u.kind,
    admin: u.admin,
    email: u.email,
    idp: u.idp,
    externalSubject: u.externalSubject,
    createdAt: u.createdAt,
    deactivated: u.deactivatedAt !== null,
    deactivatedAt: u.deactivatedAt,
    groups: u.groups,
    groupsRefreshedAt: u.groupsRefreshedAt,
    groupsChangedAt: u.groupsChangedAt,
  };
}

export function signingKeyRecord(
  kid: string,
  publicJwk: Record<string, unknown>,
  activatesAt: number,
  version: number,
): HeldSigningKey {
  // The JWKS entry always names its kid, whatever the event's JWK carried.
  return Object.freeze({ kid, publicJwk: Object.freeze({ ...publicJwk, kid }) as PublicJwk, activatesAt, version });
}

export function deploymentRecord(d: DeploymentState, version: number): DeploymentRecord {
  return {
    deploymentId: d.deploymentId,
    projectId: d.projectId,
    name: d.name,
    hosts: Object.freeze([...d.hosts]),
    pathPrefixes: Object.freeze([...d.pathPrefixes]),
    authentication: d.authentication,
    credentialKinds: new Set<CredentialKind>(d.credentialKinds),
    grantedGroups: new Set(d.grantedGroups),
    environment: d.environment,
    version,
  };
}

/** Whether a key may be used at `now`: revoked wins over expired. */
export function keyState(key: KeyRecord, now: number): KeyState {
  if (key.revoked) return 'revoked';
  if (key.expiresAt !== null && now >= key.expiresAt) return 'expired';
  return 'valid';
}
