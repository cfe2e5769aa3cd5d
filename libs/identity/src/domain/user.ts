import {
  ApiError,
  type GroupsEdited,
  type GroupsRefreshed,
  type UserCreated,
  type UserDeactivated,
  type UserKind,
  type UserReactivated,
} from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import { type Actor, distinctGroups, sameSet } from './actor';

/** The built-in admin (docs/SERVICES.md): created at first start, stream `user-usr_admin`. */
export const BUILT_IN_ADMIN_ID = 'usr_admin';
export const BUILT_IN_ADMIN_NAME = 'admin';

export type UserEvent =
  | { type: 'UserCreated'; data: UserCreated }
  | { type: 'UserDeactivated'; data: UserDeactivated }
  | { type: 'UserReactivated'; data: UserReactivated }
  | { type: 'GroupsRefreshed'; data: GroupsRefreshed }
  | { type: 'GroupsEdited'; data: GroupsEdited };

export interface UserState {
  exists: boolean;
  /** Stream version: the user's `version`. */
  version: number;
  userId: string;
  name: string;
  kind: UserKind;
  admin: boolean;
  email: string | null;
  idp: string | null;
  externalSubject: string | null;
  createdAt: string | null;
  deactivatedAt: string | null;
  /** The one group set of the user, in the order it was last given. */
  groups: string[];
  /**
   * The login clock: when an IdP last refreshed the set in a way that proves a login (sign-in's ID token
   * `iat`, a webhook's `webhook-timestamp`); `requireExternalUserLoginAfterHours` counts from it. SCIM edits
   * leave it alone.
   */
  groupsRefreshedAt: string | null;
  /** When the set last changed through any channel (SCIM edits included): what a replacement must not predate. */
  groupsChangedAt: string | null;
}

/** What `POST /v1/users` names of a new user. */
export interface NewUser {
  name: string;
  kind: UserKind;
  admin: boolean;
  email: string | null;
}

export type UserCommand =
  /** `POST /v1/users`: only a Tollgate admin creates users through the API. */
  | { type: 'CreateUser'; by: Actor; userId: string; user: NewUser; at: string }
  /**
   * The external user of (`idp`, `subject`) at first sign-in or SCIM creation: named `<idp>:<subject>`,
   * never an admin (CONTRACT section 3). The caller has linked the subject to `userId` first.
   */
  | { type: 'LinkExternalUser'; userId: string; idp: string; subject: string; email: string | null; at: string }
  /** The built-in admin at first start; a repeat (every later start) is a no-op. */
  | { type: 'CreateBuiltInAdmin'; at: string }
  /** A repeat is a no-op. */
  | { type: 'DeactivateUser'; at: string }
  /**
   * Restores a deactivated user (SCIM `active: true`); a no-op on an active one. The keys revoked at the
   * deactivation stay revoked: the user creates new ones.
   */
  | { type: 'ReactivateUser'; at: string }
  /**
   * The whole group set as the IdP sees it at `refreshedAt` (sign-in, `user.groups.changed`). A set older
   * than the one the user has is stale and changes nothing.
   */
  | { type: 'ReplaceGroups'; groups: readonly string[]; refreshedAt: string }
  /**
   * Membership edits (SCIM, `group.member.*`, `group.deleted`): the resulting full set is emitted.
   * `refresh`: the edit also counts as a group refresh at `at` (webhooks: CONTRACT section 3 counts a
   * webhook's groups as refreshed at its `webhook-timestamp`), so `GroupsRefreshed`; otherwise (SCIM) the
   * login clock stays where it is, so `GroupsEdited`.
   */
  | { type: 'EditGroups'; add: readonly string[]; remove: readonly string[]; at: string; refresh: boolean };

export const initialUserState: UserState = {
  exists: false,
  version: 0,
  userId: '',
  name: '',
  kind: 'internal',
  admin: false,
  email: null,
  idp: null,
  externalSubject: null,
  createdAt: null,
  deactivatedAt: null,
  groups: [],
  groupsRefreshedAt: null,
  groupsChangedAt: null,
};

const later = (a: string | null, b: string): string => (a !== null && a > b ? a : b);

function groupsRefreshed(state: UserState, groups: string[], refreshedAt: string): UserEvent {
  return { type: 'GroupsRefreshed', data: { userId: state.userId, groups, refreshedAt } };
}

function groupsEdited(state: UserState, groups: string[], editedAt: string): UserEvent {
  return { type: 'GroupsEdited', data: { userId: state.userId, groups, editedAt } };
}

function create(state: UserState, user: UserCreated): UserEvent[] {
  if (state.exists) throw new ApiError('conflict', `user ${user.userId} already exists`);
  return [{ type: 'UserCreated', data: user }];
}

