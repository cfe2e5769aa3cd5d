import {
  type AccessKeySlot,
  type DomainEvent,
  EVENT_WAIVED,
  eventWaived,
  parseDomainEvent,
  type ProjectRole,
} from '@tollgate/contracts';
import { HEARTBEAT_TYPE, type Projection, type RecordedEvent } from '@tollgate/event-store';
import { reducesAccess, type PriorFacts } from './access-reduction';
import { DeploymentsArea } from './model/deployments';
import { DirectoryArea } from './model/directory';
import { KeysArea } from './model/keys';
import { PoliciesArea } from './model/policies';
import { type Evolver, type PublicJwkRecord } from './model/records';
import { SigningKeysArea } from './model/signing-keys';
import { eventWaiver, type EventWaiver, WaiverBook, type WaiverNotice } from './model/waivers';
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

/** An access-reducing event this model just applied. */
export interface AccessReductionApplied {
  eventId: string;
  /** The event type (`KeyRevoked`, `GroupsRefreshed`, …): the propagation metrics' label. */
  type: string;
  appliedAt: number;
  /** The store's time of the event (CloudEvents `time`). */
  committedAt: number;
  /** `KeyRevoked`, `KeyRotated`: the key. */
  keyId: string | null;
}

/**
 * The in-memory projection of every key and identity event. Plain TypeScript; implements the event-store
 * `Projection`. Every lookup is a synchronous Map read.
 *
 * One `apply(event)` routes each event type to the area that folds it (`model/`: keys, directory,
 * deployments, policies, signing keys); this class adds what spans them: waivers, the bookkeeping of
 * access-reducing events (confirmations, propagation metrics) and snapshots.
 *
 * Order-independent: the result of applying a set of events does not depend on the order they arrive in,
 * across streams and even within one (a `KeyRevoked` before its `KeyCreated` leaves a tombstone, a
 * `UserDeactivated` or `GroupsRefreshed` before `UserCreated` is held for it, state events replace each
 * other by stream version, group sets by `refreshedAt`).
 */
export class AccessModel implements Projection {
  private readonly now: () => number;
  private readonly directory = new DirectoryArea();
  private readonly routing = new DeploymentsArea();
  private readonly keys: KeysArea;
  private readonly policies = new PoliciesArea();
  private readonly signing: SigningKeysArea;
  private readonly waiverBook: WaiverBook;
  /** Each event type's area: a `Record` over every type, so a new event type does not compile until routed. */
  private readonly evolvers: Record<Exclude<DomainEvent['type'], typeof EVENT_WAIVED>, Evolver>;

  /** Access-reducing events applied: event id → when (epoch ms). */
  private readonly revocations = new Map<string, number>();
  private readonly revocationListeners = new Set<
    (eventId: string, appliedAt: number, key: KeyRecord | undefined) => void
  >();
  private readonly reductionListeners = new Set<(applied: AccessReductionApplied) => void>();
  private applied = 0;

  private readonly onListenerError: (error: unknown) => void;
  private readonly onWaiverNotice: (notice: WaiverNotice) => void;

  constructor(options: AccessModelOptions = {}) {
    this.now = options.now ?? Date.now;
    this.onListenerError =
      options.onListenerError ??
      ((error) =>
        process.emitWarning(`access model: revocation listener failed: ${(error as Error)?.message ?? String(error)}`));
    this.onWaiverNotice = options.onWaiverNotice ?? (() => undefined);
    this.waiverBook = new WaiverBook((notice) => this.notify(notice));
    // A key shares its owner's and its deployment's id strings (one copy per user, not per key).
    this.keys = new KeysArea({
      userId: (id) => this.directory.user(id)?.userId ?? id,
      deploymentId: (id) => this.routing.deploymentById(id)?.deploymentId ?? id,
    });
    this.signing = new SigningKeysArea(this.now);
    const { directory, routing, keys, policies, signing } = this;
    this.evolvers = {
      KeyCreated: keys,
      KeyRevoked: keys,
      KeyRotated: keys,
      KeyPolicyChanged: policies,
      ExternalAccessPolicyChanged: policies,
      SigningKeyPublished: signing,
      SigningKeyRetired: signing,
      UserCreated: directory,
      UserDeactivated: directory,
      UserReactivated: directory,
      GroupsRefreshed: directory,
      GroupsEdited: directory,
      ProjectCreated: directory,
      CollaboratorSet: directory,
      CollaboratorRemoved: directory,
      DeploymentCreated: routing,
      DeploymentUpdated: routing,
    };
  }

