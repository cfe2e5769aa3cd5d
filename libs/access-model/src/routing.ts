import type { DeploymentRecord } from './types';

/** `Host` compared case-insensitively without port: `API.Example.com:8443` → `api.example.com`. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    // IPv6 literal: `[::1]:8080` → `[::1]`
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  if (colon !== -1 && h.indexOf(':', colon + 1) === -1) h = h.slice(0, colon);
  // A fully qualified name may end in a dot: `example.com.` is `example.com`.
  if (h.endsWith('.') && h.length > 1) h = h.slice(0, -1);
  return h;
}

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * A request path for prefix matching: query and fragment dropped, repeated slashes merged, `.` and `..`
 * segments resolved (so `/public/../private` cannot borrow another deployment's route), no trailing slash
 * except the root.
 */
const NEEDS_WORK = /[?#]|\/\/|\/\.|%2e/i;

export function normalizePath(path: string): string {
  if (path.startsWith('/') && !NEEDS_WORK.test(path)) {
    // The common case: already clean; only a trailing slash to drop.
    return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  }
  let p = path;
  const cut = p.search(/[?#]/);
  if (cut !== -1) p = p.slice(0, cut);
  const out: string[] = [];
  for (const segment of p.split('/')) {
    if (segment === '') continue;
    if (DOT_SEGMENT.test(segment)) {
      if (segment.length > 1 && segment.replace(/%2e/gi, '.') === '..') out.pop();
      continue;
    }
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

/**
 * Host → prefix → deployments. A lookup walks the request path up one segment at a time, so a prefix
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
    let p = normalizePath(path);
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
    for (const prefix of new Set(deployment.pathPrefixes.map(normalizePath))) routes.push([host, prefix]);
  }
  return routes;
}
