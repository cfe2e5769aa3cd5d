import { ApiError, type ExternalAccessPolicyChanged } from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import type { Actor } from './actor';

export type PolicyEvent = { type: 'ExternalAccessPolicyChanged'; data: ExternalAccessPolicyChanged };

export interface PolicyState {
  version: number;
  /** -1: no limit; 0: external access disabled everywhere; 1–87600: hours since the last group refresh. */
  requireExternalUserLoginAfterHours: number;
}

export type PolicyCommand = {
  type: 'SetExternalAccessPolicy';
  by: Actor;
  requireExternalUserLoginAfterHours: number;
  ifMatch?: number;
};

export const DEFAULT_REQUIRE_EXTERNAL_USER_LOGIN_AFTER_HOURS = -1;

export const initialPolicyState: PolicyState = {
  version: 0,
  requireExternalUserLoginAfterHours: DEFAULT_REQUIRE_EXTERNAL_USER_LOGIN_AFTER_HOURS,
};

export const policyDecider: Decider<PolicyCommand, PolicyEvent, PolicyState> = {
  initialState: initialPolicyState,
  decide(command, state) {
    if (!command.by.admin)
      throw new ApiError('forbidden', 'only a Tollgate admin may change the external-access policy');
    if (command.ifMatch !== undefined && command.ifMatch !== state.version) {
      throw new ApiError('version-conflict', `policy is at version ${state.version}, If-Match said ${command.ifMatch}`);
    }
    if (command.requireExternalUserLoginAfterHours === state.requireExternalUserLoginAfterHours) return [];
    return [
      {
        type: 'ExternalAccessPolicyChanged',
        data: { requireExternalUserLoginAfterHours: command.requireExternalUserLoginAfterHours },
      },
    ];
  },
  evolve(state, event) {
    if (event.type === 'ExternalAccessPolicyChanged') {
      return {
        version: state.version + 1,
        requireExternalUserLoginAfterHours: event.data.requireExternalUserLoginAfterHours,
      };
    }
    return { ...state, version: state.version + 1 };
  },
};
