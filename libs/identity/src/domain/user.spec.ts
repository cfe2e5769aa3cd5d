import { describe, expect, it } from '@jest/globals';
import { fold } from '@tollgate/event-store';
import { given } from './given-when-then';
import { type UserEvent, userDecider, userView } from './user';

const T0 = '2026-11-26T06:00:00.000Z';
const T1 = '2026-11-26T07:00:00.000Z';
const T2 = '2026-11-26T08:00:00.000Z';
const T3 = '2026-11-26T09:00:00.000Z';

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
const edited = (groups: string[], editedAt: string): UserEvent => ({
  type: 'GroupsEdited',
  data: { userId: 'usr_ext', groups, editedAt },
});
const deactivated: UserEvent = { type: 'UserDeactivated', data: { userId: 'usr_ext', deactivatedAt: T1 } };

describe('user decider', () => {
  describe('CreateUser (POST /v1/users)', () => {
    const admin = { userId: 'usr_boss', admin: true };
    const input = { name: 'ada', kind: 'internal' as const, admin: false, email: 'ada@example.com' };
    const ada: UserEvent = {
      type: 'UserCreated',
      data: { userId: 'usr_ada', ...input, createdAt: T0 },
    };
    it('a Tollgate admin creates a user once', () => {
      given(userDecider).when({ type: 'CreateUser', by: admin, userId: 'usr_ada', user: input, at: T0 }).then([ada]);
    });
    it('refuses anyone else (403)', () => {
      given(userDecider)
        .when({ type: 'CreateUser', by: { userId: 'usr_x', admin: false }, userId: 'usr_ada', user: input, at: T0 })
        .thenThrows('forbidden');
    });
    it('refuses a second creation of the same stream', () => {
      given(userDecider, [ada])
        .when({ type: 'CreateUser', by: admin, userId: 'usr_ada', user: input, at: T0 })
        .thenThrows('conflict');
    });
  });

  describe('LinkExternalUser (first sign-in, SCIM creation)', () => {
    const link = {
      type: 'LinkExternalUser',
      userId: 'usr_ext',
      idp: 'corp',
      subject: '00u1',
      email: null,
      at: T0,
    } as const;
    it('creates the external user <idp>:<subject>, never an admin', () => {
      given(userDecider).when(link).then([created]);
    });
    it('refuses a second creation of the same stream', () => {
      given(userDecider, [created]).when(link).thenThrows('conflict');
    });
  });

  describe('CreateBuiltInAdmin (first start)', () => {
    const admin: UserEvent = {
      type: 'UserCreated',
      data: { userId: 'usr_admin', name: 'admin', kind: 'internal', admin: true, email: null, createdAt: T0 },
    };
    it('creates usr_admin, named admin, a Tollgate admin', () => {
      given(userDecider).when({ type: 'CreateBuiltInAdmin', at: T0 }).then([admin]);
    });
    it('is a no-op at every later start', () => {
      given(userDecider, [admin]).when({ type: 'CreateBuiltInAdmin', at: T1 }).then([]);
    });
    it('can never be deactivated (403)', () => {
      given(userDecider, [admin]).when({ type: 'DeactivateUser', at: T1 }).thenThrows('forbidden');
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
    it("keeps following a deactivated user's groups (a reactivation must not restore removed ones)", () => {
      given(userDecider, [created, refreshed(['a', 'b'], T0), deactivated])
        .when({ type: 'ReplaceGroups', groups: ['a'], refreshedAt: T2 })
        .then([refreshed(['a'], T2)]);
    });
  });

  describe('ReactivateUser (SCIM active: true)', () => {
    const reactivated: UserEvent = { type: 'UserReactivated', data: { userId: 'usr_ext', reactivatedAt: T2 } };
    it('restores a deactivated user', () => {
      given(userDecider, [created, deactivated]).when({ type: 'ReactivateUser', at: T2 }).then([reactivated]);
      expect(fold(userDecider, [created, deactivated, reactivated]).deactivatedAt).toBeNull();
    });
    it('is a no-op on an active user', () => {
      given(userDecider, [created]).when({ type: 'ReactivateUser', at: T2 }).then([]);
    });
    it('a reactivated user can be deactivated again', () => {
      given(userDecider, [created, deactivated, reactivated])
        .when({ type: 'DeactivateUser', at: T2 })
        .then([{ type: 'UserDeactivated', data: { userId: 'usr_ext', deactivatedAt: T2 } }]);
    });
    it('refuses an unknown user', () => {
      given(userDecider).when({ type: 'ReactivateUser', at: T1 }).thenThrows('not-found');
    });
  });

  describe('EditGroups by a webhook (group.member.*, group.deleted): a refresh at its webhook-timestamp', () => {
    it("edits a deactivated user's groups too", () => {
      given(userDecider, [created, refreshed(['a', 'b'], T0), deactivated])
        .when({ type: 'EditGroups', add: [], remove: ['a'], at: T1, refresh: true })
        .then([refreshed(['b'], T1)]);
    });
    it('adds and removes, emitting the full resulting set', () => {
      given(userDecider, [created, refreshed(['a', 'b'], T0)])
        .when({ type: 'EditGroups', add: ['c'], remove: ['a'], at: T1, refresh: true })
        .then([refreshed(['b', 'c'], T1)]);
    });
    it('changes nothing when the set would not change', () => {
      given(userDecider, [created, refreshed(['a'], T0)])
        .when({ type: 'EditGroups', add: ['a'], remove: ['z'], at: T1, refresh: true })
        .then([]);
    });
    it('never moves the refresh time backwards', () => {
      given(userDecider, [created, refreshed(['a'], T2)])
        .when({ type: 'EditGroups', add: ['b'], remove: [], at: T1, refresh: true })
        .then([refreshed(['a', 'b'], T2)]);
    });
    it('older than a later SCIM edit: edits the newer set, and still refreshes at its own time', () => {
      given(userDecider, [created, refreshed(['a'], T0), edited(['a', 'b'], T2)])
        .when({ type: 'EditGroups', add: [], remove: ['a'], at: T1, refresh: true })
        .then([edited(['b'], T2), refreshed(['b'], T1)]);
    });
  });

  describe('EditGroups by SCIM: takes groups away at once, leaves the login clock alone', () => {
    it('emits GroupsEdited with the full set; the login clock stays at the last sign-in', () => {
      const events = [created, refreshed(['a', 'b'], T0)];
      given(userDecider, events)
        .when({ type: 'EditGroups', add: ['c'], remove: ['a'], at: T1, refresh: false })
        .then([edited(['b', 'c'], T1)]);
      const state = fold(userDecider, [...events, edited(['b', 'c'], T1)]);
      expect(state.groups).toEqual(['b', 'c']);
      expect(state.groupsRefreshedAt).toBe(T0);
      expect(state.groupsChangedAt).toBe(T1);
    });
    it('a user who never signed in keeps no login time', () => {
      given(userDecider, [created])
        .when({ type: 'EditGroups', add: ['a'], remove: [], at: T1, refresh: false })
        .then([edited(['a'], T1)]);
      expect(fold(userDecider, [created, edited(['a'], T1)]).groupsRefreshedAt).toBeNull();
    });
    it('a sign-in after the edit replaces the set and moves the login clock', () => {
      given(userDecider, [created, refreshed(['a'], T0), edited([], T1)])
        .when({ type: 'ReplaceGroups', groups: ['a', 'c'], refreshedAt: T2 })
        .then([refreshed(['a', 'c'], T2)]);
    });
    it('a login older than the edit (ID token minted before a removal) counts as a login, but its groups do not', () => {
      given(userDecider, [created, refreshed(['a'], T0), edited([], T2)])
        .when({ type: 'ReplaceGroups', groups: ['a'], refreshedAt: T1 })
        .then([refreshed([], T1)]);
      given(userDecider, [created, refreshed(['a'], T1), edited([], T2)])
        .when({ type: 'ReplaceGroups', groups: ['a'], refreshedAt: T1 })
        .then([]);
      given(userDecider, [created, refreshed(['a'], T1), edited([], T2)])
        .when({ type: 'ReplaceGroups', groups: ['a'], refreshedAt: T3 })
        .then([refreshed(['a'], T3)]);
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
