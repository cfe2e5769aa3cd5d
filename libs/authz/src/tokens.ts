/** Injection tokens of the authz module. */
export const AUTHZ_DOORS = Symbol('AUTHZ_DOORS');
export const AUTHZ_CHECKER = Symbol('AUTHZ_CHECKER');
export const REVOCATION_CONFIRMATIONS = Symbol('REVOCATION_CONFIRMATIONS');
export const AUTHZ_GRPC = Symbol('AUTHZ_GRPC');
/** The replica's key usage (`KeyUsage`: the tally the doors count into and its publisher). */
export const KEY_USAGE = Symbol('AUTHZ_KEY_USAGE');
