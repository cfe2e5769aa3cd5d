import {
  credentialKind,
  keyRevocationReason,
  projectRole,
  userKind,
  type CredentialKind,
  type ProjectRole,
} from '@tollgate/contracts';
import type { PublicJwk } from '@tollgate/authn';
import type {
  DeploymentRecord,
  ExternalAccessPolicy,
  KeyPolicy,
  KeyRevocationReasonValue,
  ProjectRecord,
  UserRecord,
} from './types';
import { endianness } from 'node:os';
import type { CapturedKeys, Revocation } from './model/key-table';
import type { HeldSigningKey, KeyTombstone, PendingUser, RoleEntry } from './model/records';
import type { EventWaiver } from './model/waivers';

/**
 * The snapshot of an `AccessModel`. Format 3 holds the keys column by column as the key table's own typed
 * arrays (`KeyColumns`), key ids and owners each as ONE UTF-8 buffer plus offsets (`PackedStrings`), so
 * the stored envelope (`snapshot-envelope.ts`) writes them as raw bytes and a load copies a few large buffers
 * instead of parsing and rebuilding anything per key; everything else is arrays of tuples, times as epoch ms,
 * enums as small integers. `format` changes when the layout does. Formats 2 (the same columns as base64 in
 * JSON) and 1 (keys as one tuple each) still load; any other format is refused (the caller then replays
 * from the log).
 */
export const SNAPSHOT_FORMAT = 'tollgate.access-model/3';
/** Keys as base64 columns and a JSON array of ids (`KeyColumns2`), still read. */
export const SNAPSHOT_FORMAT_2 = 'tollgate.access-model/2';
/** Keys as `KeyTuple`s, still read. */
export const SNAPSHOT_FORMAT_1 = 'tollgate.access-model/1';
/** Every format `decodeSnapshot` reads, newest first. */
export const READABLE_SNAPSHOT_FORMATS = [SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_2, SNAPSHOT_FORMAT_1] as const;

/** Strings as one UTF-8 buffer: string i is `bytes[offsets[i], offsets[i + 1])`; `offsets[0]` is 0. */
export interface PackedStrings {
  bytes: Uint8Array;
  offsets: Uint32Array;
}

/**
 * Format 3's keys, row by row as in `KeyTable`: row i is id i, owned by owner `ownerOf[i]`, its 32 hash bytes at
 * [32 i, 32 i + 32) of `hashes`, its flags byte (bit 0 access key, bit 1 scope/slot index) and its times
 * (epoch ms; `expiresAt` NaN = never).
 */
export interface KeyColumns {
  count: number;
  ids: PackedStrings;
  /** Distinct owners (user ids of user keys, deployment ids of access keys). */
  owners: PackedStrings;
  ownerOf: Uint32Array;
  flags: Uint8Array;
  hashes: Uint8Array;
  createdAt: Float64Array;
  expiresAt: Float64Array;
  /** Revoked rows: `[row, revokedAt, reason, revocationEventId]`. */
  revoked: [number, number, string, string][];
}

/**
 * Format 2's keys: the columns of `KeyColumns` as base64 (float64 and uint32 little-endian), ids and owners as
 * JSON arrays of strings.
 */
export interface KeyColumns2 {
  count: number;
  ids: string[];
  /** Distinct owners (user ids of user keys, deployment ids of access keys). */
  owners: string[];
  /** uint32 little-endian index into `owners`, one per row. */
  ownerOf: string;
  flags: string;
  hashes: string;
  createdAt: string;
  expiresAt: string;
  /** Revoked rows: `[row, revokedAt, reason, revocationEventId]`. */
  revoked: [number, number, string, string][];
}

/**
 * Format 1's key tuple: `[keyId, kind, hashB64, owner, scopeOrSlot, expiresAt, createdAt]`, followed for a revoked key
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
  keys: KeyColumns;
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
  keys: CapturedKeys;
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

const LITTLE_ENDIAN = endianness() === 'LE';
/** Packs strings into one UTF-8 buffer (one join and one encode when they are ASCII, as ids are). */
export function packStrings(strings: readonly string[], count = strings.length): PackedStrings {
  const offsets = new Uint32Array(count + 1);
  const joined = count === strings.length ? strings.join('') : strings.slice(0, count).join('');
  const buffer = Buffer.from(joined, 'utf8');
  if (buffer.length === joined.length) {
    for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i]! + strings[i]!.length;
  } else {
    for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i]! + Buffer.byteLength(strings[i]!, 'utf8');
  }
  return { bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length), offsets };
}

/**
 * The strings of a `PackedStrings`, `count` of them. When the bytes are ASCII, one decode and a slice per
 * string (V8 keeps slices as views of the one decoded string: no copy per string).
 */
export function unpackStrings(p: PackedStrings, count: number, what: string): string[] {
  checkPacked(p, count, what);
  const { bytes: b, offsets } = p;
  const buffer = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const all = buffer.toString('utf8');
  const out = new Array<string>(count);
  if (all.length === b.length) {
    for (let i = 0; i < count; i++) out[i] = all.slice(offsets[i], offsets[i + 1]);
  } else {
    for (let i = 0; i < count; i++) out[i] = buffer.toString('utf8', offsets[i], offsets[i + 1]);
  }
  return out;
}

