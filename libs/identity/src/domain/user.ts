import {
  ApiError,
  type GroupsRefreshed,
  type UserCreated,
  type UserDeactivated,
  type UserKind,
} from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import { distinctGroups, sameSet } from './actor';

/** The built-in admin (docs/SERVICES.md): created at first start, stream `user-usr_admin`. */
export const BUILT_IN_ADMIN_ID = 'usr_admin';
export const BUILT_IN_ADMIN_NAME = 'admin';

export type UserEvent =
  | { type: 'UserCreated'; data: UserCreated }
  | { type: 'UserDeactivated'; data: UserDeactivated }
  | { type: 'GroupsRefreshed'; data: GroupsRefreshed };

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
  groupsRefreshedAt: string | null;
}

export type UserCommand =
  | { type: 'CreateUser'; user: UserCreated }
  /** Deactivation is final; a repeat is a no-op. */
  | { type: 'DeactivateUser'; at: string }
  /**
   * The whole group set as the IdP sees it at `refreshedAt` (sign-in, `user.groups.changed`). A set older
   * than the one the user has is stale and changes nothing.
   */
  | { type: 'ReplaceGroups'; groups: readonly string[]; refreshedAt: string }
  /** Membership edits (SCIM, `group.member.*`, `group.deleted`): the resulting full set is emitted. */
  | { type: 'EditGroups'; add: readonly string[]; remove: readonly string[]; at: string };

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
};

const later = (a: string | null, b: string): string => (a !== null && a > b ? a : b);

function groupsRefreshed(state: UserState, groups: string[], refreshedAt: string): UserEvent {
  return { type: 'GroupsRefreshed', data: { userId: state.userId, groups, refreshedAt } };
}

function decide(command: UserCommand, state: UserState): UserEvent[] {
  if (command.type === 'CreateUser') {
    if (state.exists) throw new ApiError('conflict', `user ${command.user.userId} already exists`);
    return [{ type: 'UserCreated', data: command.user }];
  }
  if (!state.exists) throw new ApiError('not-found', 'user not found');
  switch (command.type) {
    case 'DeactivateUser':
      if (state.deactivatedAt !== null) return [];
      return [{ type: 'UserDeactivated', data: { userId: state.userId, deactivatedAt: command.at } }];
    case 'ReplaceGroups': {
      // A deactivated user is denied everywhere; its groups no longer matter and are left as they were.
      if (state.deactivatedAt !== null) return [];
      if (state.groupsRefreshedAt !== null && command.refreshedAt < state.groupsRefreshedAt) return [];
      const groups = distinctGroups(command.groups);
      if (command.refreshedAt === state.groupsRefreshedAt && sameSet(groups, state.groups)) return [];
      return [groupsRefreshed(state, groups, command.refreshedAt)];
    }
    case 'EditGroups': {
      if (state.deactivatedAt !== null) return [];
      const removed = new Set(command.remove);
      const groups = distinctGroups([...state.groups, ...command.add]).filter((g) => !removed.has(g));
      if (sameSet(groups, state.groups)) return [];
      return [groupsRefreshed(state, groups, later(state.groupsRefreshedAt, command.at))];
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
    case 'GroupsRefreshed':
      return { ...state, version, groups: [...event.data.groups], groupsRefreshedAt: event.data.refreshedAt };
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
