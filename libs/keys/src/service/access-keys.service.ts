import { generateKey, hashSecret, newId } from '@tollgate/authn';
import { ApiError, keyStream, type AccessKeySlot, type KeyCreated } from '@tollgate/contracts';
import { fold, type EventStore, type RecordedEvent } from '@tollgate/event-store';
import type { Caller } from '@tollgate/platform';
import { accessKeySlotsDecider, type AccessKeySlotsCommand } from '../domain/access-key-slots.decider';
import type { KeyCreationLimiter } from '../domain/rate-limit';
import type { Clock } from '../domain/time';
import type { KeyReadModel } from '../storage/key-read-model';
import type { Locks } from '../storage/locks';
import type { Directory } from './directory';
import { commitRevocations, type RevocationPlan } from './revoke-keys';
import { storeCall } from '@tollgate/platform';
import { apiMetadata, requestFingerprint, type RequestMeta } from './support';

export interface RotatedAccessKey {
  slot: AccessKeySlot;
  keyId: string;
  /** The secret (`tga_…`): in the creation response only; null in an idempotent replay. */
  accessKey: string | null;
  /** The revocation of the key that was in the slot (absent when the slot was empty). */
  eventId?: string;
}

export interface AccessKeysDeps {
  store: EventStore;
  reads: KeyReadModel;
  directory: Directory;
  limiter: KeyCreationLimiter;
  locks: Locks;
  clock: Clock;
}

const deploymentNotFound = (): ApiError => new ApiError('not-found', 'deployment not found');

/**
 * Model access keys in a deployment's `primary` and `secondary` slots. A rotation creates the new key and
 * revokes what was in the slot (reason `rotated`) in one transaction, under a lock per slot held across
 * every replica, so a client never sees an empty slot and two rotations never both keep their key.
 */
export class AccessKeysService {
  constructor(private readonly deps: AccessKeysDeps) {}

  async rotate(
    caller: Caller,
    deploymentId: string,
    slot: AccessKeySlot,
    route: string,
    rawBody: unknown,
    meta: RequestMeta,
  ): Promise<{ body: RotatedAccessKey; replayed: boolean }> {
    const { store, limiter, locks, clock } = this.deps;
    await this.authorize(caller, deploymentId, meta.arrival);
    const idempotency = meta.idempotencyKey;
    const fingerprint = requestFingerprint(route, `${deploymentId}/${slot}`, rawBody);
    const lookup = async () =>
      idempotency === undefined
        ? null
        : storeCall(() => store.lookupIdempotencyKey(caller.userId, idempotency, fingerprint));
    const stored = await lookup();
    if (stored) return { body: replayBody(stored.events), replayed: true };
    const limit = await limiter.take(`deployment:${deploymentId}`, clock());
    if (!limit.allowed) {
      throw new ApiError(
        'rate-limited',
        `too many access keys created for this deployment; retry in ${limit.retryAfterSeconds} s`,
        undefined,
        {
          'Retry-After': String(limit.retryAfterSeconds),
        },
      );
    }
    return locks.withLock(`access-key-slot:${deploymentId}:${slot}`, async () => {
      // A concurrent duplicate may have completed while this request waited for the lock.
      const again = await lookup();
      if (again) return { body: replayBody(again.events), replayed: true };
      const keyId = newId('key');
      const secret = generateKey('access');
      // The new key and the revocation of what was in the slot commit together: a client never sees an
      // empty slot nor two keys in it, and a replay names the same events.
      const result = await commitRevocations(
        store,
        () =>
          this.plan(deploymentId, (now) => ({
            type: 'RotateSlot',
            deploymentId,
            slot,
            keyId,
            secretHash: hashSecret(secret),
            now,
          })),
        clock,
        { metadata: apiMetadata(caller, meta), idempotencyKey: idempotency, fingerprint },
      );
      if (result.replayed) return { body: replayBody(result.events), replayed: true };
      const body: RotatedAccessKey = { slot, keyId, accessKey: secret };
      const eventId = lastRevocation(result.events);
      if (eventId) body.eventId = eventId;
      return { body, replayed: false };
    });
  }

  /** Revokes the key in a slot (404 when the slot is empty) → the revocation's event id. */
  async revokeSlot(
    caller: Caller,
    deploymentId: string,
    slot: AccessKeySlot,
    meta: RequestMeta,
  ): Promise<{ eventId: string }> {
    await this.authorize(caller, deploymentId, meta.arrival);
    return this.deps.locks.withLock(`access-key-slot:${deploymentId}:${slot}`, async () => {
      const result = await commitRevocations(
        this.deps.store,
        () => this.plan(deploymentId, (now) => ({ type: 'RevokeSlot', deploymentId, slot, now })),
        this.deps.clock,
        { metadata: apiMetadata(caller, meta) },
      );
      const eventId = lastRevocation(result.events);
      if (!eventId) throw new ApiError('not-found', `deployment ${deploymentId} has no access key in slot ${slot}`);
      return { eventId };
    });
  }

  /**
   * The slot decider's events as a plan: a new key (a rotation) is appended first, then the revocations of
   * the keys that were in the slot, each at its stream's current version.
   */
  private async plan(deploymentId: string, command: (now: number) => AccessKeySlotsCommand): Promise<RevocationPlan> {
    const { reads, clock } = this.deps;
    const state = fold(accessKeySlotsDecider, await reads.accessKeyEvents(deploymentId));
    const events = accessKeySlotsDecider.decide(command(clock()), state);
    const plan: RevocationPlan = { before: [], revoke: [] };
    for (const event of events) {
      if (event.type === 'KeyCreated') {
        plan.before!.push({ streamId: keyStream(event.data.keyId), expectedVersion: 0, events: [event] });
      } else if (event.type === 'KeyRevoked') {
        const key = await reads.byId(event.data.keyId);
        if (key && key.revokedAt === null)
          plan.revoke.push({ keyId: key.keyId, version: key.version, reason: event.data.reason });
      }
    }
    return plan;
  }

  /**
   * The deployment's project owner or admin, or a Tollgate admin. Unknown deployment: 404; a caller who is
   * not a collaborator of its project cannot see it either (404); a contributor or viewer: 403.
   */
  private async authorize(caller: Caller, deploymentId: string, arrival: number): Promise<void> {
    const deployment = await this.deps.directory.deployment(deploymentId, arrival);
    if (!deployment) throw deploymentNotFound();
    if (caller.admin) return;
    const role = await this.deps.directory.roleOf(
      deployment.projectId,
      caller.userId,
      arrival,
      (r) => r === 'owner' || r === 'admin',
    );
    if (role === 'owner' || role === 'admin') return;
    if (role === undefined) throw deploymentNotFound();
    throw new ApiError(
      'forbidden',
      "only the project's owner or admin, or a Tollgate admin, manage a deployment's access keys",
    );
  }
}

function replayBody(events: readonly RecordedEvent[]): RotatedAccessKey {
  const created = events.find((e) => e.type === 'KeyCreated')?.data as KeyCreated | undefined;
  if (!created || created.kind !== 'access-key') {
    throw new ApiError('idempotency-key-reused', 'this Idempotency-Key was used for a different request');
  }
  const body: RotatedAccessKey = { slot: created.slot!, keyId: created.keyId, accessKey: null };
  const eventId = lastRevocation(events);
  if (eventId) body.eventId = eventId;
  return body;
}

const lastRevocation = (events: readonly RecordedEvent[]): string | undefined =>
  events.filter((e) => e.type === 'KeyRevoked').at(-1)?.id;
