import {
  type AccessKeySlot,
  type CredentialKind,
  type DeploymentState,
  type DomainEvent,
  EVENT_WAIVED,
  eventWaived,
  type EventWaived,
  type KeyCreated,
  type KeyRevoked,
  parseDomainEvent,
  type ProjectRole,
  type UserCreated,
} from '@tollgate/contracts';
import type { PublicJwk } from '@tollgate/authn';
import { HEARTBEAT_TYPE, type Projection, type RecordedEvent } from '@tollgate/event-store';
import { RouteTable } from './routing';
import {
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotAsync,
  type AccessModelSnapshot,
  type SnapshotState,
} from './snapshot';
import type {
  AccessModelCounts,
  DeploymentRecord,
  ExternalAccessPolicy,
  KeyPolicy,
  KeyRecord,
  KeyRevocationReasonValue,
  KeyState,
  ProjectRecord,
  SigningKeyRecord,
  UserRecord,
} from './types';

export interface AccessModelOptions {
  /** Clock for `revocationApplied` bookkeeping and signing-key retirement (default `Date.now`). */
  now?: () => number;
  /**
   * A revocation listener threw. Reported here (default `console.error`), never rethrown: a bug in a
   * listener must not halt the projection (the revocation itself is applied).
   */
  onListenerError?: (error: unknown) => void;
  /**
   * Waiver bookkeeping worth a log line (default: none): a waiver recorded, a waived event skipped (once per
   * event id), a waiver naming an event id whose stream or version differ (once per event id; the event is
   * then applied as usual), an `EventWaived` with invalid data (ignored: a waiver is never itself poison).
   */
  onWaiverNotice?: (notice: WaiverNotice) => void;
}

/**
 * An operator's recorded decision (`EventWaived`): the event `eventId`, of stream `streamId` at version
 * `eventVersion`, is applied without effect. Nothing else is ever skipped.
 */
export interface EventWaiver {
  readonly eventId: string;
  readonly streamId: string;
  readonly eventVersion: number;
  readonly eventType: string;
  readonly reason: string;
  readonly waivedBy: string;
  /** Id of the `EventWaived` event that recorded the decision. */
  readonly waiverEventId: string;
}

export type WaiverNotice =
  | { kind: 'recorded'; waiver: EventWaiver }
  | {
      kind: 'skipped';
      waiver: EventWaiver;
      event: { id: string; type: string; streamId: string; streamVersion: number };
    }
  | {
      kind: 'mismatch';
      waivers: EventWaiver[];
      event: { id: string; type: string; streamId: string; streamVersion: number };
    }
  | { kind: 'invalid'; waiverEventId: string; error: string };

/** Builds a waiver from an `EventWaived` event's data and id. */
export function eventWaiver(data: EventWaived, waiverEventId: string): EventWaiver {
  return Object.freeze({
    eventId: data.eventId,
    streamId: data.streamId,
    eventVersion: data.eventVersion,
    eventType: data.eventType,
    reason: data.reason,
    waivedBy: data.waivedBy,
    waiverEventId,
  });
}

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
  groupsVersion: number;
}

/** A role assignment with the project stream version that set it; `role: null` is a removal. */
export interface RoleEntry {
  role: ProjectRole | null;
  version: number;
}

export const DEFAULT_EXTERNAL_ACCESS_POLICY: ExternalAccessPolicy = Object.freeze({
  requireExternalUserLoginAfterHours: -1,
});
export const DEFAULT_KEY_POLICY: KeyPolicy = Object.freeze({ defaultLifetimeDays: 365, maxLifetimeDays: 365 });

const EMPTY_GROUPS: ReadonlySet<string> = Object.freeze(new Set<string>()) as ReadonlySet<string>;
const EMPTY_ROLES: ReadonlyMap<string, ProjectRole> = new Map();

