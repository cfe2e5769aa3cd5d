import type {
  AccessKeySlot,
  KeyCreated,
  KeyEvent,
  KeyRevocationReason,
  KeyRotated,
  KeyScope,
  KeyUse,
} from '@tollgate/contracts';

/** A key as the keys service lists it (never a secret: only its hash, which is never sent to a client). */
export interface StoredKey {
  keyId: string;
  kind: 'user-key' | 'access-key';
  secretHash: string;
  name: string | null;
  userId: string | null;
  scope: KeyScope | null;
  deploymentId: string | null;
  slot: AccessKeySlot | null;
  expiresAt: string | null;
  createdAt: string;
  revokedAt: string | null;
  revocationReason: KeyRevocationReason | null;
  /** Id of the `KeyRevoked` event (for `GET /v1/revocations/{eventId}`). */
  revocationEventId: string | null;
  /** The key that replaces this one (a `KeyRotated`), or null. */
  successorKeyId: string | null;
  /** When a rotation ends this key (ISO), or null: it stops working at min(expiresAt, revokesAt). */
  revokesAt: string | null;
  /** Stream version of `key-<keyId>`: 1 created, then one per rotation or revocation. */
  version: number;
  /** Start of the latest minute an authz replica saw the key in use (ISO), or null: never, as far as known. */
  lastUsedAt: string | null;
}

/** A rotation whose overlap has ended, its old key not revoked yet: what the rotation sweeper revokes. */
export interface DueRotation {
  keyId: string;
  /** The `KeyRotated` event (the revocation's causation). */
  eventId: string;
  revokesAt: string;
}

export interface UserKeyCount {
  userId: string;
  /** Neither revoked nor expired at the given time. */
  active: number;
}

/**
 * The keys service's queries. Answered from its own event store (see `PostgresKeyReadModel`), so they are
 * consistent with every append that has returned: read-your-writes for every client.
 */
export interface KeyReadModel {
  byId(keyId: string): Promise<StoredKey | undefined>;
  bySecretHash(secretHash: string): Promise<StoredKey | undefined>;
  /** A user's API keys (revoked ones included), oldest first. */
  userKeys(userId: string): Promise<StoredKey[]>;
  /** Active user keys per owner at `now` (ISO), for every owner that has at least one key. */
  countsByUser(now: string): Promise<UserKeyCount[]>;
  /** Unrevoked user keys with `from < expiresAt <= until` (ISO), soonest first; one user's or everyone's. */
  expiring(from: string, until: string, userId?: string): Promise<StoredKey[]>;
  /**
   * Unrevoked keys (expired ones included) of these owners: the user keys of `userIds` and the access keys of
   * `deploymentIds`, oldest first. What a bulk revocation covers.
   */
  unrevoked(owners: { userIds: readonly string[]; deploymentIds: readonly string[] }): Promise<StoredKey[]>;
  /** The deployment's access-key events (creations and their revocations) in commit order. */
  accessKeyEvents(deploymentId: string): Promise<KeyEvent[]>;
  /** Rotated keys with `revokesAt <= now` (ISO) and no `KeyRevoked` yet, soonest first, at most `limit`. */
  dueRotations(now: string, limit: number): Promise<DueRotation[]>;
}

/**
 * "Last used" per key (`lastUsedAt` of `StoredKey`), from the authz replicas' `KeysUsed` batches. A key's
 * value only ever moves forward: recording an older minute than the one held changes nothing.
 */
export interface KeyUsageStore {
  /** At most one entry per key (see `foldKeyUsage`). */
  recordUsage(uses: readonly KeyUse[]): Promise<void>;
}

/** A key from its `KeyCreated`, its `KeyRotated` if any, and, when revoked, its `KeyRevoked` (data and event id). */
export function storedKey(
  created: KeyCreated,
  revoked: { data: { reason: KeyRevocationReason; revokedAt: string }; eventId: string } | null,
  version: number,
  lastUsedAt: string | null = null,
  rotated: Pick<KeyRotated, 'successorKeyId' | 'revokesAt'> | null = null,
): StoredKey {
  return {
    keyId: created.keyId,
    kind: created.kind,
    secretHash: created.secretHash,
    name: created.name ?? null,
    userId: created.userId ?? null,
    scope: created.scope ?? null,
    deploymentId: created.deploymentId ?? null,
    slot: created.slot ?? null,
    expiresAt: created.expiresAt,
    createdAt: created.createdAt,
    revokedAt: revoked?.data.revokedAt ?? null,
    revocationReason: revoked?.data.reason ?? null,
    revocationEventId: revoked?.eventId ?? null,
    successorKeyId: rotated?.successorKeyId ?? null,
    revokesAt: rotated?.revokesAt ?? null,
    version,
    lastUsedAt,
  };
}

/** When the key stops working (ISO): min(expiresAt, a rotation's revokesAt); null: never. */
export function keyStopsAt(key: Pick<StoredKey, 'expiresAt' | 'revokesAt'>): string | null {
  if (key.revokesAt === null) return key.expiresAt;
  if (key.expiresAt === null) return key.revokesAt;
  return Date.parse(key.revokesAt) < Date.parse(key.expiresAt) ? key.revokesAt : key.expiresAt;
}

/**
 * `active`, `expired` or `revoked` at `now` (ISO). A key is expired from its `expiresAt` on, and a rotated key
 * from its `revokesAt` on (until the sweeper's `KeyRevoked` makes it revoked).
 */
export function keyStatus(
  key: Pick<StoredKey, 'revokedAt' | 'expiresAt'> & Partial<Pick<StoredKey, 'revokesAt'>>,
  now: string,
): 'active' | 'expired' | 'revoked' {
  if (key.revokedAt !== null) return 'revoked';
  const stopsAt = keyStopsAt({ expiresAt: key.expiresAt, revokesAt: key.revokesAt ?? null });
  if (stopsAt !== null && stopsAt <= now) return 'expired';
  return 'active';
}
