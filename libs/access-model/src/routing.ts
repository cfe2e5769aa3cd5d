import { normalizeHost, normalizeRequestPath } from '@tollgate/contracts';
import type { DeploymentRecord } from './types';

/**
 * Host → prefix → deployments. A lookup normalizes the request path (`normalizeRequestPath`: decoded once,
 * slashes merged, dot segments resolved; an encoded `/` or `\`, NUL or a malformed escape routes nowhere),
 * then walks it up one segment at a time, so a prefix
 * matches only at a segment boundary and the longest prefix wins. Two deployments claiming the same host
 * and prefix (the writer refuses it; a race could still show it) resolve to the smallest id, whatever the
 * order events arrived in.
 */
export class RouteTable {
  private readonly byHost = new Map<string, Map<string, string[]>>();

  add(deployment: DeploymentRecord): void {
    for (const [host, prefix] of routesOf(deployment)) {
      let prefixes = this.byHost.get(host);
      if (!prefixes) this.byHost.set(host, (prefixes = new Map()));
      const ids = prefixes.get(prefix);
      if (!ids) prefixes.set(prefix, [deployment.deploymentId]);
      else if (!ids.includes(deployment.deploymentId)) {
        ids.push(deployment.deploymentId);
        ids.sort();
      }
    }
  }

  remove(deployment: DeploymentRecord): void {
    for (const [host, prefix] of routesOf(deployment)) {
      const prefixes = this.byHost.get(host);
      const ids = prefixes?.get(prefix);
      if (!prefixes || !ids) continue;
      const i = ids.indexOf(deployment.deploymentId);
      if (i !== -1) ids.splice(i, 1);
      if (ids.length === 0) prefixes.delete(prefix);
      if (prefixes.size === 0) this.byHost.delete(host);
    }
  }

  /** The deployment id for a request, or undefined. */
  route(host: string, path: string): string | undefined {
    const prefixes = this.byHost.get(normalizeHost(host));
    if (!prefixes) return undefined;
    let p = normalizeRequestPath(path);
    if (p === undefined) return undefined;
    for (;;) {
      const ids = prefixes.get(p);
      if (ids) return ids[0];
      if (p === '/') return undefined;
      const slash = p.lastIndexOf('/');
      p = slash <= 0 ? '/' : p.slice(0, slash);
    }
  }
}

function routesOf(deployment: DeploymentRecord): [string, string][] {
  const routes: [string, string][] = [];
  for (const host of new Set(deployment.hosts.map(normalizeHost))) {
    for (const prefix of prefixesOf(deployment)) routes.push([host, prefix]);
  }
  return routes;
}

/**
 * The prefixes as requests are matched: through the same normalization as a request path, so a prefix
 * stored before prefixes had to be written decoded (`/%70rivate`) still means what requests decode to.
 */
function prefixesOf(deployment: DeploymentRecord): Set<string> {
  const prefixes = new Set<string>();
  for (const prefix of deployment.pathPrefixes) {
    const normal = normalizeRequestPath(prefix);
    if (normal !== undefined) prefixes.add(normal);
  }
  return prefixes;
}
