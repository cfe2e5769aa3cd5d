import {
  accessKeySlot,
  credentialKind,
  keyRevocationReason,
  keyScope,
  projectRole,
  userKind,
  type AccessKeySlot,
  type CredentialKind,
  type ProjectRole,
} from '@tollgate/contracts';
import type { PublicJwk } from '@tollgate/authn';
import type {
  DeploymentRecord,
  ExternalAccessPolicy,
  KeyPolicy,
  KeyRecord,
  KeyRevocationReasonValue,
  ProjectRecord,
  UserRecord,
} from './types';
import type { HeldSigningKey, KeyTombstone, PendingUser, RoleEntry } from './model/records';
import type { EventWaiver } from './model/waivers';

/**
 * The JSON-serialisable snapshot of an `AccessModel`: arrays of tuples (no object per key), secret hashes
 * as base64 (44 characters instead of 64), times as epoch ms, enums as small integers. `format` changes
 * when the layout does; an unknown format is refused (the caller then replays from the log).
 */
export const SNAPSHOT_FORMAT = 'tollgate.access-model/1';

/**
 * Key tuple: `[keyId, kind, hashB64, owner, scopeOrSlot, expiresAt, createdAt]`, followed for a revoked key
 * by `revokedAt, reason, revocationEventId`. `kind` 0 user key (owner = userId, 0 inference / 1 management),
 * 1 access key (owner = deploymentId, 0 primary / 1 secondary).
 */
export type KeyTuple =
  | [string, 0 | 1, string, string, 0 | 1, number | null, number]
  | [string, 0 | 1, string, string, 0 | 1, number | null, number, number, string, string];
/**
 * `[userId, name, kind, admin, email, idp, externalSubject, createdAt, deactivatedAt, groups, groupsRefreshedAt,
 * groupsVersion, groupsChangedAt]`. `groupsChangedAt` was added within format 1: absent, it is
 * `groupsRefreshedAt` (before SCIM's `GroupsEdited` the two were one time); an older reader ignores it.
 */
export type UserTuple = [
  string,
  string,
  string,
  boolean,
  string | null,
  string | null,
  string | null,
  number,
  number | null,
  string[],
  number | null,
  number,
  number | null,
];

export interface AccessModelSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  keys: KeyTuple[];
  /** Revocations seen before their key: `[keyId, revokedAt, reason, eventId]`. */
  keyTombstones: [string, number, string, string][];
  users: UserTuple[];
  /**
   * Facts about users not created yet: `[userId, deactivatedAt, groups, groupsRefreshedAt, groupsVersion,
   * groupsChangedAt]` (the last as for users).
   */
  pendingUsers: [string, number | null, string[] | null, number | null, number, number | null][];
  /** `[projectId, name, ownerId, createdAt]` */
  projects: [string, string, string, number][];
  /** `[projectId, userId, role | null (removed), version]` */
  roles: [string, string, string | null, number][];
  /** `[deploymentId, projectId, name, hosts, pathPrefixes, authentication, credentialKinds, grantedGroups, environment, version]` */
  deployments: [string, string, string, string[], string[], boolean, string[], string[], string | null, number][];
  /** `[requireExternalUserLoginAfterHours, version]` */
  externalAccessPolicy: [number, number];
  /** `[defaultLifetimeDays, maxLifetimeDays, version]` */
  keyPolicy: [number, number | null, number];
  /** `[kid, publicJwk, activatesAt, version]` */
  signingKeys: [string, Record<string, unknown>, number, number][];
  /** `[kid, retiredAt]` */
  retiredSigningKeys: [string, number][];
  /** Revocations applied: `[eventId, appliedAt]`. */
  revocations: [string, number][];
  /**
   * Waivers held: `[eventId, streamId, eventVersion, eventType, reason, waivedBy, waiverEventId]`. Optional
   * (added within format 1): a snapshot without it holds none; an older reader ignores it.
   */
  waivers?: [string, string, number, string, string, string, string][];
}

/**
 * What the model hands to `encodeSnapshot`: copies of its collections (records are immutable, so copying
 * the references is a consistent capture), cheap enough to take in the same tick as the runner's position.
 */
export interface SnapshotState {
  keys: readonly KeyRecord[];
  keyTombstones: readonly [string, KeyTombstone][];
  users: readonly UserRecord[];
  groupsVersions: ReadonlyMap<string, number>;
  pendingUsers: readonly [string, PendingUser][];
  projects: readonly ProjectRecord[];
  roles: readonly [string, string, RoleEntry][];
  deployments: readonly DeploymentRecord[];
  externalAccessPolicy: { policy: ExternalAccessPolicy; version: number };
  keyPolicy: { policy: KeyPolicy; version: number };
  signingKeys: readonly HeldSigningKey[];
  retiredSigningKeys: readonly [string, number][];
  revocations: readonly [string, number][];
  waivers: readonly EventWaiver[];
}

