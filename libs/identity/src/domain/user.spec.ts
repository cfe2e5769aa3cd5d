import { describe, expect, it } from '@jest/globals';
import { fold } from '@tollgate/event-store';
import { given } from './given-when-then';
import { type UserEvent, userDecider, userView } from './user';

const T0 = '2026-11-26T06:00:00.000Z';
const T1 = '2026-11-26T07:00:00.000Z';
const T2 = '2026-11-26T08:00:00.000Z';

const created: UserEvent = {
  type: 'UserCreated',
  data: {
    userId: 'usr_ext',
    name: 'corp:00u1',
    kind: 'external',
    admin: false,
    email: null,
    idp: 'corp',
    externalSubject: '00u1',
    createdAt: T0,
  },
};
const refreshed = (groups: string[], refreshedAt: string): UserEvent => ({
  type: 'GroupsRefreshed',
  data: { userId: 'usr_ext', groups, refreshedAt },
});
const deactivated: UserEvent = { type: 'UserDeactivated', data: { userId: 'usr_ext', deactivatedAt: T1 } };

describe('user decider', () => {
  describe('CreateUser', () => {
    it('creates a user once', () => {
      given(userDecider).when({ type: 'CreateUser', user: created.data }).then([created]);
    });
    it('refuses a second creation of the same stream', () => {
      given(userDecider, [created]).when({ type: 'CreateUser', user: created.data }).thenThrows('conflict');
    });
  });

  describe('DeactivateUser', () => {
    it('deactivates an active user', () => {
      given(userDecider, [created]).when({ type: 'DeactivateUser', at: T1 }).then([deactivated]);
    });
    it('is a no-op on a deactivated user (no second event)', () => {
      given(userDecider, [created, deactivated]).when({ type: 'DeactivateUser', at: T2 }).then([]);
    });
    it('is not-found for a user that does not exist', () => {
      given(userDecider).when({ type: 'DeactivateUser', at: T1 }).thenThrows('not-found');
    });
  });

  describe('ReplaceGroups (sign-in, user.groups.changed)', () => {
    it('replaces the whole set, duplicates removed', () => {
      given(userDecider, [created, refreshed(['a', 'b'], T0)])
        .when({ type: 'ReplaceGroups', groups: ['c', 'c', 'a'], refreshedAt: T1 })
        .then([refreshed(['c', 'a'], T1)]);
    });
    it('an empty set removes every group', () => {
      given(userDecider, [created, refreshed(['a'], T0)])
        .when({ type: 'ReplaceGroups', groups: [], refreshedAt: T1 })
        .then([refreshed([], T1)]);
    });
    it('the same set at a later time is a refresh (the login-age rule counts from it)', () => {
      given(userDecider, [created, refreshed(['a'], T0)])
        .when({ type: 'ReplaceGroups', groups: ['a'], refreshedAt: T1 })
        .then([refreshed(['a'], T1)]);
    });
    it('the same set at the same time is a no-op (a redelivery is not echoed)', () => {
      given(userDecider, [created, refreshed(['a', 'b'], T1)])
        .when({ type: 'ReplaceGroups', groups: ['b', 'a'], refreshedAt: T1 })
        .then([]);
    });
    it('a set older than the current one is stale and changes nothing', () => {
      given(userDecider, [created, refreshed(['a'], T1)])
        .when({ type: 'ReplaceGroups', groups: ['admins'], refreshedAt: T0 })
        .then([]);
    });
    it('leaves a deactivated user alone', () => {
      given(userDecider, [created, deactivated])
        .when({ type: 'ReplaceGroups', groups: ['a'], refreshedAt: T2 })
        .then([]);
    });
  });

  describe('EditGroups (SCIM membership, group.member.*)', () => {
    it('adds and removes, emitting the full resulting set', () => {
      given(userDecider, [created, refreshed(['a', 'b'], T0)])
        .when({ type: 'EditGroups', add: ['c'], remove: ['a'], at: T1 })
        .then([refreshed(['b', 'c'], T1)]);
    });
    it('changes nothing when the set would not change', () => {
      given(userDecider, [created, refreshed(['a'], T0)])
        .when({ type: 'EditGroups', add: ['a'], remove: ['z'], at: T1 })
        .then([]);
    });
    it('never moves the refresh time backwards', () => {
      given(userDecider, [created, refreshed(['a'], T2)])
        .when({ type: 'EditGroups', add: ['b'], remove: [], at: T1 })
        .then([refreshed(['a', 'b'], T2)]);
    });
  });

  it('folds into the view the API shows, version = stream version', () => {
    const state = fold(userDecider, [created, refreshed(['a'], T0), deactivated]);
    expect(userView(state)).toEqual({
      id: 'usr_ext',
      name: 'corp:00u1',
      kind: 'external',
      admin: false,
      email: null,
      createdAt: T0,
      deactivatedAt: T1,
      version: 3,
      idp: 'corp',
      externalSubject: '00u1',
    });
    expect(state.groups).toEqual(['a']);
  });
});