const time = (iso: string): number => Date.parse(iso);
const slotKey = (deploymentId: string, slot: AccessKeySlot): string => `${deploymentId}\u0000${slot}`;

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
  };
}

export interface HeldSigningKey extends SigningKeyRecord {
  /** Stream version of the `SigningKeyPublished` it came from. */
  readonly version: number;
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

/**
 * The in-memory projection of every key and identity event. Plain TypeScript; implements the event-store
 * `Projection`. Every lookup is a synchronous Map read.
 *
 * Order-independent: the result of applying a set of events does not depend on the order they arrive in,
 * across streams and even within one (a `KeyRevoked` before its `KeyCreated` leaves a tombstone, a
 * `UserDeactivated` or `GroupsRefreshed` before `UserCreated` is held for it, state events replace each
 * other by stream version, group sets by `refreshedAt`).
 */
export class AccessModel implements Projection {
  private readonly now: () => number;

  private readonly keysByHash = new Map<string, KeyRecord>();
  private readonly keysById = new Map<string, KeyRecord>();
  private readonly keyTombstones = new Map<string, KeyTombstone>();
  /** Key ids of each user's keys (ids, not records: a revocation replaces the record, not the id). */
  private readonly keyIdsByUser = new Map<string, string[]>();
  /** Unrevoked access keys per deployment slot. */
  private readonly slots = new Map<string, KeyRecord[]>();
  private revokedKeys = 0;

  private readonly users = new Map<string, UserRecord>();
  private readonly usersByName = new Map<string, UserRecord>();
  private readonly pendingUsers = new Map<string, PendingUser>();
  /** Stream version of the `GroupsRefreshed` a user's current groups came from (tie-break on equal times). */
  private readonly groupsVersions = new Map<string, number>();

  private readonly projects = new Map<string, ProjectRecord>();
  private readonly roles = new Map<string, Map<string, RoleEntry>>();

  private readonly deploymentsById = new Map<string, DeploymentRecord>();
  private readonly routes = new RouteTable();

  private externalAccessPolicy: ExternalAccessPolicy = DEFAULT_EXTERNAL_ACCESS_POLICY;
  private externalAccessPolicyVersion = 0;
  private currentKeyPolicy: KeyPolicy = DEFAULT_KEY_POLICY;
  private keyPolicyVersion = 0;

  private readonly signingKeysByKid = new Map<string, HeldSigningKey>();
  private readonly retiredSigningKeys = new Map<string, number>();

  private readonly revocations = new Map<string, number>();
  private readonly revocationListeners = new Set<
    (eventId: string, appliedAt: number, key: KeyRecord | undefined) => void
  >();
  private applied = 0;

  /** Waivers by the waived event's id (normally one; several only if waivers disagree on stream or version). */
  private readonly waiversByEventId = new Map<string, EventWaiver[]>();
  private waiverCount = 0;
  /** Waived events skipped since construction or restore. */
  private waivedSkipped = 0;
  /** `skipped:<id>` / `mismatch:<id>` already reported, so each is logged once. */
  private readonly waiverNoticed = new Set<string>();

  private readonly onListenerError: (error: unknown) => void;
  private readonly onWaiverNotice: (notice: WaiverNotice) => void;

  constructor(options: AccessModelOptions = {}) {
    this.now = options.now ?? Date.now;
    this.onListenerError =
      options.onListenerError ??
      ((error) =>
        process.emitWarning(`access model: revocation listener failed: ${(error as Error)?.message ?? String(error)}`));
    this.onWaiverNotice = options.onWaiverNotice ?? (() => undefined);
  }

