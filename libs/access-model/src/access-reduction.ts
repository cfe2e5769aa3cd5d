import type { CredentialKind, DomainEvent, ProjectRole } from '@tollgate/contracts';

/**
 * Which events can take access away (CONTRACT.md section 3, "Events of a write"): those are confirmable per
 * replica at `GET /v1/revocations/{eventId}` and measured by the propagation metrics. Pure: the answer
 * depends on the event and on what the projection held just before it (groups shrunk or grown, a role
 * lowered or raised), never on a clock or on I/O.
 */

/** What the projection held, before the event, about the thing the event changes. */
export interface PriorFacts {
  /** `CollaboratorSet`: the user's role in the project, if any. */
  role?: ProjectRole;
  /** `DeploymentUpdated`: the deployment as it was (undefined: not known yet). */
  deployment?: {
    authentication: boolean;
    credentialKinds: ReadonlySet<CredentialKind>;
    grantedGroups: ReadonlySet<string>;
    hosts: readonly string[];
    pathPrefixes: readonly string[];
  };
  /** `GroupsRefreshed`, `GroupsEdited`: the user's group set (undefined: none known yet). */
  groups?: ReadonlySet<string>;
  /** `ExternalAccessPolicyChanged`: `requireExternalUserLoginAfterHours` in force. */
  requireExternalUserLoginAfterHours?: number;
}

const RANK: Record<ProjectRole, number> = { viewer: 0, contributor: 1, admin: 2, owner: 3 };

/** How long an external login stays good, in hours: -1 is forever, 0 never (external access disabled). */
const loginWindow = (hours: number): number => (hours < 0 ? Number.POSITIVE_INFINITY : hours);

const lost = <T>(before: Iterable<T>, after: ReadonlySet<T>): boolean => [...before].some((x) => !after.has(x));

/** Same members, order and repeats aside (hosts compare case-insensitively, paths exactly). */
const sameSet = (a: readonly string[], b: readonly string[], key: (s: string) => string = (s) => s): boolean => {
  const norm = (list: readonly string[]) => [...new Set(list.map(key))].sort().join('\n');
  return norm(a) === norm(b);
};

/** True when applying `event` on top of `prior` can refuse a check that was allowed before. */
export function reducesAccess(event: DomainEvent, prior: PriorFacts): boolean {
  switch (event.type) {
    case 'KeyRevoked':
    // A rotation ends the old key at `revokesAt`: once a replica applied it, it refuses the key from then on.
    case 'KeyRotated':
    case 'UserDeactivated':
    case 'CollaboratorRemoved':
      return true;
    case 'CollaboratorSet':
      return prior.role !== undefined && RANK[event.data.role] < RANK[prior.role];
    case 'GroupsRefreshed':
    case 'GroupsEdited':
      return prior.groups !== undefined && lost(prior.groups, new Set(event.data.groups));
    case 'DeploymentUpdated': {
      const before = prior.deployment;
      // An update seen before its deployment: what it changed is unknown, so it counts (never under-confirm).
      if (!before) return true;
      const d = event.data;
      return (
        (!before.authentication && d.authentication) ||
        lost(before.credentialKinds, new Set(d.credentialKinds)) ||
        lost(before.grantedGroups, new Set(d.grantedGroups)) ||
        !sameSet(before.hosts, d.hosts, (h) => h.toLowerCase()) ||
        !sameSet(before.pathPrefixes, d.pathPrefixes)
      );
    }
    case 'ExternalAccessPolicyChanged': {
      const before = prior.requireExternalUserLoginAfterHours ?? -1;
      return loginWindow(event.data.requireExternalUserLoginAfterHours) < loginWindow(before);
    }
    default:
      return false;
  }
}