function decide(command: UserCommand, state: UserState): UserEvent[] {
  if (command.type === 'CreateUser') {
    if (!command.by.admin) throw new ApiError('forbidden', 'only a Tollgate admin may create users');
    return create(state, { userId: command.userId, ...command.user, createdAt: command.at });
  }
  if (command.type === 'LinkExternalUser') {
    return create(state, {
      userId: command.userId,
      name: externalUserName(command.idp, command.subject),
      kind: 'external',
      admin: false,
      email: command.email,
      idp: command.idp,
      externalSubject: command.subject,
      createdAt: command.at,
    });
  }
  if (command.type === 'CreateBuiltInAdmin') {
    if (state.exists) return [];
    return create(state, {
      userId: BUILT_IN_ADMIN_ID,
      name: BUILT_IN_ADMIN_NAME,
      kind: 'internal',
      admin: true,
      email: null,
      createdAt: command.at,
    });
  }
  if (!state.exists) throw new ApiError('not-found', 'user not found');
  switch (command.type) {
    case 'DeactivateUser':
      // The one admin nobody can lock out: the way back in when every other admin is gone.
      if (state.userId === BUILT_IN_ADMIN_ID)
        throw new ApiError('forbidden', 'the built-in admin cannot be deactivated');
      if (state.deactivatedAt !== null) return [];
      return [{ type: 'UserDeactivated', data: { userId: state.userId, deactivatedAt: command.at } }];
    case 'ReactivateUser':
      if (state.deactivatedAt === null) return [];
      return [{ type: 'UserReactivated', data: { userId: state.userId, reactivatedAt: command.at } }];
    // A deactivated user is denied everywhere, but their groups keep following the IdP, so that a
    // reactivation restores the set the IdP has now, never the one from before the deactivation.
    case 'ReplaceGroups': {
      if (state.groupsRefreshedAt !== null && command.refreshedAt < state.groupsRefreshedAt) return [];
      // A login older than a later edit (an ID token minted before a SCIM removal): the login counts, its
      // groups do not, or the token would bring back a group the IdP has taken away since.
      if (state.groupsChangedAt !== null && command.refreshedAt < state.groupsChangedAt) {
        if (command.refreshedAt === state.groupsRefreshedAt) return [];
        return [groupsRefreshed(state, [...state.groups], command.refreshedAt)];
      }
      const groups = distinctGroups(command.groups);
      if (command.refreshedAt === state.groupsRefreshedAt && sameSet(groups, state.groups)) return [];
      return [groupsRefreshed(state, groups, command.refreshedAt)];
    }
    case 'EditGroups': {
      const removed = new Set(command.remove);
      const groups = distinctGroups([...state.groups, ...command.add]).filter((g) => !removed.has(g));
      if (sameSet(groups, state.groups)) return [];
      if (!command.refresh) return [groupsEdited(state, groups, later(state.groupsChangedAt, command.at))];
      const login = later(state.groupsRefreshedAt, command.at);
      if (state.groupsChangedAt === null || login >= state.groupsChangedAt)
        return [groupsRefreshed(state, groups, login)];
      // A webhook older than a later SCIM edit (deliveries reordered): its edit applies on top of the newer
      // set, and it still counts as a refresh at its own time, which is older than the set's.
      const events = [groupsEdited(state, groups, state.groupsChangedAt)];
      if (login !== state.groupsRefreshedAt) events.push(groupsRefreshed(state, groups, login));
      return events;
    }
  }
}

function evolve(state: UserState, event: UserEvent): UserState {
  const version = state.version + 1;
  switch (event.type) {
    case 'UserCreated': {
      const u = event.data;
      return {
        ...state,
        exists: true,
        version,
        userId: u.userId,
        name: u.name,
        kind: u.kind,
        admin: u.admin,
        email: u.email,
        idp: u.idp ?? null,
        externalSubject: u.externalSubject ?? null,
        createdAt: u.createdAt,
      };
    }
    case 'UserDeactivated':
      return { ...state, version, deactivatedAt: event.data.deactivatedAt };
    case 'UserReactivated':
      return { ...state, version, deactivatedAt: null };
    case 'GroupsRefreshed':
      return {
        ...state,
        version,
        groups: [...event.data.groups],
        groupsRefreshedAt: later(state.groupsRefreshedAt, event.data.refreshedAt),
        groupsChangedAt: later(state.groupsChangedAt, event.data.refreshedAt),
      };
    case 'GroupsEdited':
      return {
        ...state,
        version,
        groups: [...event.data.groups],
        groupsChangedAt: later(state.groupsChangedAt, event.data.editedAt),
      };
    default:
      // Another type on a user stream (a later addition): counted, otherwise ignored.
      return { ...state, version };
  }
}

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  initialState: initialUserState,
  decide,
  evolve,
};

/** The user as the management API shows it. */
export interface UserView {
  id: string;
  name: string;
  kind: UserKind;
  admin: boolean;
  email: string | null;
  createdAt: string;
  deactivatedAt: string | null;
  version: number;
  idp?: string;
  externalSubject?: string;
}

export function userView(state: UserState): UserView {
  return {
    id: state.userId,
    name: state.name,
    kind: state.kind,
    admin: state.admin,
    email: state.email,
    createdAt: state.createdAt!,
    deactivatedAt: state.deactivatedAt,
    version: state.version,
    ...(state.idp !== null ? { idp: state.idp } : {}),
    ...(state.externalSubject !== null ? { externalSubject: state.externalSubject } : {}),
  };
}

/** Name of the external user linked to (`idp`, `sub`), created at first sign-in (CONTRACT section 3). */
export const externalUserName = (idp: string, subject: string): string => `${idp}:${subject}`;
