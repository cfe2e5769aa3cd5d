/** `Host` compared case-insensitively without port: `API.Example.com:8443` → `api.example.com`. */
export function normalizeHost(_host: string): string {
  throw new Error('not implemented');
}

/**
 * A request path for prefix matching: query and fragment dropped, repeated slashes merged, `.` and `..`
 * segments resolved (so `/public/../private` cannot borrow another deployment's route), no trailing slash
 * except the root.
 */
export function normalizePath(_path: string): string {
  throw new Error('not implemented');
}
