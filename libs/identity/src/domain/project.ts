import {
  ApiError,
  type CollaboratorRemoved,
  type CollaboratorSet,
  type ProjectCreated,
  type ProjectRole,
  type UserKind,
} from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import type { Actor } from './actor';

export type ProjectEvent =
  | { type: 'ProjectCreated'; data: ProjectCreated }
  | { type: 'CollaboratorSet'; data: CollaboratorSet }
  | { type: 'CollaboratorRemoved'; data: CollaboratorRemoved };

export interface ProjectState {
  exists: boolean;
  version: number;
  projectId: string;
  name: string;
  ownerId: string;
  createdAt: string | null;
  /** userId → role; the creator is `owner` from `ProjectCreated` on. Insertion order is kept. */
  collaborators: ReadonlyMap<string, ProjectRole>;
}

/** The user creating a project, as their stream says now. */
export interface ProjectCreator {
  userId: string;
  exists: boolean;
  deactivated: boolean;
  kind: UserKind;
}

export type ProjectCommand =
  /** The creator becomes the project's first owner. */
  | { type: 'CreateProject'; projectId: string; name: string; creator: ProjectCreator; at: string }
  | { type: 'SetCollaborator'; by: Actor; userId: string; role: ProjectRole; ifMatch?: number }
  | { type: 'RemoveCollaborator'; by: Actor; userId: string; ifMatch?: number };

export const initialProjectState: ProjectState = {
  exists: false,
  version: 0,
  projectId: '',
  name: '',
  ownerId: '',
  createdAt: null,
  collaborators: new Map(),
};

/** Roles that may change a project's collaborators and deployments (besides Tollgate admins). */
const MANAGING_ROLES: ReadonlySet<ProjectRole> = new Set(['owner', 'admin']);

/** A Tollgate admin sees every project; anyone else only the projects they collaborate on. */
export function canSeeProject(state: ProjectState, by: Actor): boolean {
  return state.exists && (by.admin || state.collaborators.has(by.userId));
}

export function canManageProject(state: ProjectState, by: Actor): boolean {
  if (!state.exists) return false;
  if (by.admin) return true;
  const role = state.collaborators.get(by.userId);
  return role !== undefined && MANAGING_ROLES.has(role);
}

/**
 * 404 for a project the caller may not see (CONTRACT section 3: nothing reveals other people's objects),
 * 403 for a collaborator whose role may not manage it.
 */
export function assertCanManageProject(state: ProjectState, by: Actor): void {
  if (!canSeeProject(state, by)) throw new ApiError('not-found', 'project not found');
  if (!canManageProject(state, by)) {
    throw new ApiError('forbidden', 'only the project owner or admin, or a Tollgate admin, may change this project');
  }
}

function assertVersion(state: ProjectState, ifMatch: number | undefined): void {
  if (ifMatch !== undefined && ifMatch !== state.version) {
    throw new ApiError('version-conflict', `project is at version ${state.version}, If-Match said ${ifMatch}`);
  }
}

/**
 * Ownership is given and taken only by an owner (or a Tollgate admin): a project `admin` may manage
 * collaborators and deployments, but not make anyone (itself included) owner, nor demote or remove an owner.
 */
function assertOwnerChange(state: ProjectState, by: Actor): void {
  if (by.admin || state.collaborators.get(by.userId) === 'owner') return;
  throw new ApiError(
    'forbidden',
    'only an owner of the project, or a Tollgate admin, may grant, demote or remove an owner',
  );
}

const owners = (state: ProjectState): number => [...state.collaborators.values()].filter((r) => r === 'owner').length;

function decide(command: ProjectCommand, state: ProjectState): ProjectEvent[] {
  if (command.type === 'CreateProject') {
    const { creator } = command;
    // External users come and go with their IdP: a project they owned would outlive their access to it.
    if (!creator.exists || creator.deactivated || creator.kind === 'external') {
      throw new ApiError('forbidden', 'projects are created by internal or machine users');
    }
    if (state.exists) throw new ApiError('conflict', `project ${command.projectId} already exists`);
    const project: ProjectCreated = {
      projectId: command.projectId,
      name: command.name,
      ownerId: creator.userId,
      createdAt: command.at,
    };
    return [{ type: 'ProjectCreated', data: project }];
  }
  assertCanManageProject(state, command.by);
  assertVersion(state, command.ifMatch);
  const current = state.collaborators.get(command.userId);
  if (command.type === 'SetCollaborator') {
    if (current === command.role) return [];
    if (command.role === 'owner' || current === 'owner') assertOwnerChange(state, command.by);
    if (current === 'owner' && owners(state) === 1) {
      throw new ApiError('conflict', 'a project keeps at least one owner: make someone else owner first');
    }
    return [
      { type: 'CollaboratorSet', data: { projectId: state.projectId, userId: command.userId, role: command.role } },
    ];
  }
  if (current === undefined) throw new ApiError('not-found', 'collaborator not found');
  if (current === 'owner') assertOwnerChange(state, command.by);
  if (current === 'owner' && owners(state) === 1) {
    throw new ApiError('conflict', 'a project keeps at least one owner: make someone else owner first');
  }
  return [{ type: 'CollaboratorRemoved', data: { projectId: state.projectId, userId: command.userId } }];
}

function evolve(state: ProjectState, event: ProjectEvent): ProjectState {
  const version = state.version + 1;
  switch (event.type) {
    case 'ProjectCreated': {
      const p = event.data;
      return {
        exists: true,
        version,
        projectId: p.projectId,
        name: p.name,
        ownerId: p.ownerId,
        createdAt: p.createdAt,
        collaborators: new Map([[p.ownerId, 'owner']]),
      };
    }
    case 'CollaboratorSet': {
      const collaborators = new Map(state.collaborators);
      collaborators.set(event.data.userId, event.data.role);
      return { ...state, version, collaborators };
    }
    case 'CollaboratorRemoved': {
      const collaborators = new Map(state.collaborators);
      collaborators.delete(event.data.userId);
      return { ...state, version, collaborators };
    }
    default:
      return { ...state, version };
  }
}

export const projectDecider: Decider<ProjectCommand, ProjectEvent, ProjectState> = {
  initialState: initialProjectState,
  decide,
  evolve,
};

export interface ProjectView {
  id: string;
  name: string;
  createdAt: string;
  version: number;
}

export const projectView = (state: ProjectState): ProjectView => ({
  id: state.projectId,
  name: state.name,
  createdAt: state.createdAt!,
  version: state.version,
});

export const collaboratorsView = (state: ProjectState): { userId: string; role: ProjectRole }[] =>
  [...state.collaborators].map(([userId, role]) => ({ userId, role }));
