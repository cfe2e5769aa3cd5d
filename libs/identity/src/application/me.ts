import type { AccessModel, DeploymentRecord, UserRecord } from '@tollgate/access-model';
import { ApiError } from '@tollgate/contracts';
import { type CredentialKind, decide, type ResolvedCaller, type UserFacts } from '@tollgate/decision';
import type { Caller } from '@tollgate/platform';
import { userView } from '../domain/user';
import type { UsersService } from './users.service';

export interface MeView {
  id: string;
  name: string;
  kind: 'internal' | 'external' | 'machine';
  admin: boolean;
  /** `refreshedAt`: the login clock (null: provisioned by SCIM, never signed in since). */
  groups: { name: string; refreshedAt: string | null }[];
  /** With the hosts and path prefixes to send requests to (the console's snippets). */
  deployments: { id: string; name: string; projectId: string; hosts: string[]; pathPrefixes: string[] }[];
}

/** The credential kind a request proved the caller with, as the authorizer would see that user's credential. */
function credentialKindOf(caller: Caller): CredentialKind {
  switch (caller.via) {
    case 'jwt':
      return 'jwt';
    case 'service-token':
      return 'service-token';
    default:
      // A management key (or the bootstrap credential) cannot invoke; the user invokes with their API keys.
      return 'api-key';
  }
}

const userFacts = (user: UserRecord): UserFacts => ({
  id: user.userId,
  name: user.name,
  kind: user.kind,
  deactivated: user.deactivated,
  groups: [...user.groups],
  groupsRefreshedAt: user.groupsRefreshedAt ?? undefined,
  groupsChangedAt: user.groupsChangedAt ?? undefined,
  admin: user.admin,
});

/**
 * The deployments `caller` may invoke now: the decision function of the authorizer, over the access model,
 * for each deployment, with a valid credential of the kind this request used (`api-key` for a management
 * key: the user's inference keys). Admins get no implicit right, exactly as in the authorizer.
 */
export function invocableDeployments(model: AccessModel, caller: Caller, now: number): MeView['deployments'] {
  const user = model.user(caller.userId);
  if (user === undefined) return [];
  const resolved: ResolvedCaller = {
    kind: credentialKindOf(caller),
    scope: 'any',
    user: userFacts(user),
    ...(caller.via === 'service-token' ? { issuer: 'tollgate' } : {}),
  };
  const policy = model.policy();
  const out: MeView['deployments'] = [];
  for (const deployment of model.deployments() as Iterable<DeploymentRecord>) {
    const decision = decide({
      fresh: true,
      deployment: {
        id: deployment.deploymentId,
        projectId: deployment.projectId,
        authentication: deployment.authentication,
        credentialKinds: [...deployment.credentialKinds],
        grantedGroups: [...deployment.grantedGroups],
        ...(deployment.environment !== null ? { environment: deployment.environment } : {}),
      },
      credential: { ok: true, caller: resolved },
      role: model.roleOf(deployment.projectId, user.userId),
      policy,
      now,
    });
    if (decision.allowed)
      out.push({
        id: deployment.deploymentId,
        name: deployment.name,
        projectId: deployment.projectId,
        hosts: [...deployment.hosts],
        pathPrefixes: [...deployment.pathPrefixes],
      });
  }
  return out.sort((a, b) => (a.name === b.name ? (a.id < b.id ? -1 : 1) : a.name < b.name ? -1 : 1));
}

/** `GET /v1/me`: who I am (from the identity store, read-your-writes) and what I may invoke (from the access model). */
export async function me(
  users: Pick<UsersService, 'loadUser'>,
  model: AccessModel,
  caller: Caller,
  now: number,
): Promise<MeView> {
  const { state } = await users.loadUser(caller.userId);
  if (!state.exists) throw new ApiError('not-found', 'user not found');
  const view = userView(state);
  const refreshedAt = state.groupsRefreshedAt;
  return {
    id: view.id,
    name: view.name,
    kind: view.kind,
    admin: view.admin,
    groups: state.groups.map((name) => ({ name, refreshedAt })),
    deployments: invocableDeployments(model, caller, now),
  };
}
