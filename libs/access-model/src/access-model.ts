import type { AccessKeySlot, ProjectRole } from '@tollgate/contracts';
import type { Projection, RecordedEvent } from '@tollgate/event-store';
import type { AccessModelSnapshot } from './snapshot';
import type {
  AccessModelCounts,
  DeploymentRecord,
  ExternalAccessPolicy,
  KeyPolicy,
  KeyRecord,
  KeyState,
  ProjectRecord,
  SigningKeyRecord,
  UserRecord,
} from './types';

export interface AccessModelOptions {
  /** Clock for `revocationApplied` bookkeeping and signing-key retirement (default `Date.now`). */
  now?: () => number;
}

/** A public JWK as published in the JWKS. */
export type PublicJwkRecord = Readonly<Record<string, unknown>>;

/**
 * The in-memory projection of every key and identity event. Plain TypeScript; implements the event-store
 * `Projection`. Every lookup is a synchronous Map read. Applying is order-independent across streams.
 */
export class AccessModel implements Projection {
  constructor(_options: AccessModelOptions = {}) {}

  /** Folds one event; unknown type or invalid data throws (the runner halts: fail closed). */
  apply(_event: RecordedEvent): void {
    throw new Error('not implemented');
  }

  keyByHash(_secretHash: string): KeyRecord | undefined {
    throw new Error('not implemented');
  }
  keyById(_keyId: string): KeyRecord | undefined {
    throw new Error('not implemented');
  }
  /** The current (newest unrevoked) access key of a deployment's slot. */
  accessKey(_deploymentId: string, _slot: AccessKeySlot): KeyRecord | undefined {
    throw new Error('not implemented');
  }
  user(_userId: string): UserRecord | undefined {
    throw new Error('not implemented');
  }
  userByName(_name: string): UserRecord | undefined {
    throw new Error('not implemented');
  }
  project(_projectId: string): ProjectRecord | undefined {
    throw new Error('not implemented');
  }
  roleOf(_projectId: string, _userId: string): ProjectRole | undefined {
    throw new Error('not implemented');
  }
  collaborators(_projectId: string): ReadonlyMap<string, ProjectRole> {
    throw new Error('not implemented');
  }
  deploymentById(_deploymentId: string): DeploymentRecord | undefined {
    throw new Error('not implemented');
  }
  deployments(): IterableIterator<DeploymentRecord> {
    throw new Error('not implemented');
  }
  /** Host case-insensitive without port; longest path prefix at a segment boundary. */
  routeDeployment(_host: string, _path: string): DeploymentRecord | undefined {
    throw new Error('not implemented');
  }
  /** The external-access policy (default -1). */
  policy(): ExternalAccessPolicy {
    throw new Error('not implemented');
  }
  keyPolicy(): KeyPolicy {
    throw new Error('not implemented');
  }
  signingKey(_kid: string): PublicJwkRecord | undefined {
    throw new Error('not implemented');
  }
  signingKeys(): SigningKeyRecord[] {
    throw new Error('not implemented');
  }
  jwks(): { keys: PublicJwkRecord[] } {
    throw new Error('not implemented');
  }
  /** When this model applied the `KeyRevoked` event with this id (epoch ms), or undefined. */
  revocationApplied(_eventId: string): number | undefined {
    throw new Error('not implemented');
  }
  /** Called after each `KeyRevoked` is applied. Returns an unsubscribe function. */
  onRevocationApplied(_listener: (eventId: string, appliedAt: number, key: KeyRecord | undefined) => void): () => void {
    throw new Error('not implemented');
  }
  counts(): AccessModelCounts {
    throw new Error('not implemented');
  }
  snapshot(): AccessModelSnapshot {
    throw new Error('not implemented');
  }
  static restore(_value: unknown, _options: AccessModelOptions = {}): AccessModel {
    throw new Error('not implemented');
  }
}

/** Whether a key may be used at `now`: revoked wins over expired. */
export function keyState(key: KeyRecord, now: number): KeyState {
  if (key.revoked) return 'revoked';
  if (key.expiresAt !== null && now >= key.expiresAt) return 'expired';
  return 'valid';
}