  /**
   * Folds one event; an unknown type or invalid data throws (the runner halts: fail closed), unless an
   * operator waived exactly this event (id, stream and version): then it is applied without effect.
   */
  apply(event: RecordedEvent): void {
    if (event.type === HEARTBEAT_TYPE) return;
    if (this.skipIfWaived(event)) {
      this.applied++;
      return;
    }
    if (event.type === EVENT_WAIVED) {
      // Never poison: invalid data is reported and ignored (a waiver cannot name anything then).
      const parsed = eventWaived.safeParse(event.data);
      if (parsed.success) this.waive(eventWaiver(parsed.data, event.id));
      else this.notify({ kind: 'invalid', waiverEventId: event.id, error: parsed.error.message });
      this.applied++;
      return;
    }
    const domain = parseDomainEvent(event.type, event.data);
    this.applyDomainEvent(domain, event);
    this.applied++;
  }

  /**
   * Records a waiver (what applying its `EventWaived` does; the runtime also calls it when it finds the
   * waiver of the event it halted on out of band). Returns false when this exact waiver was already held.
   * Order-independent: of several identical waivers the smallest `waiverEventId` is kept.
   */
  waive(waiver: EventWaiver): boolean {
    const held = this.waiversByEventId.get(waiver.eventId) ?? [];
    const same = held.findIndex((w) => w.streamId === waiver.streamId && w.eventVersion === waiver.eventVersion);
    if (same >= 0) {
      if (waiver.waiverEventId < held[same]!.waiverEventId) held[same] = Object.freeze({ ...waiver });
      return false;
    }
    this.waiversByEventId.set(waiver.eventId, [...held, Object.freeze({ ...waiver })]);
    this.waiverCount++;
    this.notify({ kind: 'recorded', waiver });
    return true;
  }

  /** The waiver that makes this model skip the event with this id, stream and version, if any. */
  waiverFor(eventId: string, streamId: string, streamVersion: number): EventWaiver | undefined {
    return this.waiversByEventId.get(eventId)?.find((w) => w.streamId === streamId && w.eventVersion === streamVersion);
  }

  /** Every waiver recorded, by waived event id. Off the hot path. */
  waivers(): EventWaiver[] {
    return [...this.waiversByEventId.values()].flat();
  }

  private skipIfWaived(event: RecordedEvent): boolean {
    const held = this.waiversByEventId.get(event.id);
    if (!held) return false;
    const facts = { id: event.id, type: event.type, streamId: event.streamId, streamVersion: event.streamVersion };
    const waiver = held.find((w) => w.streamId === event.streamId && w.eventVersion === event.streamVersion);
    if (!waiver) {
      if (!this.waiverNoticed.has(`mismatch:${event.id}`)) {
        this.waiverNoticed.add(`mismatch:${event.id}`);
        this.notify({ kind: 'mismatch', waivers: [...held], event: facts });
      }
      return false;
    }
    this.waivedSkipped++;
    if (!this.waiverNoticed.has(`skipped:${event.id}`)) {
      this.waiverNoticed.add(`skipped:${event.id}`);
      this.notify({ kind: 'skipped', waiver, event: facts });
    }
    return true;
  }

  private notify(notice: WaiverNotice): void {
    try {
      this.onWaiverNotice(notice);
    } catch (error) {
      this.onListenerError(error);
    }
  }