const SCOPES = keyScope.options;
const SLOTS = accessKeySlot.options;

function keyTuple(k: KeyRecord): KeyTuple {
  const user = k.kind === 'user-key';
  const base: [string, 0 | 1, string, string, 0 | 1, number | null, number] = [
    k.keyId,
    user ? 0 : 1,
    Buffer.from(k.secretHash, 'hex').toString('base64'),
    user ? k.userId! : k.deploymentId!,
    (user ? SCOPES.indexOf(k.scope!) : SLOTS.indexOf(k.slot!)) as 0 | 1,
    k.expiresAt,
    k.createdAt,
  ];
  return k.revoked ? [...base, k.revokedAt!, k.revocationReason!, k.revocationEventId!] : base;
}

/** Encodes a captured state at once. */
export function encodeSnapshot(s: SnapshotState): AccessModelSnapshot {
  return encodeRest(s, s.keys.map(keyTuple));
}

/** Encodes a captured state in slices of `slice` keys, yielding to the event loop between them. */
export async function encodeSnapshotAsync(s: SnapshotState, slice = 5000): Promise<AccessModelSnapshot> {
  const keys = new Array<KeyTuple>(s.keys.length);
  for (let i = 0; i < s.keys.length; i++) {
    keys[i] = keyTuple(s.keys[i]!);
    if (i % slice === slice - 1) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return encodeRest(s, keys);
}

function encodeRest(s: SnapshotState, keys: KeyTuple[]): AccessModelSnapshot {
  return {
    format: SNAPSHOT_FORMAT,
    keys,
    keyTombstones: s.keyTombstones.map(([keyId, t]) => [keyId, t.revokedAt, t.reason, t.eventId]),
    users: s.users.map((u) => [
      u.userId,
      u.name,
      u.kind,
      u.admin,
      u.email,
      u.idp,
      u.externalSubject,
      u.createdAt,
      u.deactivatedAt,
      [...u.groups],
      u.groupsRefreshedAt,
      s.groupsVersions.get(u.userId) ?? 0,
      u.groupsChangedAt,
    ]),
    pendingUsers: s.pendingUsers.map(([userId, p]) => [
      userId,
      p.deactivatedAt,
      p.groups ? [...p.groups] : null,
      p.groupsRefreshedAt,
      p.groupsVersion,
      p.groupsChangedAt,
    ]),
    projects: s.projects.map((p) => [p.projectId, p.name, p.ownerId, p.createdAt]),
    roles: s.roles.map(([projectId, userId, entry]) => [projectId, userId, entry.role, entry.version]),
    deployments: s.deployments.map((d) => [
      d.deploymentId,
      d.projectId,
      d.name,
      [...d.hosts],
      [...d.pathPrefixes],
      d.authentication,
      [...d.credentialKinds],
      [...d.grantedGroups],
      d.environment,
      d.version,
    ]),
    externalAccessPolicy: [
      s.externalAccessPolicy.policy.requireExternalUserLoginAfterHours,
      s.externalAccessPolicy.version,
    ],
    keyPolicy: [s.keyPolicy.policy.defaultLifetimeDays, s.keyPolicy.policy.maxLifetimeDays, s.keyPolicy.version],
    signingKeys: s.signingKeys.map((k) => [k.kid, { ...k.publicJwk }, k.activatesAt, k.version]),
    retiredSigningKeys: [...s.retiredSigningKeys],
    revocations: [...s.revocations],
    waivers: s.waivers.map((w) => [
      w.eventId,
      w.streamId,
      w.eventVersion,
      w.eventType,
      w.reason,
      w.waivedBy,
      w.waiverEventId,
    ]),
  };
}

/** The decoded content of a snapshot, as records. */
export interface DecodedSnapshot {
  keys: KeyRecord[];
  keyTombstones: [string, KeyTombstone][];
  users: UserRecord[];
  groupsVersions: [string, number][];
  pendingUsers: [string, PendingUser][];
  projects: ProjectRecord[];
  roles: [string, string, RoleEntry][];
  deployments: DeploymentRecord[];
  externalAccessPolicy: { policy: ExternalAccessPolicy; version: number };
  keyPolicy: { policy: KeyPolicy; version: number };
  signingKeys: HeldSigningKey[];
  retiredSigningKeys: [string, number][];
  revocations: [string, number][];
  waivers: EventWaiver[];
}

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

const fail = (what: string): never => {
  throw new SnapshotFormatError(`invalid access-model snapshot: ${what}`);
};
const arr = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : fail(`${what} is not an array`));
const str = (v: unknown, what: string): string => (typeof v === 'string' ? v : fail(`${what} is not a string`));
const num = (v: unknown, what: string): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : fail(`${what} is not a number`);
const bool = (v: unknown, what: string): boolean => (typeof v === 'boolean' ? v : fail(`${what} is not a boolean`));
const optStr = (v: unknown, what: string): string | null => (v === null ? null : str(v, what));
const optNum = (v: unknown, what: string): number | null => (v === null ? null : num(v, what));
const strs = (v: unknown, what: string): string[] => arr(v, what).map((x) => str(x, what));
const oneOf = <T extends string>(options: readonly T[], v: unknown, what: string): T =>
  options.includes(v as T) ? (v as T) : fail(`${what} is not one of ${options.join(', ')}`);

