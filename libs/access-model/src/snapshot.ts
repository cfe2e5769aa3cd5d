/**
 * The JSON-serialisable snapshot of an `AccessModel`: arrays of tuples (no object per key), secret hashes
 * as base64 (44 characters instead of 64), times as epoch ms. `format` changes when the layout does; an
 * unknown format is refused (the caller then replays from the log).
 */
export const SNAPSHOT_FORMAT = 'tollgate.access-model/1';

export interface AccessModelSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  /** [keyId, kind 0 user-key | 1 access-key, hashB64, userId|deploymentId, scope|slot, expiresAt, createdAt, revokedAt, reason, revocationEventId] */
  keys: unknown[][];
  /** Revocations seen before their key: [keyId, revokedAt, reason, eventId]. */
  keyTombstones: unknown[][];
  users: unknown[][];
  userTombstones: unknown[][];
  projects: unknown[][];
  roles: unknown[][];
  deployments: unknown[][];
  externalAccessPolicy: unknown[];
  keyPolicy: unknown[];
  signingKeys: unknown[][];
  retiredSigningKeys: unknown[][];
  /** [eventId, appliedAt] */
  revocations: unknown[][];
}