  private applyDomainEvent(e: DomainEvent, event: RecordedEvent): void {
    const version = event.streamVersion;
    switch (e.type) {
      case 'KeyCreated':
        return this.keyCreated(e.data);
      case 'KeyRevoked':
        return this.keyRevoked(e.data, event.id);
      case 'KeyPolicyChanged':
        if (version > this.keyPolicyVersion) {
          this.keyPolicyVersion = version;
          this.currentKeyPolicy = Object.freeze({ ...e.data });
        }
        return;
      case 'SigningKeyPublished': {
        const { kid, publicJwk, activatesAt } = e.data;
        const held = this.signingKeysByKid.get(kid);
        if (held && held.version >= version) return;
        this.signingKeysByKid.set(kid, signingKeyRecord(kid, publicJwk, time(activatesAt), version));
        return;
      }
      case 'SigningKeyRetired': {
        const at = time(e.data.retiredAt);
        const held = this.retiredSigningKeys.get(e.data.kid);
        if (held === undefined || at < held) this.retiredSigningKeys.set(e.data.kid, at);
        return;
      }
      case 'UserCreated':
        return this.userCreated(e.data);
      case 'UserDeactivated':
        return this.userDeactivated(e.data.userId, time(e.data.deactivatedAt));
      case 'GroupsRefreshed':
        return this.groupsRefreshed(e.data.userId, e.data.groups, time(e.data.refreshedAt), version);
      case 'ProjectCreated': {
        const { projectId, name, ownerId, createdAt } = e.data;
        this.projects.set(projectId, Object.freeze({ projectId, name, ownerId, createdAt: time(createdAt) }));
        return this.setRole(projectId, ownerId, 'owner', version);
      }
      case 'CollaboratorSet':
        return this.setRole(e.data.projectId, e.data.userId, e.data.role, version);
      case 'CollaboratorRemoved':
        return this.setRole(e.data.projectId, e.data.userId, null, version);
      case 'DeploymentCreated':
      case 'DeploymentUpdated':
        return this.deploymentState(e.data, version);
      case 'ExternalAccessPolicyChanged':
        if (version > this.externalAccessPolicyVersion) {
          this.externalAccessPolicyVersion = version;
          this.externalAccessPolicy = Object.freeze({ ...e.data });
        }
        return;
      case 'EventWaived': // handled in apply (never poison); here for completeness
        this.waive(eventWaiver(e.data, event.id));
        return;
      default: {
        const unknown: never = e;
        throw new Error(`unhandled event type ${(unknown as { type: string }).type}`);
      }
    }
  }

  // ---- keys ----

  private keyCreated(k: KeyCreated): void {
    if (this.keysById.has(k.keyId)) return; // a key is created once; a repeat changes nothing
    const userKey = k.kind === 'user-key';
    if (userKey && (k.userId === undefined || k.scope === undefined)) {
      throw new Error(`KeyCreated ${k.keyId}: a user key needs userId and scope`);
    }
    if (!userKey && (k.deploymentId === undefined || k.slot === undefined)) {
      throw new Error(`KeyCreated ${k.keyId}: an access key needs deploymentId and slot`);
    }
    const tombstone = this.keyTombstones.get(k.keyId);
    const record = keyRecord({
      keyId: k.keyId,
      kind: k.kind,
      secretHash: k.secretHash,
      // Share the owner's id string with the user record (one copy per user, not per key).
      userId: userKey ? (this.users.get(k.userId!)?.userId ?? k.userId!) : null,
      scope: userKey ? k.scope! : null,
      deploymentId: userKey ? null : (this.deploymentsById.get(k.deploymentId!)?.deploymentId ?? k.deploymentId!),
      slot: userKey ? null : k.slot!,
      expiresAt: k.expiresAt === null ? null : time(k.expiresAt),
      createdAt: time(k.createdAt),
      revokedAt: tombstone?.revokedAt ?? null,
      revocationReason: tombstone?.reason ?? null,
      revocationEventId: tombstone?.eventId ?? null,
    });
    if (tombstone) {
      this.keyTombstones.delete(k.keyId);
      this.revokedKeys++;
    }
    this.index(record);
    this.indexOwner(record);
  }

  private index(record: KeyRecord): void {
    this.keysById.set(record.keyId, record);
    this.keysByHash.set(record.secretHash, record);
    if (record.revoked) return;
    if (record.kind === 'access-key') {
      const key = slotKey(record.deploymentId!, record.slot!);
      const list = this.slots.get(key);
      if (list) list.push(record);
      else this.slots.set(key, [record]);
    }
  }

  private indexOwner(record: KeyRecord): void {
    if (record.userId === null) return;
    const ids = this.keyIdsByUser.get(record.userId);
    if (ids) ids.push(record.keyId);
    else this.keyIdsByUser.set(record.userId, [record.keyId]);
  }