  /**
   * Folds one event; an unknown type or invalid data throws (the runner halts: fail closed), unless an
   * operator waived exactly this event (id, stream and version): then it is applied without effect.
   */
  apply(event: RecordedEvent): void {
    if (event.type === HEARTBEAT_TYPE) return;
    if (this.waiverBook.skips(event)) {
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
    const reduces = reducesAccess(domain, this.priorFacts(domain));
    if (domain.type === EVENT_WAIVED) this.waive(eventWaiver(domain.data, event.id));
    else this.evolvers[domain.type].evolve(domain, event);
    if (reduces) this.reductionApplied(domain, event);
    this.applied++;
  }

  /**
   * Records a waiver (what applying its `EventWaived` does; the runtime also calls it when it finds the
   * waiver of the event it halted on out of band). Returns false when this exact waiver was already held.
   * Order-independent: of several identical waivers the smallest `waiverEventId` is kept.
   */
  waive(waiver: EventWaiver): boolean {
    return this.waiverBook.waive(waiver);
  }

  /** The waiver that makes this model skip the event with this id, stream and version, if any. */
  waiverFor(eventId: string, streamId: string, streamVersion: number): EventWaiver | undefined {
    return this.waiverBook.waiverFor(eventId, streamId, streamVersion);
  }

  /** Every waiver recorded, by waived event id. Off the hot path. */
  waivers(): EventWaiver[] {
    return this.waiverBook.all();
  }

  private notify(notice: WaiverNotice): void {
    try {
      this.onWaiverNotice(notice);
    } catch (error) {
      this.onListenerError(error);
    }
  }

  /** What this model holds, before `e`, about what `e` changes (see `reducesAccess`). */
  private priorFacts(e: DomainEvent): PriorFacts {
    switch (e.type) {
      case 'CollaboratorSet':
        return { role: this.directory.roleOf(e.data.projectId, e.data.userId) };
      case 'GroupsRefreshed':
      case 'GroupsEdited': {
        const groups = this.directory.heldGroups(e.data.userId);
        return groups ? { groups } : {};
      }
      case 'DeploymentUpdated':
        return { deployment: this.routing.deploymentById(e.data.deploymentId) };
      case 'ExternalAccessPolicyChanged':
        return {
          requireExternalUserLoginAfterHours: this.policies.externalAccessPolicy().requireExternalUserLoginAfterHours,
        };
      default:
        return {};
    }
  }

  /** Records an applied access-reducing event once and tells the listeners (confirmations, metrics). */
  private reductionApplied(e: DomainEvent, event: RecordedEvent): void {
    if (this.revocations.has(event.id)) return;
    const appliedAt = this.now();
    this.revocations.set(event.id, appliedAt);
    const key = e.type === 'KeyRevoked' ? this.keys.keyById(e.data.keyId) : undefined;
    const applied: AccessReductionApplied = {
      eventId: event.id,
      type: event.type,
      appliedAt,
      committedAt: new Date(event.recordedAt).getTime(),
      keyId: e.type === 'KeyRevoked' || e.type === 'KeyRotated' ? e.data.keyId : null,
    };
    for (const listener of this.reductionListeners) this.tell(() => listener(applied));
    if (e.type === 'KeyRevoked') {
      for (const listener of this.revocationListeners) this.tell(() => listener(event.id, appliedAt, key));
    }
  }

  private tell(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.onListenerError(error);
    }
  }

  // ---- lookups (hot path: synchronous Map reads) ----

  keyByHash(secretHash: string): KeyRecord | undefined {
    return this.keys.keyByHash(secretHash);
  }

  keyById(keyId: string): KeyRecord | undefined {
    return this.keys.keyById(keyId);
  }

  /** Every key of a user (valid, revoked and expired alike), oldest first (then by id). Off the hot path. */
  keysOfUser(userId: string): KeyRecord[] {
    return this.keys.keysOfUser(userId);
  }

  /** The current access key of a deployment's slot: the newest unrevoked one (expired ones included). */
  accessKey(deploymentId: string, slot: AccessKeySlot): KeyRecord | undefined {
    return this.keys.accessKey(deploymentId, slot);
  }

  user(userId: string): UserRecord | undefined {
    return this.directory.user(userId);
  }

  userByName(name: string): UserRecord | undefined {
    return this.directory.userByName(name);
  }

  /** The user an IdP connector's sign-in, SCIM and webhooks know by this subject (`<idp>:<sub>`). */
  userByExternalSubject(idp: string, subject: string): UserRecord | undefined {
    return this.directory.userByExternalSubject(idp, subject);
  }

  /** Every user, for listings off the hot path. */
  allUsers(): IterableIterator<UserRecord> {
    return this.directory.allUsers();
  }

  project(projectId: string): ProjectRecord | undefined {
    return this.directory.project(projectId);
  }

  roleOf(projectId: string, userId: string): ProjectRole | undefined {
    return this.directory.roleOf(projectId, userId);
  }