/** Offsets start at 0, never go back, and end at the end of the bytes. */
function checkPacked(p: PackedStrings, count: number, what: string): void {
  const { bytes: b, offsets } = p;
  if (offsets.length !== count + 1 || offsets[0] !== 0 || offsets[count] !== b.length) fail(`${what} offsets`);
  for (let i = 0; i < count; i++) if (offsets[i + 1]! < offsets[i]!) fail(`${what} offsets`);
}

/** The key table's columns as they are stored (see `KeyColumns`). */
function keyColumns(k: CapturedKeys): KeyColumns {
  if (!LITTLE_ENDIAN) throw new Error('access-model snapshots are written on little-endian machines only');
  const owners: string[] = [];
  const ownerIndex = new Map<string, number>();
  const ownerOf = new Uint32Array(k.count);
  for (let row = 0; row < k.count; row++) {
    const owner = k.owners[row]!;
    let i = ownerIndex.get(owner);
    if (i === undefined) {
      i = owners.push(owner) - 1;
      ownerIndex.set(owner, i);
    }
    ownerOf[row] = i;
  }
  // The captured columns are copies already (KeyTable.capture): no second copy here.
  return {
    count: k.count,
    ids: k.ids,
    owners: packStrings(owners),
    ownerOf,
    flags: k.flags.subarray(0, k.count),
    hashes: k.hashes.subarray(0, k.count * 32),
    createdAt: k.created.subarray(0, k.count),
    expiresAt: k.expires.subarray(0, k.count),
    revoked: k.revocations.map(([row, r]) => [row, r.revokedAt, r.reason, r.eventId]),
  };
}

/** Encodes a captured state at once. */
export function encodeSnapshot(s: SnapshotState): AccessModelSnapshot {
  return encodeRest(s, keyColumns(s.keys));
}

/**
 * Encodes a captured state, yielding to the event loop once before the keys (a few buffer copies and one pass
 * over the owners: tens of ms at 1M keys) and once after.
 */
export async function encodeSnapshotAsync(s: SnapshotState): Promise<AccessModelSnapshot> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const keys = keyColumns(s.keys);
  await new Promise<void>((resolve) => setImmediate(resolve));
  return encodeRest(s, keys);
}

