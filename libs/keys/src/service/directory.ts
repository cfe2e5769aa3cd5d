import { ApiError, INVOKING_ROLES, type ProjectRole } from '@tollgate/contracts';

/**
 * What the keys service reads about users, projects and deployments. The identity service owns them and
 * the keys service never calls it: these come from the process's access model (the projection of the
 * identity events), see `accessModelDirectory`.
 */
export interface DirectoryUser {
  userId: string;
  name: string;
  /** `internal`, `external` or `machine` (machine users may get longer service tokens). */
  kind: string;
  deactivated: boolean;
}

export interface DirectoryDeployment {
  deploymentId: string;
  projectId: string;
}

export interface DirectoryProject {
  projectId: string;
}

export interface Directory {
  /**
   * `arrival`: when the request arrived; with it, a miss (or a deactivated user) waits (bounded by the staleness bound) until the
   * model has applied everything committed before it. Without it, the model's current answer.
   */
  user(userId: string, arrival?: number): Promise<DirectoryUser | undefined>;
  users(): Iterable<DirectoryUser>;
  deployment(deploymentId: string, arrival: number): Promise<DirectoryDeployment | undefined>;
  project(projectId: string, arrival: number): Promise<DirectoryProject | undefined>;
  /** The deployments of a project (the model's current answer). */
  deploymentsOf(projectId: string): DirectoryDeployment[];
  /** Users whose current group set holds `group` (the model's current answer). */
  groupMembers(group: string): string[];
  /**
   * Users who may invoke the deployment now as the decision sees it: collaborators of its project with an
   * invoking role, and users whose groups meet its `grantedGroups` (login age aside).
   */
  invokers(deploymentId: string): string[];
  /** The caller's role in a project; a missing or insufficient role is looked up again once the model caught up. */
  roleOf(
    projectId: string,
    userId: string,
    arrival: number,
    enough: (role: ProjectRole | undefined) => boolean,
  ): Promise<ProjectRole | undefined>;
}

/** The subset of `@tollgate/access-model`'s `AccessModel` and `Freshness` the directory uses. */
interface ModelUser {
  userId: string;
  name: string;
  kind: string;
  deactivated: boolean;
  groups: ReadonlySet<string>;
}

interface ModelDeployment {
  deploymentId: string;
  projectId: string;
  grantedGroups: ReadonlySet<string>;
}

export interface AccessModelView {
  user(userId: string): ModelUser | undefined;
  allUsers(): Iterable<ModelUser>;
  deploymentById(deploymentId: string): ModelDeployment | undefined;
  deployments(): Iterable<ModelDeployment>;
  project(projectId: string): { projectId: string } | undefined;
  roleOf(projectId: string, userId: string): ProjectRole | undefined;
  collaborators(projectId: string): ReadonlyMap<string, ProjectRole>;
  /** Published, unretired signing keys of both writers (for the JWKS). */
  signingKeys(): Iterable<{ kid: string; publicJwk: object; activatesAt: number }>;
}

export interface FreshnessView {
  readonly maxStalenessMs: number;
  waitForWatermark(timestamp: number, timeoutMs: number): Promise<boolean>;
}

/**
 * The directory on the access model. An answer that would refuse the caller (unknown user or deployment,
 * missing role) may only mean the model has not applied a very recent identity event yet: it is asked
 * again once the watermark passed the request's arrival (waiting at most the staleness bound). When the
 * watermark does not get there in time (identity's relay failing over, Kafka away), the refusal would be a
 * guess: 503 `unavailable` with Retry-After, as the caller authenticator answers when stale. The fault suite
 * found it: a key for a user whose creation was acknowledged a moment before was answered 404 during an
 * identity failover, and a client takes a 404 as final.
 */
export function accessModelDirectory(model: AccessModelView, freshness: FreshnessView): Directory {
  async function lookup<T>(get: () => T, good: (value: T) => boolean, arrival: number | undefined): Promise<T> {
    const first = get();
    if (good(first) || arrival === undefined) return first;
    if (!(await freshness.waitForWatermark(arrival, freshness.maxStalenessMs))) {
      throw new ApiError(
        'unavailable',
        'access data has not caught up with this request yet; retry shortly',
        undefined,
        {
          'Retry-After': '1',
        },
      );
    }
    return get();
  }
  const asUser = (u: ModelUser | undefined): DirectoryUser | undefined =>
    u && { userId: u.userId, name: u.name, kind: u.kind, deactivated: u.deactivated };
  const asDeployment = (d: ModelDeployment): DirectoryDeployment => ({
    deploymentId: d.deploymentId,
    projectId: d.projectId,
  });
  const members = (groups: ReadonlySet<string>): string[] => {
    if (groups.size === 0) return [];
    const out: string[] = [];
    for (const u of model.allUsers()) if ([...u.groups].some((g) => groups.has(g))) out.push(u.userId);
    return out;
  };
  return {
    user: (userId, arrival) =>
      lookup(
        () => asUser(model.user(userId)),
        // Deactivated refuses too: a reactivation the model has not applied yet must not answer 409.
        (u) => u !== undefined && !u.deactivated,
        arrival,
      ),
    *users() {
      for (const u of model.allUsers()) yield asUser(u)!;
    },
    deployment: (deploymentId, arrival) =>
      lookup(
        () => {
          const d = model.deploymentById(deploymentId);
          return d && { deploymentId: d.deploymentId, projectId: d.projectId };
        },
        (d) => d !== undefined,
        arrival,
      ),
    roleOf: (projectId, userId, arrival, enough) => lookup(() => model.roleOf(projectId, userId), enough, arrival),
    project: (projectId, arrival) =>
      lookup(
        () => {
          const p = model.project(projectId);
          return p && { projectId: p.projectId };
        },
        (p) => p !== undefined,
        arrival,
      ),
    deploymentsOf: (projectId) => [...model.deployments()].filter((d) => d.projectId === projectId).map(asDeployment),
    groupMembers: (group) => members(new Set([group])),
    invokers(deploymentId) {
      const d = model.deploymentById(deploymentId);
      if (!d) return [];
      const collaborators = [...model.collaborators(d.projectId)]
        .filter(([, role]) => INVOKING_ROLES.includes(role))
        .map(([userId]) => userId);
      return [...new Set([...collaborators, ...members(d.grantedGroups)])];
    },
  };
}
