import type { ProjectRole } from '@tollgate/contracts';

/**
 * What the keys service reads about users, projects and deployments. The identity service owns them and
 * the keys service never calls it: these come from the process's access model (the projection of the
 * identity events), see `accessModelDirectory`.
 */
export interface DirectoryUser {
  userId: string;
  name: string;
  deactivated: boolean;
}

export interface DirectoryDeployment {
  deploymentId: string;
  projectId: string;
}

export interface Directory {
  /**
   * `arrival`: when the request arrived; with it, a miss waits (bounded by the staleness bound) until the
   * model has applied everything committed before it. Without it, the model's current answer.
   */
  user(userId: string, arrival?: number): Promise<DirectoryUser | undefined>;
  users(): Iterable<DirectoryUser>;
  deployment(deploymentId: string, arrival: number): Promise<DirectoryDeployment | undefined>;
  /** The caller's role in a project; a missing or insufficient role is looked up again once the model caught up. */
  roleOf(
    projectId: string,
    userId: string,
    arrival: number,
    enough: (role: ProjectRole | undefined) => boolean,
  ): Promise<ProjectRole | undefined>;
}

/** The subset of `@tollgate/access-model`'s `AccessModel` and `Freshness` the directory uses. */
export interface AccessModelView {
  user(userId: string): { userId: string; name: string; deactivated: boolean } | undefined;
  allUsers(): Iterable<{ userId: string; name: string; deactivated: boolean }>;
  deploymentById(deploymentId: string): { deploymentId: string; projectId: string } | undefined;
  roleOf(projectId: string, userId: string): ProjectRole | undefined;
}

export interface FreshnessView {
  readonly maxStalenessMs: number;
  waitForWatermark(timestamp: number, timeoutMs: number): Promise<boolean>;
}

/**
 * The directory on the access model. An answer that would refuse the caller (unknown user or deployment,
 * missing role) may only mean the model has not applied a very recent identity event yet: it is asked
 * again once the watermark passed the request's arrival (waiting at most the staleness bound).
 */
export function accessModelDirectory(model: AccessModelView, freshness: FreshnessView): Directory {
  async function lookup<T>(get: () => T, good: (value: T) => boolean, arrival: number | undefined): Promise<T> {
    const first = get();
    if (good(first) || arrival === undefined) return first;
    if (!(await freshness.waitForWatermark(arrival, freshness.maxStalenessMs))) return first;
    return get();
  }
  const asUser = (u: { userId: string; name: string; deactivated: boolean } | undefined): DirectoryUser | undefined =>
    u && { userId: u.userId, name: u.name, deactivated: u.deactivated };
  return {
    user: (userId, arrival) =>
      lookup(
        () => asUser(model.user(userId)),
        (u) => u !== undefined,
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
  };
}