function encodeRest(s: SnapshotState, keys: KeyColumns): AccessModelSnapshot {
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
  /** Keys as key-table rows; `owners[i]` is row i's owner as stored (the model interns it). */
  keys: CapturedKeys;
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
  if (!(READABLE_SNAPSHOT_FORMATS as readonly unknown[]).includes(v.format))
    fail(`format ${JSON.stringify(v.format)} (expected ${READABLE_SNAPSHOT_FORMATS.join(' or ')})`);

  const keys =
    v.format === SNAPSHOT_FORMAT
      ? decodeKeyColumns(v.keys)
      : v.format === SNAPSHOT_FORMAT_2
        ? decodeKeyColumns2(v.keys)
        : decodeKeyTuples(v.keys);

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

/** Base64 `what` of exactly `length` bytes, as a fresh (aligned) buffer. */
function column(v: unknown, length: number, what: string): ArrayBuffer {
  const b = Buffer.from(str(v, what), 'base64');
  if (b.length !== length) fail(`${what} length`);
  const out = new ArrayBuffer(length);
  new Uint8Array(out).set(b);
  return out;
}

const revocation = (row: number, revokedAt: unknown, reason: unknown, eventId: unknown): [number, Revocation] => [
  row,
  {
    revokedAt: num(revokedAt, 'revokedAt'),
    reason: oneOf(keyRevocationReason.options, reason, 'reason'),
    eventId: str(eventId, 'revocationEventId'),
  },
];

const typed = <T>(v: unknown, type: new (...args: never[]) => T, length: number, what: string): T => {
  if (!(v instanceof type) || (v as { length: number }).length !== length) fail(`${what} length`);
  return v as T;
};

/**
 * Format 3's keys: the columns are used as they are (the envelope made them fresh, aligned copies); one pass
 * over the rows checks flags, times and owner indexes, and the ids are sliced from one decoded string.
 */
function decodeKeyColumns(value: unknown): CapturedKeys {
  if (!LITTLE_ENDIAN) fail('snapshots are read on little-endian machines only');
  if (typeof value !== 'object' || value === null) fail('keys is not an object');
  const k = value as Record<string, unknown>;
  const count = num(k.count, 'keys count');
  if (!Number.isInteger(count) || count < 0) fail('keys count');
  const packed = (p: unknown, what: string): PackedStrings => {
    if (typeof p !== 'object' || p === null) fail(`${what} is not packed strings`);
    const { bytes: b, offsets } = p as Record<string, unknown>;
    if (!(b instanceof Uint8Array) || !(offsets instanceof Uint32Array)) fail(`${what} is not packed strings`);
    return { bytes: b as Uint8Array, offsets: offsets as Uint32Array };
  };
  const ownersPacked = packed(k.owners, 'key owners');
  const owners = unpackStrings(ownersPacked, ownersPacked.offsets.length - 1, 'key owners');
  const ids = packed(k.ids, 'key ids');
  checkPacked(ids, count, 'key ids');
  const ownerOf = typed(k.ownerOf, Uint32Array, count, 'key ownerOf');
  const flags = typed(k.flags, Uint8Array, count, 'key flags');
  const created = typed(k.createdAt, Float64Array, count, 'key createdAt');
  const expires = typed(k.expiresAt, Float64Array, count, 'key expiresAt');
  const hashes = typed(k.hashes, Uint8Array, count * 32, 'key hashes');
  const rowOwners = checkedRows(count, ownerOf, flags, created, expires, owners);
  return { count, ids, owners: rowOwners, flags, hashes, created, expires, revocations: revokedRows(k.revoked, count) };
}

/** Checks every key row's flags and times and returns each row's owner string (formats 2 and 3). */
function checkedRows(
  count: number,
  ownerOf: Uint32Array,
  flags: Uint8Array,
  created: Float64Array,
  expires: Float64Array,
  owners: string[],
): string[] {
  const rowOwners = new Array<string>(count);
  for (let row = 0; row < count; row++) {
    if (flags[row]! > 3) fail('key flags');
    const expiresAt = expires[row]!; // NaN: never expires
    if (!Number.isFinite(created[row]!) || !(Number.isFinite(expiresAt) || Number.isNaN(expiresAt))) fail('key times');
    rowOwners[row] = owners[ownerOf[row]!] ?? fail('key owner index');
  }
  return rowOwners;
}

function revokedRows(value: unknown, count: number): [number, Revocation][] {
  const seen = new Set<number>();
  return arr(value, 'revoked keys').map((t) => {
    const r = arr(t, 'revoked key');
    const row = num(r[0], 'revoked row');
    if (!Number.isInteger(row) || row < 0 || row >= count || seen.has(row)) fail('revoked row');
    seen.add(row);
    return revocation(row, r[1], r[2], r[3]);
  });
}

/** Format 2's keys: a few buffer copies, plus a pass over ids and owners to check them. */
function decodeKeyColumns2(value: unknown): CapturedKeys {
  if (!LITTLE_ENDIAN) fail('snapshots are read on little-endian machines only');
  if (typeof value !== 'object' || value === null) fail('keys is not an object');
  const k = value as Record<string, unknown>;
  const count = num(k.count, 'keys count');
  if (!Number.isInteger(count) || count < 0) fail('keys count');
  const ids = arr(k.ids, 'key ids');
  if (ids.length !== count) fail('key ids length');
  for (const id of ids) str(id, 'keyId');
  const owners = strs(k.owners, 'key owners');
  const ownerOf = new Uint32Array(column(k.ownerOf, count * 4, 'key ownerOf'));
  const flags = new Uint8Array(column(k.flags, count, 'key flags'));
  const created = new Float64Array(column(k.createdAt, count * 8, 'key createdAt'));
  const expires = new Float64Array(column(k.expiresAt, count * 8, 'key expiresAt'));
  const rowOwners = checkedRows(count, ownerOf, flags, created, expires, owners);
  const revocations = revokedRows(k.revoked, count);
  return {
    count,
    ids: packStrings(ids as string[]),
    owners: rowOwners,
    flags,
    hashes: new Uint8Array(column(k.hashes, count * 32, 'key hashes')),
    created,
    expires,
    revocations,
  };
}

/** Format 1's keys (one `KeyTuple` each), into key-table rows. */
function decodeKeyTuples(value: unknown): CapturedKeys {
  const tuples = arr(value, 'keys');
  const count = tuples.length;
  const ids = new Array<string>(count);
  const out: CapturedKeys = {
    count,
    ids: { bytes: new Uint8Array(0), offsets: new Uint32Array(1) },
    owners: new Array<string>(count),
    flags: new Uint8Array(count),
    hashes: new Uint8Array(count * 32),
    created: new Float64Array(count),
    expires: new Float64Array(count),
    revocations: [],
  };
  tuples.forEach((t, row) => {
    const k = arr(t, 'key');
    if (k.length !== 7 && k.length !== 10) fail('key tuple length');
    const access = k[1] === 0 ? 0 : k[1] === 1 ? 1 : fail('key kind');
    const hash = Buffer.from(str(k[2], 'key hash'), 'base64');
    if (hash.length !== 32) fail('key hash length');
    const sub = k[4] === 0 || k[4] === 1 ? k[4] : fail('key scope/slot');
    ids[row] = str(k[0], 'keyId');
    out.owners[row] = str(k[3], 'key owner');
    out.flags[row] = access | (sub << 1);
    out.hashes.set(hash, row * 32);
    out.expires[row] = optNum(k[5], 'expiresAt') ?? NaN;
    out.created[row] = num(k[6], 'createdAt');
    if (k.length === 10) out.revocations.push(revocation(row, k[7], k[8], k[9]));
  });
  return { ...out, ids: packStrings(ids) };
}