/** Validates a snapshot's shape (cheaply: it comes from our own table) and decodes it into records. */
export function decodeSnapshot(value: unknown): DecodedSnapshot {
  if (typeof value !== 'object' || value === null) fail('not an object');
  const v = value as Record<string, unknown>;
  if (v.format !== SNAPSHOT_FORMAT) fail(`format ${JSON.stringify(v.format)} (expected ${SNAPSHOT_FORMAT})`);

  const keys = arr(v.keys, 'keys').map((t): KeyRecord => {
    const k = arr(t, 'key');
    if (k.length !== 7 && k.length !== 10) fail('key tuple length');
    const kind = k[1] === 0 ? 'user-key' : k[1] === 1 ? 'access-key' : fail('key kind');
    const hash = Buffer.from(str(k[2], 'key hash'), 'base64');
    if (hash.length !== 32) fail('key hash length');
    const owner = str(k[3], 'key owner');
    const sub = k[4] === 0 || k[4] === 1 ? k[4] : fail('key scope/slot');
    const revoked = k.length === 10;
    return {
      keyId: str(k[0], 'keyId'),
      kind,
      secretHash: hash.toString('hex'),
      userId: kind === 'user-key' ? owner : null,
      scope: kind === 'user-key' ? SCOPES[sub]! : null,
      deploymentId: kind === 'access-key' ? owner : null,
      slot: kind === 'access-key' ? (SLOTS[sub] as AccessKeySlot) : null,
      expiresAt: optNum(k[5], 'expiresAt'),
      createdAt: num(k[6], 'createdAt'),
      revoked,
      revokedAt: revoked ? num(k[7], 'revokedAt') : null,
      revocationReason: revoked ? oneOf(keyRevocationReason.options, k[8], 'reason') : null,
      revocationEventId: revoked ? str(k[9], 'revocationEventId') : null,
    };
  });

  const keyTombstones = arr(v.keyTombstones, 'keyTombstones').map((t): [string, KeyTombstone] => {
    const k = arr(t, 'tombstone');
    return [
      str(k[0], 'tombstone keyId'),
      {
        revokedAt: num(k[1], 'revokedAt'),
        reason: oneOf(keyRevocationReason.options, k[2], 'reason') as KeyRevocationReasonValue,
        eventId: str(k[3], 'eventId'),
      },
    ];
  });

  const groupsVersions: [string, number][] = [];
  const users = arr(v.users, 'users').map((t): UserRecord => {
    const u = arr(t, 'user');
    const userId = str(u[0], 'userId');
    groupsVersions.push([userId, num(u[11], 'groupsVersion')]);
    const deactivatedAt = optNum(u[8], 'deactivatedAt');
    const groupsRefreshedAt = optNum(u[10], 'groupsRefreshedAt');
    return {
      userId,
      name: str(u[1], 'name'),
      kind: oneOf(userKind.options, u[2], 'user kind'),
      admin: bool(u[3], 'admin'),
      email: optStr(u[4], 'email'),
      idp: optStr(u[5], 'idp'),
      externalSubject: optStr(u[6], 'externalSubject'),
      createdAt: num(u[7], 'createdAt'),
      deactivated: deactivatedAt !== null,
      deactivatedAt,
      groups: new Set(strs(u[9], 'groups')),
      groupsRefreshedAt,
      groupsChangedAt: u.length > 12 ? optNum(u[12], 'groupsChangedAt') : groupsRefreshedAt,
    };
  });

  const pendingUsers = arr(v.pendingUsers, 'pendingUsers').map((t): [string, PendingUser] => {
    const p = arr(t, 'pending user');
    const groupsRefreshedAt = optNum(p[3], 'groupsRefreshedAt');
    return [
      str(p[0], 'userId'),
      {
        deactivatedAt: optNum(p[1], 'deactivatedAt'),
        groups: p[2] === null ? null : strs(p[2], 'groups'),
        groupsRefreshedAt,
        groupsChangedAt: p.length > 5 ? optNum(p[5], 'groupsChangedAt') : groupsRefreshedAt,
        groupsVersion: num(p[4], 'groupsVersion'),
      },
    ];
  });

  const projects = arr(v.projects, 'projects').map((t): ProjectRecord => {
    const p = arr(t, 'project');
    return Object.freeze({
      projectId: str(p[0], 'projectId'),
      name: str(p[1], 'name'),
      ownerId: str(p[2], 'ownerId'),
      createdAt: num(p[3], 'createdAt'),
    });
  });

  const roles = arr(v.roles, 'roles').map((t): [string, string, RoleEntry] => {
    const r = arr(t, 'role');
    const role = r[2] === null ? null : (oneOf(projectRole.options, r[2], 'role') as ProjectRole);
    return [str(r[0], 'projectId'), str(r[1], 'userId'), { role, version: num(r[3], 'version') }];
  });

  const deployments = arr(v.deployments, 'deployments').map((t): DeploymentRecord => {
    const d = arr(t, 'deployment');
    return {
      deploymentId: str(d[0], 'deploymentId'),
      projectId: str(d[1], 'projectId'),
      name: str(d[2], 'name'),
      hosts: Object.freeze(strs(d[3], 'hosts')),
      pathPrefixes: Object.freeze(strs(d[4], 'pathPrefixes')),
      authentication: bool(d[5], 'authentication'),
      credentialKinds: new Set(
        strs(d[6], 'credentialKinds').map((k) => oneOf(credentialKind.options, k, 'credential kind') as CredentialKind),
      ),
      grantedGroups: new Set(strs(d[7], 'grantedGroups')),
      environment: optStr(d[8], 'environment'),
      version: num(d[9], 'version'),
    };
  });

  const eap = arr(v.externalAccessPolicy, 'externalAccessPolicy');
  const kp = arr(v.keyPolicy, 'keyPolicy');
  const signingKeys = arr(v.signingKeys, 'signingKeys').map((t): HeldSigningKey => {
    const k = arr(t, 'signing key');
    const jwk = k[1];
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) fail('publicJwk');
    const kid = str(k[0], 'kid');
    return Object.freeze({
      kid,
      publicJwk: Object.freeze({ ...(jwk as Record<string, unknown>), kid }) as PublicJwk,
      activatesAt: num(k[2], 'activatesAt'),
      version: num(k[3], 'version'),
    });
  });
  const pairs = (x: unknown, what: string): [string, number][] =>
    arr(x, what).map((t) => {
      const p = arr(t, what);
      return [str(p[0], what), num(p[1], what)];
    });

  return {
    keys,
    keyTombstones,
    users,
    groupsVersions,
    pendingUsers,
    projects,
    roles,
    deployments,
    externalAccessPolicy: {
      policy: Object.freeze({ requireExternalUserLoginAfterHours: num(eap[0], 'requireExternalUserLoginAfterHours') }),
      version: num(eap[1], 'externalAccessPolicy version'),
    },
    keyPolicy: {
      policy: Object.freeze({
        defaultLifetimeDays: num(kp[0], 'defaultLifetimeDays'),
        maxLifetimeDays: optNum(kp[1], 'maxLifetimeDays'),
      }),
      version: num(kp[2], 'keyPolicy version'),
    },
    signingKeys,
    retiredSigningKeys: pairs(v.retiredSigningKeys, 'retiredSigningKeys'),
    revocations: pairs(v.revocations, 'revocations'),
    waivers: (v.waivers === undefined ? [] : arr(v.waivers, 'waivers')).map((t): EventWaiver => {
      const w = arr(t, 'waiver');
      return Object.freeze({
        eventId: str(w[0], 'waiver eventId'),
        streamId: str(w[1], 'waiver streamId'),
        eventVersion: num(w[2], 'waiver eventVersion'),
        eventType: str(w[3], 'waiver eventType'),
        reason: str(w[4], 'waiver reason'),
        waivedBy: str(w[5], 'waiver waivedBy'),
        waiverEventId: str(w[6], 'waiver waiverEventId'),
      });
    }),
  };
}
