import type { KeyEvent } from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import { DEFAULT_KEY_POLICY, validateKeyPolicy, type KeyPolicy } from './policy';

/** The key policy (stream `key-policy`). Its stream version is the policy's `version` (0: the defaults). */
export interface SetKeyPolicy {
  type: 'SetKeyPolicy';
  policy: KeyPolicy;
}

export const keyPolicyDecider: Decider<SetKeyPolicy, KeyEvent, KeyPolicy> = {
  initialState: DEFAULT_KEY_POLICY,

  decide(command, state) {
    validateKeyPolicy(command.policy);
    const { defaultLifetimeDays, maxLifetimeDays, maxServiceTokenLifetimeSeconds } = command.policy;
    // Setting what is already in force changes nothing and writes nothing.
    if (
      defaultLifetimeDays === state.defaultLifetimeDays &&
      maxLifetimeDays === state.maxLifetimeDays &&
      maxServiceTokenLifetimeSeconds === state.maxServiceTokenLifetimeSeconds
    )
      return [];
    return [
      { type: 'KeyPolicyChanged', data: { defaultLifetimeDays, maxLifetimeDays, maxServiceTokenLifetimeSeconds } },
    ];
  },

  evolve(state, event) {
    if (event.type !== 'KeyPolicyChanged') return state;
    // Events written before `maxServiceTokenLifetimeSeconds` existed lack it: they mean the default, 3600.
    return {
      defaultLifetimeDays: event.data.defaultLifetimeDays,
      maxLifetimeDays: event.data.maxLifetimeDays,
      maxServiceTokenLifetimeSeconds:
        event.data.maxServiceTokenLifetimeSeconds ?? DEFAULT_KEY_POLICY.maxServiceTokenLifetimeSeconds,
    };
  },
};
