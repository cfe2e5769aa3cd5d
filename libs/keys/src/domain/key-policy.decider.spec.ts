import type { KeyEvent } from '@tollgate/contracts';
import { fold } from '@tollgate/event-store';
import { givenWhen } from './given-when-then';
import { keyPolicyDecider, type SetKeyPolicy } from './key-policy.decider';

const changed = (defaultLifetimeDays: number, maxLifetimeDays: number | null, tokens = 3600): KeyEvent => ({
  type: 'KeyPolicyChanged',
  data: { defaultLifetimeDays, maxLifetimeDays, maxServiceTokenLifetimeSeconds: tokens },
});
/** A `KeyPolicyChanged` as written before `maxServiceTokenLifetimeSeconds` existed. */
const changedV1 = (defaultLifetimeDays: number, maxLifetimeDays: number | null): KeyEvent => ({
  type: 'KeyPolicyChanged',
  data: { defaultLifetimeDays, maxLifetimeDays },
});
const set = (defaultLifetimeDays: number, maxLifetimeDays: number | null, tokens = 3600): SetKeyPolicy => ({
  type: 'SetKeyPolicy',
  policy: { defaultLifetimeDays, maxLifetimeDays, maxServiceTokenLifetimeSeconds: tokens },
});

describe('key policy decider', () => {
  it('starts at 365/365', () => {
    expect(fold(keyPolicyDecider, [])).toEqual({
      defaultLifetimeDays: 365,
      maxLifetimeDays: 365,
      maxServiceTokenLifetimeSeconds: 3600,
    });
  });

  it.each<[string, KeyEvent[], SetKeyPolicy, ReturnType<typeof givenWhen>]>([
    ['change from the defaults', [], set(30, 90), { events: [changed(30, 90)] }],
    ['remove the maximum', [changed(30, 90)], set(30, null), { events: [changed(30, null)] }],
    ['set what is in force: nothing', [changed(30, 90)], set(30, 90), { events: [] }],
    ['set the defaults again: nothing', [], set(365, 365), { events: [] }],
    ['default above the maximum: 400', [], set(91, 90), { error: 'validation-failed' }],
    ['raise the service-token maximum', [], set(365, 365, 86_400), { events: [changed(365, 365, 86_400)] }],
    ['service-token maximum below 3600: 400', [], set(365, 365, 60), { error: 'validation-failed' }],
    ['service-token maximum above 86400: 400', [], set(365, 365, 86_401), { error: 'validation-failed' }],
    ['an old event means 3600: setting 3600 writes nothing', [changedV1(30, 90)], set(30, 90), { events: [] }],
  ])('%s', (_what, given, when, then) => {
    expect(givenWhen(keyPolicyDecider, given, when)).toEqual(then);
  });

  it('folds to the last change', () => {
    expect(fold(keyPolicyDecider, [changed(30, 90), changed(7, null)])).toEqual({
      defaultLifetimeDays: 7,
      maxLifetimeDays: null,
      maxServiceTokenLifetimeSeconds: 3600,
    });
  });

  it('reads an event without maxServiceTokenLifetimeSeconds (written before it existed) as 3600', () => {
    expect(fold(keyPolicyDecider, [changed(30, 90, 7200), changedV1(7, null)])).toEqual({
      defaultLifetimeDays: 7,
      maxLifetimeDays: null,
      maxServiceTokenLifetimeSeconds: 3600,
    });
  });
});
