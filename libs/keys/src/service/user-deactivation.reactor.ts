import { keyStream, userDeactivated } from '@tollgate/contracts';
import { handleCommand, type EventStore, type Projection, type RecordedEvent } from '@tollgate/event-store';
import type { Logger } from 'pino';
import { keyDecider } from '../domain/key.decider';
import type { Clock } from '../domain/time';
import type { KeyReadModel } from '../storage/key-read-model';
import { systemMetadata } from './support';

export interface UserDeactivationDeps {
  store: EventStore;
  reads: KeyReadModel;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Backoff between attempts when the store fails (default: a real sleep). */
  sleep?: (ms: number) => Promise<void>;
  /** True once the service stops: the reactor gives up retrying (its runner resumes from the checkpoint). */
  stopping?: () => boolean;
}

/**
 * Reacts to the identity service's `UserDeactivated` by revoking every key of that user (reason
 * `user-deactivated`, actor `system`, causation = the identity event). Idempotent: a redelivered event finds
 * the keys already revoked and writes nothing. A store failure is retried (never thrown: a throw would
 * halt the runner as if the event were poison).
 */
export class UserDeactivationReactor implements Projection {
  constructor(private readonly deps: UserDeactivationDeps) {}

  async apply(event: RecordedEvent): Promise<void> {
    if (event.type !== 'UserDeactivated') return;
    const parsed = userDeactivated.safeParse(event.data);
    if (!parsed.success) {
      this.deps.logger.warn({ eventId: event.id }, 'keys: UserDeactivated with invalid data ignored');
      return;
    }
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 5_000)) {
      try {
        const eventIds = await this.revokeKeysOf(parsed.data.userId, event.id);
        if (eventIds.length > 0) {
          this.deps.logger.info(
            { userId: parsed.data.userId, revoked: eventIds.length, causationId: event.id },
            'keys: revoked the keys of a deactivated user',
          );
        }
        return;
      } catch (err) {
        if (this.deps.stopping?.()) throw err;
        this.deps.logger.warn(
          { err, eventId: event.id, retryInMs: backoff },
          "keys: revoking a deactivated user's keys failed; retrying",
        );
        await sleep(backoff);
      }
    }
  }

  /** Revokes every unrevoked key of the user; returns the new revocations' event ids. */
  async revokeKeysOf(userId: string, causationId: string): Promise<string[]> {
    const eventIds: string[] = [];
    for (const key of await this.deps.reads.userKeys(userId)) {
      if (key.revokedAt !== null) continue;
      const result = await handleCommand(
        this.deps.store,
        keyStream(key.keyId),
        keyDecider,
        { type: 'RevokeKey', reason: 'user-deactivated', now: this.deps.clock() },
        systemMetadata('system', causationId),
      );
      if (result.events[0]) eventIds.push(result.events[0].id);
    }
    return eventIds;
  }
}
