/** Injection tokens of the authz module. */
export const AUTHZ_DOORS = Symbol('AUTHZ_DOORS');
export const AUTHZ_CHECKER = Symbol('AUTHZ_CHECKER');
export const REVOCATION_CONFIRMATIONS = Symbol('REVOCATION_CONFIRMATIONS');
export const AUTHZ_GRPC = Symbol('AUTHZ_GRPC');
