import type { PublicJwk } from '@tollgate/authn';
import type { AccessKeySlot, CredentialKind, KeyRevoked, KeyScope, UserKind } from '@tollgate/contracts';

export type KeyRevocationReasonValue = KeyRevoked['reason'];

/**
 * Records of the access model. All are immutable snapshots of one entity: an event replaces the record
 * (copy on write), so a reader may keep a reference without seeing it change underneath. Times are epoch
 * milliseconds.
 */

/** A user API key (`tgi_`/`tgm_`) or a model access key (`tga_`), by the SHA-256 hex of its secret. */
export interface KeyRecord {
  readonly keyId: string;
  readonly kind: 'user-key' | 'access-key';
  /** SHA-256 hex of the secret (the map key). */
  readonly secretHash: string;
  /** Owner of a user key; null for access keys. */
  readonly userId: string | null;
  /** Scope of a user key; null for access keys. */
  readonly scope: KeyScope | null;
  /** Deployment and slot of an access key; null for user keys. */
  readonly deploymentId: string | null;
  readonly slot: AccessKeySlot | null;
  /** null: never expires. The key is expired from this instant on (`now >= expiresAt`). */
  readonly expiresAt: number | null;
  readonly createdAt: number;
  readonly revoked: boolean;
  readonly revokedAt: number | null;
  readonly revocationReason: KeyRevocationReasonValue | null;
  /** Id (`evt_…`) of the `KeyRevoked` event that revoked it. */
  readonly revocationEventId: string | null;
}

/** Whether a key may be used at `now`. */
export type KeyState = 'valid' | 'revoked' | 'expired';

export interface UserRecord {
  readonly userId: string;
  readonly name: string;
  readonly kind: UserKind;
  readonly admin: boolean;
  readonly email: string | null;
  /** External users: the IdP connector id and the IdP's `sub`. */
  readonly idp: string | null;
  readonly externalSubject: string | null;
  readonly createdAt: number;
  readonly deactivated: boolean;
  readonly deactivatedAt: number | null;
  /** Current group set (exact, case-sensitive names). Empty until a `GroupsRefreshed`. */
  readonly groups: ReadonlySet<string>;
  /**
   * The login clock: the latest `refreshedAt` of a `GroupsRefreshed` (sign-in, webhook), or null. SCIM's
   * `GroupsEdited` does not move it.
   */
  readonly groupsRefreshedAt: number | null;
  /** When the group set last changed through any channel (`refreshedAt` or `editedAt`, the latest), or null. */
  readonly groupsChangedAt: number | null;
}

export interface ProjectRecord {
  readonly projectId: string;
  readonly name: string;
  readonly ownerId: string;
  readonly createdAt: number;
}

export interface DeploymentRecord {
  readonly deploymentId: string;
  readonly projectId: string;
  readonly name: string;
  /** As configured (case kept); routing compares them lower-cased, without port. */
  readonly hosts: readonly string[];
  readonly pathPrefixes: readonly string[];
  readonly authentication: boolean;
  readonly credentialKinds: ReadonlySet<CredentialKind>;
  readonly grantedGroups: ReadonlySet<string>;
  readonly environment: string | null;
  /** Stream version of the `deployment-<id>` event this record reflects. */
  readonly version: number;
}

export interface ExternalAccessPolicy {
  /** -1: no limit; 0: external access disabled everywhere; else hours. Default -1. */
  readonly requireExternalUserLoginAfterHours: number;
}

export interface KeyPolicy {
  readonly defaultLifetimeDays: number;
  /** null: no maximum. */
  readonly maxLifetimeDays: number | null;
}

export interface SigningKeyRecord {
  readonly kid: string;
  /** Public JWK only (OKP/Ed25519). */
  readonly publicJwk: PublicJwk;
  readonly activatesAt: number;
}

/** Entity counts, for metrics and logs. */
export interface AccessModelCounts {
  keys: number;
  revokedKeys: number;
  users: number;
  projects: number;
  deployments: number;
  signingKeys: number;
  /** Events applied since construction or restore (not counting what a snapshot already held); waived ones included. */
  appliedEvents: number;
  /** Waivers held (operator decisions `EventWaived`, from the log or found out of band while halted). */
  waivers: number;
  /** Waived events applied without effect since construction or restore. */
  waivedEvents: number;
}
