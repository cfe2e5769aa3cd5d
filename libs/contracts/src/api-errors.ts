/**
 * Error codes of the management and IdP APIs (CONTRACT.md section 3) and their HTTP statuses.
 * Domain code throws `ApiError`; one exception filter turns it into `{ error: { code, message, details? } }`.
 */
export const API_ERROR_STATUS = {
  'malformed-json': 400,
  'validation-failed': 400,
  /** Bytes that are not HTTP/1.1, answered by the server itself. */
  'malformed-request': 400,
  unauthenticated: 401,
  'key-scope-invalid': 401,
  'token-invalid': 401,
  'token-expired': 401,
  'issuer-untrusted': 401,
  'audience-mismatch': 401,
  'webhook-signature-invalid': 401,
  'webhook-timestamp-invalid': 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  /** `POST /v1/deployments/{id}/probe`: no gateway configured (`TOLLGATE_GATEWAY_URL`), or a deployment without hosts. */
  'probe-not-configured': 409,
  'version-conflict': 412,
  /** The request was not fully received within the server's time limit (a slow sender). */
  'request-timeout': 408,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'key-lifetime-exceeds-policy': 422,
  'idempotency-key-reused': 422,
  'group-overage-unsupported': 422,
  'rate-limited': 429,
  'request-header-too-large': 431,
  'internal-error': 500,
  /** The deployment probe could not connect to the operator's gateway, or got no valid HTTP answer from it. */
  'gateway-unreachable': 502,
  unavailable: 503,
  /** The gateway did not answer the deployment probe within its time limit. */
  'gateway-timeout': 504,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export interface ApiErrorDetail {
  field?: string;
  message: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: ApiErrorDetail[],
    /** Extra response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}

export const notFound = (what = 'resource'): ApiError => new ApiError('not-found', `${what} not found`);
