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

/** What `POST /v1/deployments` names: the project, the name, and any field that is not to keep its default. */
export interface NewDeployment extends Partial<DeploymentFields> {
  projectId: string;
  name: string;
}

export type DeploymentCommand =
  | { type: 'CreateDeployment'; access: ProjectAccess; deploymentId: string; deployment: NewDeployment }
  | { type: 'UpdateDeployment'; access: ProjectAccess; changes: DeploymentChanges; ifMatch?: number };

/** Defaults of `POST /v1/deployments` (CONTRACT section 3). */
const DEPLOYMENT_DEFAULTS = {
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

/** A host a deployment is about to route on, and the project that owns it (the first to name it). */
export interface HostClaim {
  host: string;
  ownerProjectId: string;
  /** May the caller manage the owning project (its owner or admin, or a Tollgate admin)? */
  callerManagesOwner: boolean;
}

/**
 * A host belongs to the project whose deployment first named it; only that project's owner or admin, or a
 * Tollgate admin, may put a deployment of another project on it, or a new path prefix of such a deployment
 * (CONTRACT.md section 3). Else 409: longest-prefix routing would hand the owner's traffic to it.
 */
export function assertHostsAvailable(projectId: string, claims: readonly HostClaim[]): void {
  const taken = claims.filter((c) => c.ownerProjectId !== projectId && !c.callerManagesOwner);
  if (taken.length === 0) return;
  throw new ApiError(
    'conflict',
    `host ${taken[0]!.host} belongs to another project: only its owner or admin, or a Tollgate admin, may add a deployment on it`,
    taken.map((c) => ({ field: 'hosts', message: `${c.host} belongs to another project` })),
  );
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

/** A new deployment: the fields `input` names, the defaults of the others. */
function withDefaults(deploymentId: string, input: NewDeployment): DeploymentState {
  return {
    deploymentId,
    projectId: input.projectId,
    name: input.name,
    hosts: input.hosts ?? DEPLOYMENT_DEFAULTS.hosts,
    pathPrefixes: input.pathPrefixes ?? DEPLOYMENT_DEFAULTS.pathPrefixes,
    authentication: input.authentication ?? DEPLOYMENT_DEFAULTS.authentication,
    credentialKinds: input.credentialKinds ?? DEPLOYMENT_DEFAULTS.credentialKinds,
    grantedGroups: input.grantedGroups ?? DEPLOYMENT_DEFAULTS.grantedGroups,
    environment: input.environment ?? DEPLOYMENT_DEFAULTS.environment,
  };
}

function decide(command: DeploymentCommand, state: DeploymentAggregate): DeploymentEvent[] {
  if (command.type === 'CreateDeployment') {
    // The deployment does not exist yet: what the caller may not see or manage is its project.
    if (!command.access.canSee) throw new ApiError('not-found', 'project not found');
    if (!command.access.canManage) {
      throw new ApiError('forbidden', 'only the project owner or admin, or a Tollgate admin, may add deployments');
    }
    if (state.exists) throw new ApiError('conflict', `deployment ${command.deploymentId} already exists`);
    return [{ type: 'DeploymentCreated', data: withDefaults(command.deploymentId, command.deployment) }];
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