  private keyRevoked(r: KeyRevoked, eventId: string): void {
    const existing = this.keysById.get(r.keyId);
    if (existing) {
      if (!existing.revoked) {
        const revoked = keyRecord({
          ...existing,
          revokedAt: time(r.revokedAt),
          revocationReason: r.reason,
          revocationEventId: eventId,
        });
        this.keysById.set(revoked.keyId, revoked);
        this.keysByHash.set(revoked.secretHash, revoked);
        this.revokedKeys++;
        if (revoked.kind === 'access-key') {
          const key = slotKey(revoked.deploymentId!, revoked.slot!);
          const list = this.slots.get(key)?.filter((k) => k.keyId !== revoked.keyId);
          if (list && list.length > 0) this.slots.set(key, list);
          else this.slots.delete(key);
        }
      }
    } else if (!this.keyTombstones.has(r.keyId)) {
      this.keyTombstones.set(r.keyId, { revokedAt: time(r.revokedAt), reason: r.reason, eventId });
    }
    if (!this.revocations.has(eventId)) {
      const appliedAt = this.now();
      this.revocations.set(eventId, appliedAt);
      const key = this.keysById.get(r.keyId);
      for (const listener of this.revocationListeners) {
        try {
          listener(eventId, appliedAt, key);
        } catch (error) {
          this.onListenerError(error);
        }
      }
    }
  }

  // ---- users ----

  private userCreated(u: UserCreated): void {
    const existing = this.users.get(u.userId);
    const pending = this.pendingUsers.get(u.userId);
    this.pendingUsers.delete(u.userId);
    const record = userRecord({
      userId: u.userId,
      name: u.name,
      kind: u.kind,
      admin: u.admin,
      email: u.email,
      idp: u.idp ?? null,
      externalSubject: u.externalSubject ?? null,
      createdAt: time(u.createdAt),
      deactivatedAt: existing?.deactivatedAt ?? pending?.deactivatedAt ?? null,
      groups: existing?.groups ?? (pending?.groups ? new Set(pending.groups) : EMPTY_GROUPS),
      groupsRefreshedAt: existing?.groupsRefreshedAt ?? pending?.groupsRefreshedAt ?? null,
    });
    if (!existing && pending?.groups) this.groupsVersions.set(u.userId, pending.groupsVersion);
    if (existing && existing.name !== record.name && this.usersByName.get(existing.name)?.userId === u.userId) {
      this.usersByName.delete(existing.name);
    }
    this.storeUser(record);
  }

  private storeUser(record: UserRecord): void {
    this.users.set(record.userId, record);
    const holder = this.usersByName.get(record.name);
    // Names are unique (the writer refuses a taken one); should two users still share one, the smaller id wins.
    if (!holder || holder.userId === record.userId || record.userId < holder.userId)
      this.usersByName.set(record.name, record);
  }

  private userDeactivated(userId: string, at: number): void {
    const user = this.users.get(userId);
    if (user) {
      if (user.deactivatedAt === null || at < user.deactivatedAt)
        this.storeUser(userRecord({ ...user, deactivatedAt: at }));
      return;
    }
    const pending = this.pending(userId);
    if (pending.deactivatedAt === null || at < pending.deactivatedAt) pending.deactivatedAt = at;
  }

  private groupsRefreshed(userId: string, groups: string[], refreshedAt: number, version: number): void {
    const user = this.users.get(userId);
    if (user) {
      if (!isNewerGroups(refreshedAt, version, user.groupsRefreshedAt, this.groupsVersions.get(userId) ?? 0)) return;
      this.groupsVersions.set(userId, version);
      this.storeUser(userRecord({ ...user, groups: new Set(groups), groupsRefreshedAt: refreshedAt }));
      return;
    }
    const pending = this.pending(userId);
    if (!isNewerGroups(refreshedAt, version, pending.groupsRefreshedAt, pending.groupsVersion)) return;
    pending.groups = [...groups];
    pending.groupsRefreshedAt = refreshedAt;
    pending.groupsVersion = version;
  }

