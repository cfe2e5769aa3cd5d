import { ApiError } from '@tollgate/contracts';
import { fold, type Decider, type DomainEvent } from '@tollgate/event-store';

/** Outcome of a decider given past events, when a command: the new events, or the error's code. */
export type Then<E> = { events: E[] } | { error: string };

/** given/when/then for table tests of deciders: folds `given`, decides `when`. Pure. */
export function givenWhen<C, E extends DomainEvent, S>(
  decider: Decider<C, E, S>,
  given: readonly E[],
  when: C,
): Then<E> {
  try {
    return { events: decider.decide(when, fold(decider, given)) };
  } catch (error) {
    if (error instanceof ApiError) return { error: error.code };
    throw error;
  }
}