  collaborators(projectId: string): ReadonlyMap<string, ProjectRole> {
    return this.directory.collaborators(projectId);
  }

  deploymentById(deploymentId: string): DeploymentRecord | undefined {
    return this.routing.deploymentById(deploymentId);
  }

  deployments(): IterableIterator<DeploymentRecord> {
    return this.routing.deployments();
  }

  /** Host case-insensitive without port; longest path prefix at a segment boundary. */
  routeDeployment(host: string, path: string): DeploymentRecord | undefined {
    return this.routing.routeDeployment(host, path);
  }

  /** The external-access policy (default -1: no limit). */
  policy(): ExternalAccessPolicy {
    return this.policies.externalAccessPolicy();
  }

  /** The key policy (default 365/365 days). */
  keyPolicy(): KeyPolicy {
    return this.policies.keyPolicy();
  }

  /** The published public JWK with this kid, unless retired (from its `retiredAt` on). */
  signingKey(kid: string): PublicJwkRecord | undefined {
    return this.signing.signingKey(kid);
  }

  /** Published signing keys not retired at now, oldest activation first. */
  signingKeys(): SigningKeyRecord[] {
    return this.signing.signingKeys();
  }

  /** The JWKS of service tokens (`/.well-known/jwks.json`). */
  jwks(): { keys: PublicJwkRecord[] } {
    return { keys: this.signingKeys().map((k) => k.publicJwk) };
  }

  /** When this model applied the access-reducing event with this id (epoch ms), or undefined. */
  revocationApplied(eventId: string): number | undefined {
    return this.revocations.get(eventId);
  }

  /** Every access-reducing event this model holds as applied (restored from a snapshot included). */
  heldReductions(): IterableIterator<[eventId: string, appliedAt: number]> {
    return this.revocations.entries();
  }

  /**
   * Called synchronously after each newly applied access-reducing event (`reducesAccess`): a key revoked,
   * a user deactivated, a collaborator removed or demoted, a deployment narrowed, groups shrunk, the
   * external-access policy tightened. Returns an unsubscribe function.
   */
  onAccessReduced(listener: (applied: AccessReductionApplied) => void): () => void {
    this.reductionListeners.add(listener);
    return () => this.reductionListeners.delete(listener);
  }

  /** Called synchronously after each newly applied `KeyRevoked`. Returns an unsubscribe function. */
  onRevocationApplied(listener: (eventId: string, appliedAt: number, key: KeyRecord | undefined) => void): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  counts(): AccessModelCounts {
    return {
      keys: this.keys.size,
      revokedKeys: this.keys.revokedKeys,
      ...this.directory.counts(),
      deployments: this.routing.size,
      signingKeys: this.signing.size,
      appliedEvents: this.applied,
      waivers: this.waiverBook.size,
      waivedEvents: this.waiverBook.skipped,
    };
  }

  // ---- snapshots ----

  /** A JSON-serialisable copy of the whole state (take it in the same tick as the runner's position). */
  snapshot(): AccessModelSnapshot {
    return encodeSnapshot(this.state());
  }

  /**
   * Captures the state now (copies of the key table's columns and reference copies of immutable records; tens
   * of ms at 1M keys) and encodes it
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
      this.keys.isEmpty() &&
      this.directory.isEmpty() &&
      this.routing.size === 0 &&
      this.signing.isEmpty() &&
      this.policies.isEmpty() &&
      this.revocations.size === 0 &&
      this.waiverBook.size === 0
    );
  }

  private state(): SnapshotState {
    return {
      keys: this.keys.capture(),
      keyTombstones: this.keys.tombstoneEntries(),
      ...this.directory.snapshotPart(),
      deployments: [...this.routing.deployments()],
      ...this.policies.snapshotPart(),
      ...this.signing.snapshotPart(),
      revocations: [...this.revocations],
      waivers: this.waivers(),
    };
  }

  private loadDecoded(s: ReturnType<typeof decodeSnapshot>): void {
    // Users and deployments first: keys share their id strings.
    this.directory.load(s);
    for (const deployment of s.deployments) this.routing.add(deployment);
    this.keys.load(s.keys, (row) => {
      const owner = s.keys.owners[row]!;
      return (s.keys.flags[row]! & 1) === 1
        ? (this.routing.deploymentById(owner)?.deploymentId ?? owner)
        : (this.directory.user(owner)?.userId ?? owner);
    });
    for (const [keyId, tombstone] of s.keyTombstones) this.keys.addTombstone(keyId, tombstone);
    this.policies.load(s);
    this.signing.load(s);
    for (const [eventId, at] of s.revocations) this.revocations.set(eventId, at);
    this.waiverBook.load(s.waivers);
  }
}
