import { expect } from '@jest/globals';
import { ApiError } from '@tollgate/contracts';
import { type Decider, type DomainEvent, fold } from '@tollgate/event-store';

/**
 * Given/when/then for deciders (Emmett style), used by the domain specs only:
 * `given(decider, pastEvents).when(command).then(expectedEvents)` or `.thenThrows('conflict')`.
 */
export function given<C, E extends DomainEvent, S>(decider: Decider<C, E, S>, events: E[] = []) {
  const state = fold(decider, events);
  return {
    state,
    when(command: C) {
      const run = () => decider.decide(command, state);
      return {
        then(expected: E[]): void {
          expect(run()).toEqual(expected);
        },
        thenThrows(code: ApiError['code']): void {
          let caught: unknown;
          try {
            run();
          } catch (error) {
            caught = error;
          }
          expect(caught).toBeInstanceOf(ApiError);
          expect((caught as ApiError).code).toBe(code);
        },
      };
    },
  };
}
