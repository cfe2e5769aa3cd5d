/** Injection tokens of the access-model module. `CALLER_AUTHENTICATOR` lives in `@tollgate/platform`. */
export const ACCESS_MODEL = Symbol('ACCESS_MODEL');
export const FRESHNESS = Symbol('ACCESS_MODEL_FRESHNESS');
/** The `AccessModelRuntime` (status, position, snapshots) for ops endpoints and tests. */
export const ACCESS_MODEL_RUNTIME = Symbol('ACCESS_MODEL_RUNTIME');
/** The process's key usage (`KeyUsage`: the tally the authorizer and the caller authentication count into). */
export const KEY_USAGE = Symbol('ACCESS_MODEL_KEY_USAGE');
