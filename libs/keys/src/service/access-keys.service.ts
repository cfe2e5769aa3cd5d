import { generateKey, hashSecret, newId } from '@tollgate/authn';
import {
  ApiError,
  keyStream,
  type AccessKeySlot,
  type KeyCreated,
  type KeyEvent,
  type KeyRevoked,
} from '@tollgate/contracts';
import { fold, handleCommand, type AppendResult, type EventStore } from '@tollgate/event-store';
import type { Caller } from '@tollgate/platform';
import { accessKeySlotsDecider } from '../domain/access-key-slots.decider';
import { keyDecider } from '../domain/key.decider';
import type { KeyCreationLimiter } from '../domain/rate-limit';
import type { Clock } from '../domain/time';
import type { KeyReadModel } from '../storage/key-read-model';
import type { Locks } from '../storage/locks';
import type { Directory } from './directory';
import { apiMetadata, requestFingerprint, storeCall, type RequestMeta } from './support';

export interface RotatedAccessKey {
  slot: AccessKeySlot;
  keyId: string;
  /** The secret (`tga_…`): in the creation response only; null in an idempotent replay. */
  accessKey: string | null;
  /** The revocation of the key that was in the slot (absent when the slot was empty, and in a replay). */
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
 * Model access keys in a deployment's `primary` and `secondary` slots. A rotation creates the new key
 * first and then revokes what was in the slot (reason `rotated`), under a lock per slot held across every
 * replica, so a client never sees an empty slot and two rotations never both keep their key.
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
    const { store, reads, limiter, locks, clock } = this.deps;
    await this.authorize(caller, deploymentId, meta.arrival);
    const idempotency = meta.idempotencyKey;
    const fingerprint = requestFingerprint(route, `${deploymentId}/${slot}`, rawBody);
    const lookup = async () =>
      idempotency === undefined
        ? null
        : storeCall(() => store.lookupIdempotencyKey(caller.userId, idempotency, fingerprint));
    const stored = await lookup();
    if (stored) return { body: replayBody(stored), replayed: true };
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
      if (again) return { body: replayBody(again), replayed: true };
      const state = fold(accessKeySlotsDecider, await reads.accessKeyEvents(deploymentId));
      const keyId = newId('key');
      const secret = generateKey('access');
      const now = clock();
      const [created, ...revocations] = accessKeySlotsDecider.decide(
        { type: 'RotateSlot', deploymentId, slot, keyId, secretHash: hashSecret(secret), now },
        state,
      );
      const metadata = apiMetadata(caller, meta);
      const result = await storeCall(() =>
        handleCommand(
          store,
          keyStream(keyId),
          keyDecider,
          { type: 'CreateKey', key: created!.data as KeyCreated },
          metadata,
          {
            idempotencyKey: idempotency,
            fingerprint,
            retries: 0,
          },
        ),
      );
      if (result.replayed) return { body: replayBody(result), replayed: true };
      const eventIds = await this.revokeAll(revocations, { ...metadata, causationId: result.events[0]!.id });
      const body: RotatedAccessKey = { slot, keyId, accessKey: secret };
      if (eventIds.length > 0) body.eventId = eventIds[eventIds.length - 1];
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
      const state = fold(accessKeySlotsDecider, await this.deps.reads.accessKeyEvents(deploymentId));
      const revocations = accessKeySlotsDecider.decide(
        { type: 'RevokeSlot', deploymentId, slot, now: this.deps.clock() },
        state,
      );
      const eventIds = await this.revokeAll(revocations, apiMetadata(caller, meta));
      if (eventIds.length === 0)
        throw new ApiError('not-found', `deployment ${deploymentId} has no access key in slot ${slot}`);
      return { eventId: eventIds[eventIds.length - 1]! };
    });
  }

  private async revokeAll(revocations: KeyEvent[], metadata: ReturnType<typeof apiMetadata>): Promise<string[]> {
    const eventIds: string[] = [];
    for (const event of revocations) {
      const { keyId, reason } = event.data as KeyRevoked;
      const result = await storeCall(() =>
        handleCommand(
          this.deps.store,
          keyStream(keyId),
          keyDecider,
          { type: 'RevokeKey', reason, now: this.deps.clock() },
          metadata,
        ),
      );
      if (result.events[0]) eventIds.push(result.events[0].id);
    }
    return eventIds;
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

function replayBody(stored: AppendResult): RotatedAccessKey {
  const created = stored.events.find((e) => e.type === 'KeyCreated')?.data as KeyCreated | undefined;
  if (!created || created.kind !== 'access-key') {
    throw new ApiError('idempotency-key-reused', 'this Idempotency-Key was used for a different request');
  }
  return { slot: created.slot!, keyId: created.keyId, accessKey: null };
}
