import type { KeyEvent } from '@tollgate/contracts';
import { fold } from '@tollgate/event-store';
import { givenWhen } from './given-when-then';
import { keyPolicyDecider, type SetKeyPolicy } from './key-policy.decider';

const changed = (defaultLifetimeDays: number, maxLifetimeDays: number | null): KeyEvent => ({
  type: 'KeyPolicyChanged',
  data: { defaultLifetimeDays, maxLifetimeDays },
});
const set = (defaultLifetimeDays: number, maxLifetimeDays: number | null): SetKeyPolicy => ({
  type: 'SetKeyPolicy',
  policy: { defaultLifetimeDays, maxLifetimeDays },
});

describe('key policy decider', () => {
  it('starts at 365/365', () => {
    expect(fold(keyPolicyDecider, [])).toEqual({ defaultLifetimeDays: 365, maxLifetimeDays: 365 });
  });

  it.each<[string, KeyEvent[], SetKeyPolicy, ReturnType<typeof givenWhen>]>([
    ['change from the defaults', [], set(30, 90), { events: [changed(30, 90)] }],
    ['remove the maximum', [changed(30, 90)], set(30, null), { events: [changed(30, null)] }],
    ['set what is in force: nothing', [changed(30, 90)], set(30, 90), { events: [] }],
    ['set the defaults again: nothing', [], set(365, 365), { events: [] }],
    ['default above the maximum: 400', [], set(91, 90), { error: 'validation-failed' }],
  ])('%s', (_what, given, when, then) => {
    expect(givenWhen(keyPolicyDecider, given, when)).toEqual(then);
  });

  it('folds to the last change', () => {
    expect(fold(keyPolicyDecider, [changed(30, 90), changed(7, null)])).toEqual({
      defaultLifetimeDays: 7,
      maxLifetimeDays: null,
    });
  });
});
