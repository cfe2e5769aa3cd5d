/** Injection tokens of the access-model module. `CALLER_AUTHENTICATOR` lives in `@tollgate/platform`. */
export const ACCESS_MODEL = Symbol('ACCESS_MODEL');
export const FRESHNESS = Symbol('ACCESS_MODEL_FRESHNESS');
