import { keyStream } from '@tollgate/contracts';
import { handleCommand, type EventStore } from '@tollgate/event-store';
import type { Logger } from 'pino';
import { keyDecider } from '../domain/key.decider';
import { iso, type Clock } from '../domain/time';
import type { KeyReadModel } from '../storage/key-read-model';
import { systemMetadata } from './support';

export interface RotationSweeperDeps {
  store: EventStore;
  reads: KeyReadModel;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
}

/** Rotations revoked per sweep at most (the next sweep takes the rest). */
const BATCH = 100;

/**
 * Ends key rotations: once a rotated key's overlap has passed (`revokesAt`), appends its `KeyRevoked`
 * (reason `rotated`, actor `system`, causation = the `KeyRotated`), so the end of the old key is an event
 * like any revocation, confirmable at `GET /v1/revocations/{eventId}`.
 *
 * Not in the enforcement path: every reader of the log already refuses the old key from `revokesAt` on (the
 * `KeyRotated` makes it expire then), so a late sweep delays the confirmation, never the refusal.
 *
 * Durable and idempotent without a lock or a checkpoint: what is due is read from the log itself (rotations
 * without a revocation), and the revocation is decided on the key's stream with optimistic concurrency.
 * Every keys process (the active writer and its standby) may sweep at once: the loser of a race re-decides,
 * finds the key revoked and writes nothing, as `SigningKeysService.maintain` does.
 */
export class RotationSweeper {
  constructor(private readonly deps: RotationSweeperDeps) {}

  /** Revokes the rotated keys due at `now`; returns the new revocations' event ids. */
  async sweep(now = this.deps.clock()): Promise<string[]> {
    const { store, reads, logger } = this.deps;
    const due = await reads.dueRotations(iso(now), BATCH);
    const eventIds: string[] = [];
    for (const rotation of due) {
      const result = await handleCommand(
        store,
        keyStream(rotation.keyId),
        keyDecider,
        { type: 'RevokeKey', reason: 'rotated', now: this.deps.clock() },
        systemMetadata('system', rotation.eventId),
        { retries: 5 },
      );
      const event = result.events[0];
      if (event) {
        eventIds.push(event.id);
        logger.info(
          { keyId: rotation.keyId, eventId: event.id, causationId: rotation.eventId, revokesAt: rotation.revokesAt },
          'keys: rotated key revoked at the end of its overlap',
        );
      }
    }
    return eventIds;
  }
}
