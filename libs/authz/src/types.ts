/** The three front doors of the authorizer (CONTRACT.md section 2); also the `door` of the decision log. */
export type { Door } from '@tollgate/decision';

/**
 * What every door hands to `check()`: the deployment (by id, or host + path) and the credentials exactly as
 * the client sent them. A door never interprets a credential; it only finds where it was carried.
 */
export interface CheckInput {
  /** Deployment id; wins over host + path when both are given. */
  deployment?: string;
  /** Original host, as received (port and case are the router's business). */
  host?: string;
  /** Original path, without the query string (a credential in a query string is ignored). */
  path?: string;
  /** The whole `Authorization` header value(s), exactly as received; several values = several headers. */
  authorization?: string | readonly string[];
  /** `X-Model-Access-Key` header value(s) or the JSON `accessKey`. */
  accessKey?: string | readonly string[];
  /** Original HTTP method (informative: the access rule does not depend on it). */
  method?: string;
  /** Ask for the evaluated rules (`trace`) in the decision; never changes the decision. */
  explain?: boolean;
}

/**
 * The fields of a decision the doors map onto their wire formats (CONTRACT.md section 2). The decision
 * itself comes from `@tollgate/decision`; this is the part every door relies on.
 */
export interface DoorDecision {
  allowed: boolean;
  /** 200, 401, 403, 404 or 503. */
  status: number;
  /** Stable kebab-case reason. */
  reason: string;
  subject?: string;
  keyId?: string;
  issuer?: string;
  deployment?: string;
}

/** Response headers of a decision (`decisionHeaders()` of `@tollgate/decision`). */
export type DecisionHeaders = Record<string, string>;