  private pending(userId: string): PendingUser {
    let pending = this.pendingUsers.get(userId);
    if (!pending) {
      pending = { deactivatedAt: null, groups: null, groupsRefreshedAt: null, groupsVersion: 0 };
      this.pendingUsers.set(userId, pending);
    }
    return pending;
  }

  // ---- projects, deployments ----

  private setRole(projectId: string, userId: string, role: ProjectRole | null, version: number): void {
    let members = this.roles.get(projectId);
    if (!members) this.roles.set(projectId, (members = new Map()));
    const held = members.get(userId);
    if (held && held.version >= version) return;
    members.set(userId, { role, version });
  }

  private deploymentState(d: DeploymentState, version: number): void {
    const held = this.deploymentsById.get(d.deploymentId);
    if (held && held.version >= version) return;
    const record = deploymentRecord(d, version);
    if (held) this.routes.remove(held);
    this.deploymentsById.set(record.deploymentId, record);
    this.routes.add(record);
  }

  // ---- lookups (hot path: synchronous Map reads) ----

  keyByHash(secretHash: string): KeyRecord | undefined {
    return this.keysByHash.get(secretHash);
  }

  keyById(keyId: string): KeyRecord | undefined {
    return this.keysById.get(keyId);
  }

  /** Every key of a user (valid, revoked and expired alike), oldest first (then by id). Off the hot path. */
  keysOfUser(userId: string): KeyRecord[] {
    return (this.keyIdsByUser.get(userId) ?? [])
      .map((id) => this.keysById.get(id)!)
      .sort((a, b) => a.createdAt - b.createdAt || (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
  }

  /** The current access key of a deployment's slot: the newest unrevoked one (expired ones included). */
  accessKey(deploymentId: string, slot: AccessKeySlot): KeyRecord | undefined {
    const list = this.slots.get(slotKey(deploymentId, slot));
    if (!list) return undefined;
    let best: KeyRecord | undefined;
    for (const k of list) {
      if (!best || k.createdAt > best.createdAt || (k.createdAt === best.createdAt && k.keyId > best.keyId)) best = k;
    }
    return best;
  }

  user(userId: string): UserRecord | undefined {
    return this.users.get(userId);
  }

  userByName(name: string): UserRecord | undefined {
    return this.usersByName.get(name);
  }

  /** Every user, for listings off the hot path. */
  allUsers(): IterableIterator<UserRecord> {
    return this.users.values();
  }

  project(projectId: string): ProjectRecord | undefined {
    return this.projects.get(projectId);
  }

  roleOf(projectId: string, userId: string): ProjectRole | undefined {
    return this.roles.get(projectId)?.get(userId)?.role ?? undefined;
  }

  collaborators(projectId: string): ReadonlyMap<string, ProjectRole> {
    const members = this.roles.get(projectId);
    if (!members) return EMPTY_ROLES;
    const out = new Map<string, ProjectRole>();
    for (const [userId, entry] of members) if (entry.role !== null) out.set(userId, entry.role);
    return out;
  }

  deploymentById(deploymentId: string): DeploymentRecord | undefined {
    return this.deploymentsById.get(deploymentId);
  }

  deployments(): IterableIterator<DeploymentRecord> {
    return this.deploymentsById.values();
  }

  /** Host case-insensitive without port; longest path prefix at a segment boundary. */
  routeDeployment(host: string, path: string): DeploymentRecord | undefined {
    const id = this.routes.route(host, path);
    return id === undefined ? undefined : this.deploymentsById.get(id);
  }

  /** The external-access policy (default -1: no limit). */
  policy(): ExternalAccessPolicy {
    return this.externalAccessPolicy;
  }

  /** The key policy (default 365/365 days). */
  keyPolicy(): KeyPolicy {
    return this.currentKeyPolicy;
  }

  /** The published public JWK with this kid, unless retired (from its `retiredAt` on). */
  signingKey(kid: string): PublicJwkRecord | undefined {
    const record = this.signingKeysByKid.get(kid);
    if (!record) return undefined;
    const retiredAt = this.retiredSigningKeys.get(kid);
    if (retiredAt !== undefined && this.now() >= retiredAt) return undefined;
    return record.publicJwk;
  }

  /** Published signing keys not retired at now, oldest activation first. */
  signingKeys(): SigningKeyRecord[] {
    const now = this.now();
    return [...this.signingKeysByKid.values()]
      .map(({ kid, publicJwk, activatesAt }): SigningKeyRecord => ({ kid, publicJwk, activatesAt }))
      .filter((k) => {
        const retiredAt = this.retiredSigningKeys.get(k.kid);
        return retiredAt === undefined || now < retiredAt;
      })
      .sort((a, b) => a.activatesAt - b.activatesAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  /** The JWKS of service tokens (`/.well-known/jwks.json`). */
  jwks(): { keys: PublicJwkRecord[] } {
    return { keys: this.signingKeys().map((k) => k.publicJwk) };
  }

  /** When this model applied the `KeyRevoked` event with this id (epoch ms), or undefined. */
  revocationApplied(eventId: string): number | undefined {
    return this.revocations.get(eventId);
  }

  /** Called synchronously after each newly applied `KeyRevoked`. Returns an unsubscribe function. */
  onRevocationApplied(listener: (eventId: string, appliedAt: number, key: KeyRecord | undefined) => void): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  counts(): AccessModelCounts {
    return {
      keys: this.keysById.size,
      revokedKeys: this.revokedKeys,
      users: this.users.size,
      projects: this.projects.size,
      deployments: this.deploymentsById.size,
      signingKeys: this.signingKeysByKid.size,
      appliedEvents: this.applied,
      waivers: this.waiverCount,
      waivedEvents: this.waivedSkipped,
    };
  }

  // ---- snapshots ----

  /** A JSON-serialisable copy of the whole state (take it in the same tick as the runner's position). */
  snapshot(): AccessModelSnapshot {
    return encodeSnapshot(this.state());
  }

  /**
   * Captures the state now (reference copies: records are immutable; tens of ms at 1M keys) and encodes it
   * later in slices, so a large model is snapshotted without stalling the hot path. Take the runner's
   * position in the same tick as this call.
   */
  captureSnapshot(): { encode(): Promise<AccessModelSnapshot> } {
    const state = this.state();
    return { encode: () => encodeSnapshotAsync(state) };
  }

  /** A model holding exactly what `snapshot()` held. Throws on a snapshot of another format or shape. */
  static restore(value: unknown, options: AccessModelOptions = {}): AccessModel {
    const model = new AccessModel(options);
    model.loadSnapshot(value);
    return model;
  }

  /**
   * Loads a snapshot into this model, which must be empty (nothing applied or loaded). The snapshot is
   * validated completely before anything changes: on error the model stays empty.
   */
  loadSnapshot(value: unknown): void {
    if (!this.isEmpty()) throw new Error('loadSnapshot needs an empty model');
    this.loadDecoded(decodeSnapshot(value));
  }

  private isEmpty(): boolean {
    return (
      this.applied === 0 &&
      this.keysById.size === 0 &&
      this.keyIdsByUser.size === 0 &&
      this.keyTombstones.size === 0 &&
      this.users.size === 0 &&
      this.pendingUsers.size === 0 &&
      this.projects.size === 0 &&
      this.roles.size === 0 &&
      this.deploymentsById.size === 0 &&
      this.signingKeysByKid.size === 0 &&
      this.retiredSigningKeys.size === 0 &&
      this.revocations.size === 0 &&
      this.keyPolicyVersion === 0 &&
      this.externalAccessPolicyVersion === 0 &&
      this.waiversByEventId.size === 0
    );
  }

  private state(): SnapshotState {
    const roles: [string, string, RoleEntry][] = [];
    for (const [projectId, members] of this.roles)
      for (const [userId, entry] of members) roles.push([projectId, userId, entry]);
    return {
      keys: [...this.keysById.values()],
      keyTombstones: [...this.keyTombstones],
      users: [...this.users.values()],
      groupsVersions: new Map(this.groupsVersions),
      // Pending facts are mutated in place: copy them.
      pendingUsers: [...this.pendingUsers].map(([userId, p]) => [
        userId,
        { ...p, groups: p.groups ? [...p.groups] : null },
      ]),
      projects: [...this.projects.values()],
      roles,
      deployments: [...this.deploymentsById.values()],
      externalAccessPolicy: { policy: this.externalAccessPolicy, version: this.externalAccessPolicyVersion },
      keyPolicy: { policy: this.currentKeyPolicy, version: this.keyPolicyVersion },
      signingKeys: [...this.signingKeysByKid.values()],
      retiredSigningKeys: [...this.retiredSigningKeys],
      revocations: [...this.revocations],
      waivers: this.waivers(),
    };
  }

  private loadDecoded(s: ReturnType<typeof decodeSnapshot>): void {
    for (const user of s.users) this.storeUser(user);
    for (const [userId, version] of s.groupsVersions) this.groupsVersions.set(userId, version);
    for (const [userId, pending] of s.pendingUsers) this.pendingUsers.set(userId, pending);
    for (const deployment of s.deployments) {
      this.deploymentsById.set(deployment.deploymentId, deployment);
      this.routes.add(deployment);
    }
    for (const key of s.keys) {
      const record = keyRecord({
        ...key,
        userId: key.userId === null ? null : (this.users.get(key.userId)?.userId ?? key.userId),
        deploymentId:
          key.deploymentId === null
            ? null
            : (this.deploymentsById.get(key.deploymentId)?.deploymentId ?? key.deploymentId),
      });
      this.index(record);
      this.indexOwner(record);
      if (record.revoked) this.revokedKeys++;
    }
    for (const [keyId, tombstone] of s.keyTombstones) this.keyTombstones.set(keyId, tombstone);
    for (const project of s.projects) this.projects.set(project.projectId, project);
    for (const [projectId, userId, entry] of s.roles) {
      let members = this.roles.get(projectId);
      if (!members) this.roles.set(projectId, (members = new Map()));
      members.set(userId, entry);
    }
    this.externalAccessPolicy = s.externalAccessPolicy.policy;
    this.externalAccessPolicyVersion = s.externalAccessPolicy.version;
    this.currentKeyPolicy = s.keyPolicy.policy;
    this.keyPolicyVersion = s.keyPolicy.version;
    for (const key of s.signingKeys) this.signingKeysByKid.set(key.kid, key);
    for (const [kid, at] of s.retiredSigningKeys) this.retiredSigningKeys.set(kid, at);
    for (const [eventId, at] of s.revocations) this.revocations.set(eventId, at);
    for (const waiver of s.waivers) {
      const held = this.waiversByEventId.get(waiver.eventId) ?? [];
      this.waiversByEventId.set(waiver.eventId, [...held, waiver]);
      this.waiverCount++;
    }
  }
}

function isNewerGroups(at: number, version: number, heldAt: number | null, heldVersion: number): boolean {
  if (heldAt === null) return true;
  return at > heldAt || (at === heldAt && version > heldVersion);
}

/** Whether a key may be used at `now`: revoked wins over expired. */
export function keyState(key: KeyRecord, now: number): KeyState {
  if (key.revoked) return 'revoked';
  if (key.expiresAt !== null && now >= key.expiresAt) return 'expired';
  return 'valid';
}
