import { keyStream, type KeyRevocationReason } from '@tollgate/contracts';
import {
  VersionConflictError,
  type AppendManyResult,
  type AppendOptions,
  type EventStore,
  type StreamAppend,
} from '@tollgate/event-store';
import { keyRevoked } from '../domain/key.decider';
import { storeCall } from '@tollgate/platform';

/** A key to revoke, at the version of its stream the plan read (1 for an active key). */
export interface KeyToRevoke {
  keyId: string;
  version: number;
  reason: KeyRevocationReason;
}

/** What one attempt commits: streams appended first (e.g. a rotation's new key), then the revocations. */
export interface RevocationPlan {
  before?: StreamAppend[];
  revoke: KeyToRevoke[];
}

const ATTEMPTS = 4;

/**
 * Commits a plan's revocations, and what comes before them, in ONE transaction: all of them or none. A
 * concurrent change to one of the keys (a revocation that won the race) makes the plan stale: it is made
 * again from fresh reads and retried, so a key revoked meanwhile is simply no longer in it (revoking a
 * revoked key is never a second event). With an idempotency key, an empty plan is stored too, so a replay
 * answers the first result whatever happened since.
 */
export async function commitRevocations(
  store: EventStore,
  plan: () => Promise<RevocationPlan>,
  now: () => number,
  options: AppendOptions,
): Promise<AppendManyResult> {
  for (let attempt = 1; ; attempt++) {
    const { before = [], revoke } = await plan();
    const at = now();
    const appends: StreamAppend[] = [
      ...before,
      ...revoke.map((k) => ({
        streamId: keyStream(k.keyId),
        expectedVersion: k.version,
        events: [keyRevoked(k.keyId, k.reason, at)],
      })),
    ];
    if (appends.length === 0 && options.idempotencyKey === undefined) return { events: [], replayed: false };
    try {
      return await store.appendMany(appends, options);
    } catch (error) {
      if (error instanceof VersionConflictError && attempt < ATTEMPTS) continue;
      return storeCall(() => Promise.reject(error)); // the store's error in the contract's terms
    }
  }
}
