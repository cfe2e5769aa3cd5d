import { type DeploymentState, normalizeHost, normalizeRequestPath } from '@tollgate/contracts';

/** A host and path prefix a deployment routes on, as the authorizer matches them. */
export interface Route {
  host: string;
  pathPrefix: string;
}

/** The routes (host × path prefix) a deployment claims, in the form the authorizer matches them in. */
export function routesOf(deployment: Pick<DeploymentState, 'hosts' | 'pathPrefixes'>): Route[] {
  const routes = new Map<string, Route>();
  for (const host of deployment.hosts.map(normalizeHost)) {
    for (const pathPrefix of deployment.pathPrefixes.map(normalizeRequestPath)) {
      // A prefix stored before prefixes had to be written decoded, and malformed: it routes nowhere.
      if (pathPrefix !== undefined) routes.set(`${host} ${pathPrefix}`, { host, pathPrefix });
    }
  }
  return [...routes.values()];
}

export const sameRoute = (a: Route, b: Route): boolean => a.host === b.host && a.pathPrefix === b.pathPrefix;

/** The routes of `a` that `b` does not have. */
export const routesMinus = (a: readonly Route[], b: readonly Route[]): Route[] =>
  a.filter((r) => !b.some((x) => sameRoute(r, x)));
