/**
 * Event builders for this library's specs (not exported from the package index): recorded events as a log
 * source delivers them, with typed data.
 */
import type { AccessModelSnapshot } from './snapshot';
import { packSnapshot, unpackSnapshot } from './snapshot-envelope';
import type {
  CollaboratorSet,
  DeploymentState,
  GroupsEdited,
  GroupsRefreshed,
  KeyCreated,
  KeyRevoked,
  KeyRotated,
  ProjectCreated,
  UserCreated,
} from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import { createHash } from 'node:crypto';

let counter = 0;

export function recorded(
  streamId: string,
  streamVersion: number,
  type: string,
  data: unknown,
  id?: string,
): RecordedEvent {
  counter += 1;
  return {
    id: id ?? `evt_${streamId}_${streamVersion}`,
    source: streamId.startsWith('key') || streamId.startsWith('signing') ? '/tollgate/keys' : '/tollgate/identity',
    streamId,
    streamVersion,
    position: counter,
    type,
    data,
    metadata: { actor: 'system', channel: 'system' },
    recordedAt: new Date('2026-11-26T06:00:00.000Z'),
  };
}

export const sha = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export const T0 = Date.parse('2026-11-26T06:00:00.000Z');
export const iso = (ms: number): string => new Date(ms).toISOString();
const HOUR = 3_600_000;

export const ev = {
  userKeyCreated(keyId: string, userId: string, secret: string, over: Partial<KeyCreated> = {}): RecordedEvent {
    const data: KeyCreated = {
      keyId,
      kind: 'user-key',
      secretHash: sha(secret),
      name: `key ${keyId}`,
      userId,
      scope: 'management',
      expiresAt: iso(T0 + 24 * HOUR),
      createdAt: iso(T0),
      ...over,
    };
    return recorded(`key-${keyId}`, 1, 'KeyCreated', data);
  },
  accessKeyCreated(
    keyId: string,
    deploymentId: string,
    slot: 'primary' | 'secondary',
    secret: string,
    createdAt = T0,
  ): RecordedEvent {
    const data: KeyCreated = {
      keyId,
      kind: 'access-key',
      secretHash: sha(secret),
      deploymentId,
      slot,
      expiresAt: null,
      createdAt: iso(createdAt),
    };
    return recorded(`key-${keyId}`, 1, 'KeyCreated', data);
  },
  keyRevoked(keyId: string, reason: KeyRevoked['reason'] = 'user', at = T0 + HOUR): RecordedEvent {
    return recorded(`key-${keyId}`, 2, 'KeyRevoked', { keyId, reason, revokedAt: iso(at) } satisfies KeyRevoked);
  },
  keyRotated(keyId: string, successorKeyId: string, revokesAt: number, version = 2, at = T0 + HOUR): RecordedEvent {
    return recorded(`key-${keyId}`, version, 'KeyRotated', {
      keyId,
      successorKeyId,
      rotatedAt: iso(at),
      revokesAt: iso(revokesAt),
    } satisfies KeyRotated);
  },
  userCreated(userId: string, name: string, over: Partial<UserCreated> = {}, version = 1): RecordedEvent {
    const data: UserCreated = {
      userId,
      name,
      kind: 'internal',
      admin: false,
      email: null,
      createdAt: iso(T0),
      ...over,
    };
    return recorded(`user-${userId}`, version, 'UserCreated', data);
  },
  userDeactivated(userId: string, version: number, at = T0 + 2 * HOUR): RecordedEvent {
    return recorded(`user-${userId}`, version, 'UserDeactivated', { userId, deactivatedAt: iso(at) });
  },
  userReactivated(userId: string, version: number, at = T0 + 3 * HOUR): RecordedEvent {
    return recorded(`user-${userId}`, version, 'UserReactivated', { userId, reactivatedAt: iso(at) });
  },
  groupsRefreshed(userId: string, version: number, groups: string[], at: number): RecordedEvent {
    return recorded(`user-${userId}`, version, 'GroupsRefreshed', {
      userId,
      groups,
      refreshedAt: iso(at),
    } satisfies GroupsRefreshed);
  },
  /** SCIM's membership edit: the full set as of `at`, the login clock untouched. */
  groupsEdited(userId: string, version: number, groups: string[], at: number): RecordedEvent {
    return recorded(`user-${userId}`, version, 'GroupsEdited', {
      userId,
      groups,
      editedAt: iso(at),
    } satisfies GroupsEdited);
  },
  projectCreated(projectId: string, ownerId: string): RecordedEvent {
    return recorded(`project-${projectId}`, 1, 'ProjectCreated', {
      projectId,
      name: `project ${projectId}`,
      ownerId,
      createdAt: iso(T0),
    } satisfies ProjectCreated);
  },
  collaboratorSet(projectId: string, version: number, userId: string, role: CollaboratorSet['role']): RecordedEvent {
    return recorded(`project-${projectId}`, version, 'CollaboratorSet', { projectId, userId, role });
  },
  collaboratorRemoved(projectId: string, version: number, userId: string): RecordedEvent {
    return recorded(`project-${projectId}`, version, 'CollaboratorRemoved', { projectId, userId });
  },
  deployment(deploymentId: string, version: number, over: Partial<DeploymentState> = {}): RecordedEvent {
    const data: DeploymentState = {
      deploymentId,
      projectId: 'prj_1',
      name: `deployment ${deploymentId}`,
      hosts: ['models.example.com'],
      pathPrefixes: ['/'],
      authentication: true,
      credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
      grantedGroups: [],
      environment: null,
      ...over,
    };
    return recorded(
      `deployment-${deploymentId}`,
      version,
      version === 1 ? 'DeploymentCreated' : 'DeploymentUpdated',
      data,
    );
  },
  externalAccessPolicy(version: number, hours: number): RecordedEvent {
    return recorded('external-access-policy', version, 'ExternalAccessPolicyChanged', {
      requireExternalUserLoginAfterHours: hours,
    });
  },
  keyPolicy(version: number, defaultLifetimeDays: number, maxLifetimeDays: number | null): RecordedEvent {
    return recorded('key-policy', version, 'KeyPolicyChanged', { defaultLifetimeDays, maxLifetimeDays });
  },
  signingKeyPublished(
    version: number,
    kid: string,
    publicJwk: Record<string, unknown>,
    activatesAt = T0,
  ): RecordedEvent {
    return recorded('signing-keys', version, 'SigningKeyPublished', { kid, publicJwk, activatesAt: iso(activatesAt) });
  },
  signingKeyRetired(version: number, kid: string, retiredAt: number): RecordedEvent {
    return recorded('signing-keys', version, 'SigningKeyRetired', { kid, retiredAt: iso(retiredAt) });
  },
};

/** A snapshot as a replica reads it back: packed into the stored envelope, then unpacked. */
export function throughStorage(model: AccessModelSnapshot): AccessModelSnapshot {
  return unpackSnapshot(packSnapshot({ position: { offsets: {}, streamVersions: {} }, model })).model;
}
