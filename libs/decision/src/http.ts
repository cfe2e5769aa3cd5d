import type { Decision } from './decide';

/** The doors of the authorizer; forward-auth answers an unknown deployment with 403 (no host list leaks). */
export type Door = 'authorize' | 'forward-auth' | 'ext-authz';

/** The HTTP status a door answers with: the decision's, except forward-auth's 403 for an unknown deployment. */
export function statusForDoor(decision: Decision, door: Door): number {
  return door === 'forward-auth' && decision.reason === 'deployment-unknown' ? 403 : decision.status;
}

export const WWW_AUTHENTICATE_MISSING = 'Bearer realm="tollgate"';
export const WWW_AUTHENTICATE_INVALID = 'Bearer realm="tollgate", error="invalid_token"';

/**
 * A value safe for an HTTP header: visible ASCII is kept, `%` and anything else (controls, CR/LF, spaces,
 * non-ASCII) is percent-encoded as UTF-8. Subjects may come from a JWT claim, so they are never trusted raw.
 */
export function headerValue(value: string): string {
  if (/^[\x21-\x24\x26-\x7e]*$/.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x21 && c <= 0x7e && c !== 0x25) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface DecisionHeaderOptions {
  /** `Retry-After` of a 503, in seconds (default 1). */
  retryAfterSeconds?: number;
}

/** The response headers of a decision (CONTRACT section 2's table), the same for every door. */
export function decisionHeaders(decision: Decision, options: DecisionHeaderOptions = {}): Record<string, string> {
  const h: Record<string, string> = {};
  if (decision.allowed) {
    if (decision.subject !== undefined) h['X-Auth-Subject'] = headerValue(decision.subject);
    if (decision.deployment !== undefined) h['X-Auth-Deployment'] = headerValue(decision.deployment);
    if (decision.keyId !== undefined) h['X-Auth-Key-Id'] = headerValue(decision.keyId);
    if (decision.issuer !== undefined) h['X-Auth-Issuer'] = headerValue(decision.issuer);
    return h;
  }
  if (decision.status === 401) {
    h['WWW-Authenticate'] =
      decision.reason === 'credential-missing' ? WWW_AUTHENTICATE_MISSING : WWW_AUTHENTICATE_INVALID;
  }
  h['X-Ext-Auth-Reason'] = decision.reason;
  if (decision.status === 503) h['Retry-After'] = String(Math.max(1, Math.ceil(options.retryAfterSeconds ?? 1)));
  return h;
}

const CHECK: Record<string, string> = {
  'not-collaborator':
    'the caller is not an owner, admin or contributor of its project and none of its groups is granted; ask a project owner or admin to add you as a collaborator',
  'group-not-granted':
    "none of the caller's groups is granted on this deployment; check your group membership at your identity provider, or ask a project owner or admin to grant one of your groups",
  'external-login-stale':
    "the caller's groups were last refreshed longer ago than the external access policy allows; sign in again through your identity provider",
  'external-access-disabled':
    'access through external groups is disabled by the external access policy; ask to be added as a collaborator of the project',
  'user-deactivated': 'the user is deactivated; contact a Tollgate administrator',
};

const UNAUTHENTICATED: Record<string, string> = {
  'credential-missing':
    'authentication required: send Authorization: Bearer <key or token>, or the model access key in X-Model-Access-Key',
  'credential-malformed':
    'the credential is not a well-formed Tollgate key or JWT, or its scheme is not Bearer or ApiKey',
  'key-unknown': 'the key is not known',
  'key-revoked': 'the key was revoked',
  'key-expired': 'the key has expired',
  'token-invalid': 'the token is invalid (signature, algorithm, key or claims)',
  'token-expired': 'the token has expired',
  'issuer-untrusted': 'the token issuer is not trusted for this deployment',
  'audience-mismatch': 'the token audience is not accepted',
  'access-key-invalid': 'the model access key is unknown, revoked or belongs to another deployment',
  'auth-mode-not-allowed': 'this deployment does not accept this kind of credential',
  'key-scope-invalid': 'a management key (or a token made from one) cannot be used for inference; use an inference key',
};

/** The human-readable `message` of a decision (never a secret). */
export function decisionMessage(decision: Decision): string {
  const model = decision.deployment ?? 'unknown';
  switch (decision.status) {
    case 200:
      return decision.reason === 'public'
        ? `model ${model} is public`
        : `authorized to access model ${model} (${decision.reason})`;
    case 401:
      return `${UNAUTHENTICATED[decision.reason] ?? 'authentication failed'} (${decision.reason})`;
    case 403:
      return `not authorized to access model ${model}: ${CHECK[decision.reason] ?? 'check your access'} (${decision.reason})`;
    case 404:
      return 'no model deployment matches this request; check the deployment id, or the host and path (deployment-unknown)';
    case 503:
      return 'the authorizer cannot prove its access data is fresh; retry shortly (authorizer-stale)';
  }
}
