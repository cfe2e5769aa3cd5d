import type { DeploymentFacts, UserFacts } from '@tollgate/decision';
import type { DeploymentRecord, UserRecord } from './types';

const userFacts = new WeakMap<UserRecord, UserFacts>();
const deploymentFacts = new WeakMap<DeploymentRecord, DeploymentFacts>();

/**
 * A user record as the decision function's `UserFacts`. Records are immutable (an event replaces them),
 * so the result is computed once per record and shared; treat it as read-only.
 */
export function toUserFacts(user: UserRecord): UserFacts {
  let facts = userFacts.get(user);
  if (facts === undefined) {
    facts = Object.freeze({
      id: user.userId,
      name: user.name,
      kind: user.kind,
      deactivated: user.deactivated,
      groups: Object.freeze([...user.groups]),
      ...(user.groupsRefreshedAt !== null ? { groupsRefreshedAt: user.groupsRefreshedAt } : {}),
      ...(user.groupsChangedAt !== null ? { groupsChangedAt: user.groupsChangedAt } : {}),
      admin: user.admin,
    });
    userFacts.set(user, facts);
  }
  return facts;
}

/** A deployment record as the decision function's `DeploymentFacts` (computed once per record, read-only). */
export function toDeploymentFacts(deployment: DeploymentRecord): DeploymentFacts {
  let facts = deploymentFacts.get(deployment);
  if (facts === undefined) {
    facts = Object.freeze({
      id: deployment.deploymentId,
      projectId: deployment.projectId,
      authentication: deployment.authentication,
      credentialKinds: Object.freeze([...deployment.credentialKinds]),
      grantedGroups: Object.freeze([...deployment.grantedGroups]),
      ...(deployment.environment !== null ? { environment: deployment.environment } : {}),
    });
    deploymentFacts.set(deployment, facts);
  }
  return facts;
}
