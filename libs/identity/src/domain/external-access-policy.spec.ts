import { describe, it } from '@jest/globals';
import { policyDecider, type PolicyEvent } from './external-access-policy';
import { given } from './given-when-then';

const admin = { userId: 'usr_admin', admin: true };
const changed = (hours: number): PolicyEvent => ({
  type: 'ExternalAccessPolicyChanged',
  data: { requireExternalUserLoginAfterHours: hours },
});

describe('external-access policy decider', () => {
  it('defaults to -1 at version 0', () => {
    given(policyDecider)
      .when({ type: 'SetExternalAccessPolicy', by: admin, requireExternalUserLoginAfterHours: -1 })
      .then([]);
  });
  it('an admin changes it', () => {
    given(policyDecider)
      .when({ type: 'SetExternalAccessPolicy', by: admin, requireExternalUserLoginAfterHours: 24 })
      .then([changed(24)]);
  });
  it('anyone else is forbidden', () => {
    given(policyDecider)
      .when({
        type: 'SetExternalAccessPolicy',
        by: { userId: 'usr_x', admin: false },
        requireExternalUserLoginAfterHours: 0,
      })
      .thenThrows('forbidden');
  });
  it('honours If-Match', () => {
    given(policyDecider, [changed(24)])
      .when({ type: 'SetExternalAccessPolicy', by: admin, requireExternalUserLoginAfterHours: 0, ifMatch: 0 })
      .thenThrows('version-conflict');
    given(policyDecider, [changed(24)])
      .when({ type: 'SetExternalAccessPolicy', by: admin, requireExternalUserLoginAfterHours: 0, ifMatch: 1 })
      .then([changed(0)]);
  });
});
