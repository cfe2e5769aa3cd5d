import { ALL_CREDENTIAL_KINDS, ApiError, type CredentialKind, type DeploymentState } from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import { sameSet } from './actor';

export type DeploymentEvent =
  { type: 'DeploymentCreated'; data: DeploymentState } | { type: 'DeploymentUpdated'; data: DeploymentState };

/** What the caller may do with the deployment's project (computed from the project's state). */
export interface ProjectAccess {
  canSee: boolean;
  canManage: boolean;
}

export type DeploymentFields = Omit<DeploymentState, 'deploymentId' | 'projectId'>;
/** PATCH: any field but `projectId`. */
export type DeploymentChanges = Partial<DeploymentFields>;

export interface DeploymentAggregate {
  exists: boolean;
  version: number;
  deployment: DeploymentState | null;
}

export type DeploymentCommand =
  | { type: 'CreateDeployment'; access: ProjectAccess; deployment: DeploymentState }
  | { type: 'UpdateDeployment'; access: ProjectAccess; changes: DeploymentChanges; ifMatch?: number };

/** Defaults of `POST /v1/deployments` (CONTRACT section 3). */
export const DEPLOYMENT_DEFAULTS = {
  hosts: [] as string[],
  pathPrefixes: ['/'],
  authentication: true,
  credentialKinds: [...ALL_CREDENTIAL_KINDS] as CredentialKind[],
  grantedGroups: [] as string[],
  environment: null as string | null,
};

export const initialDeploymentState: DeploymentAggregate = { exists: false, version: 0, deployment: null };

function assertAccess(access: ProjectAccess): void {
  if (!access.canSee) throw new ApiError('not-found', 'deployment not found');
  if (!access.canManage) {
    throw new ApiError('forbidden', 'only the project owner or admin, or a Tollgate admin, may change its deployments');
  }
}

function sameDeployment(a: DeploymentState, b: DeploymentState): boolean {
  return (
    a.name === b.name &&
    a.authentication === b.authentication &&
    a.environment === b.environment &&
    sameSet(a.hosts, b.hosts) &&
    sameSet(a.pathPrefixes, b.pathPrefixes) &&
    sameSet(a.credentialKinds, b.credentialKinds) &&
    sameSet(a.grantedGroups, b.grantedGroups)
  );
}

/** The deployment after `changes` (fields not named keep their value). */
export function applyChanges(current: DeploymentState, changes: DeploymentChanges): DeploymentState {
  const next = { ...current };
  for (const [field, value] of Object.entries(changes) as [keyof DeploymentFields, never][]) {
    if (value !== undefined) next[field] = value;
  }
  return next;
}

function decide(command: DeploymentCommand, state: DeploymentAggregate): DeploymentEvent[] {
  if (command.type === 'CreateDeployment') {
    assertAccess(command.access);
    if (state.exists) throw new ApiError('conflict', `deployment ${command.deployment.deploymentId} already exists`);
    return [{ type: 'DeploymentCreated', data: command.deployment }];
  }
  if (!state.exists) throw new ApiError('not-found', 'deployment not found');
  assertAccess(command.access);
  if (command.ifMatch !== undefined && command.ifMatch !== state.version) {
    throw new ApiError(
      'version-conflict',
      `deployment is at version ${state.version}, If-Match said ${command.ifMatch}`,
    );
  }
  const next = applyChanges(state.deployment!, command.changes);
  if (sameDeployment(next, state.deployment!)) return [];
  return [{ type: 'DeploymentUpdated', data: next }];
}

function evolve(state: DeploymentAggregate, event: DeploymentEvent): DeploymentAggregate {
  switch (event.type) {
    case 'DeploymentCreated':
    case 'DeploymentUpdated':
      return { exists: true, version: state.version + 1, deployment: { ...event.data } };
    default:
      return { ...state, version: state.version + 1 };
  }
}

export const deploymentDecider: Decider<DeploymentCommand, DeploymentEvent, DeploymentAggregate> = {
  initialState: initialDeploymentState,
  decide,
  evolve,
};

export interface DeploymentView extends Omit<DeploymentState, 'deploymentId'> {
  id: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export function deploymentView(
  state: DeploymentAggregate,
  times: { createdAt: string; updatedAt: string },
): DeploymentView {
  const { deploymentId, ...rest } = state.deployment!;
  return { id: deploymentId, ...rest, createdAt: times.createdAt, updatedAt: times.updatedAt, version: state.version };
}
