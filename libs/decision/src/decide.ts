import { statusOfReason, type DecisionStatus, type Reason, type UnauthenticatedReason } from './reasons';

/** Credential kinds a deployment may accept (`credentialKinds`, default all four). */
export type CredentialKind = 'api-key' | 'access-key' | 'jwt' | 'service-token';
export const ALL_CREDENTIAL_KINDS: readonly CredentialKind[] = ['api-key', 'access-key', 'jwt', 'service-token'];

export type ProjectRole = 'owner' | 'admin' | 'contributor' | 'viewer';
/** Roles that may invoke a project's deployments. */
export const INVOKING_ROLES: ReadonlySet<ProjectRole> = new Set(['owner', 'admin', 'contributor']);

export type AccessKeySlot = 'primary' | 'secondary';
export type CallerScope = 'inference' | 'management' | 'any';

export interface DeploymentFacts {
  id: string;
  projectId: string;
  /** false: anyone may call (`public`). */
  authentication: boolean;
  credentialKinds: readonly CredentialKind[];
  /** External groups granted access; compared exactly and case-sensitively. */
  grantedGroups: readonly string[];
  environment?: string;
}

export interface UserFacts {
  id: string;
  name: string;
  kind: 'internal' | 'external' | 'machine';
  deactivated: boolean;
  /** The user's current group set (from sign-in, webhooks or SCIM). */
  groups: readonly string[];
  /**
   * The login clock (ms): when the set was last refreshed by a sign-in or a webhook; undefined: never.
   * `requireExternalUserLoginAfterHours` counts from it. SCIM edits do not move it.
   */
  groupsRefreshedAt?: number;
  /** When the set last changed through any channel, SCIM included (ms); undefined: `groupsRefreshedAt`. */
  groupsChangedAt?: number;
  /** Tollgate admin: informative only, it grants no right to invoke. */
  admin?: boolean;
}

/** A credential that was found valid, with what the caller looked up about it. */
export interface ResolvedCaller {
  kind: CredentialKind;
  /** API key id; for a service token the key it was exchanged for (none for a sign-in token); access key id. */
  keyId?: string;
  /** JWT: its `iss`; service token: `tollgate`. */
  issuer?: string;
  /** JWT: the issuer's `environment`, when configured (trusted only on deployments of that environment). */
  issuerEnvironment?: string;
  /** API keys and service tokens: what the credential may be used for. */
  scope?: CallerScope;
  /** Access keys: the deployment the key belongs to, and its slot. */
  accessKeyDeploymentId?: string;
  accessKeySlot?: AccessKeySlot;
  /** JWT: the token's subject claim (the subject reported when no user matches it). */
  subject?: string;
  /** The Tollgate user behind the credential (for a JWT: the user whose name is the subject claim, if any). */
  user?: UserFacts;
  /** JWT with a groups claim: those groups, refreshed at the token's `iat` (ms). */
  jwtGroups?: { groups: readonly string[]; refreshedAt: number };
}

/**
 * A credential's outcome: valid (with the caller), or a 401 reason. For an access key, `key-unknown`,
 * `key-revoked` and `key-expired` are reported as `access-key-invalid` (CONTRACT section 1).
 */
export type CredentialOutcome =
  { ok: true; caller: ResolvedCaller } | { ok: false; reason: UnauthenticatedReason; kind?: CredentialKind };

export interface ExternalAccessPolicy {
  /** -1: no limit; 0: access through groups disabled everywhere; N (1..87600): groups refreshed within N hours. */
  requireExternalUserLoginAfterHours: number;
}

export interface DecisionInput {
  /** Is the authorizer's data fresh enough (watermark within the bound)? false: 503, checked first. */
  fresh: boolean;
  /** The deployment the request is for; undefined: 404. */
  deployment?: DeploymentFacts;
  /**
   * The main credential: the `Authorization` credential, or the access key when it was sent alone. Nothing
   * sent at all: `{ ok: false, reason: 'credential-missing' }`.
   */
  credential: CredentialOutcome;
  /**
   * The access key sent together with a user credential (then both must be valid and the user credential
   * decides). Also accepted: `credential` = missing and the access key here (treated as the access key alone).
   */
  accessKey?: CredentialOutcome;
  /** The caller's role in the deployment's project, if any. */
  role?: ProjectRole;
  policy: ExternalAccessPolicy;
  /** ms */
  now: number;
}

export interface TraceStep {
  rule: DecisionRule;
  /**
   * `pass`: the check holds, evaluation goes on; `skip`: it does not apply to this request; `no-match`: a
   * granting rule that does not grant; `allow` and `deny`: the rule decided.
   */
  outcome: 'pass' | 'skip' | 'no-match' | 'allow' | 'deny';
  detail?: string;
}

/** The rules, in the order they are evaluated. */
export const DECISION_RULES = [
  'freshness',
  'deployment-known',
  'authentication-required',
  'credential-valid',
  'access-key-companion-valid',
  'issuer-environment',
  'key-scope',
  'credential-kind-accepted',
  'access-key-deployment',
  'access-key',
  'user-active',
  'collaborator',
  'group-grant',
  'no-access',
] as const;
export type DecisionRule = (typeof DECISION_RULES)[number];

export interface Decision {
  allowed: boolean;
  status: DecisionStatus;
  reason: Reason;
  subject?: string;
  keyId?: string;
  issuer?: string;
  deployment?: string;
  /** group-granted: the caller's groups that are granted on this deployment. */
  groups?: string[];
  /** With `explain`: every rule evaluated, in order, with its outcome. */
  trace?: TraceStep[];
}

export interface DecideOptions {
  explain?: boolean;
}

const HOUR_MS = 3_600_000;

/** `access-key:<deploymentId>:<slot>`, the subject of an access key used alone. */
export function accessKeySubject(deploymentId: string, slot: AccessKeySlot | undefined): string {
  return `access-key:${deploymentId}:${slot ?? 'unknown'}`;
}

function accessKeyFailure(reason: UnauthenticatedReason): UnauthenticatedReason {
  // Unknown, revoked or expired access keys are all access-key-invalid; a malformed one stays malformed.
  return reason === 'key-unknown' || reason === 'key-revoked' || reason === 'key-expired'
    ? 'access-key-invalid'
    : reason;
}

function failureReason(outcome: { reason: UnauthenticatedReason; kind?: CredentialKind }): UnauthenticatedReason {
  return outcome.kind === 'access-key' ? accessKeyFailure(outcome.reason) : outcome.reason;
}

/** Appends one step to an explain trace (only ever called when `explain` is on). */
function push(trace: TraceStep[], rule: DecisionRule, outcome: TraceStep['outcome'], detail?: string): void {
  trace.push(detail === undefined ? { rule, outcome } : { rule, outcome, detail });
}

/** The decision object: fields in a fixed order, unset ones left out, the trace only with `explain`. */
function finish(
  reason: Reason,
  trace: TraceStep[] | undefined,
  deployment?: string,
  subject?: string,
  keyId?: string,
  issuer?: string,
  groups?: string[],
): Decision {
  const status = statusOfReason(reason);
  const out: Decision = { allowed: status === 200, status, reason };
  if (subject !== undefined) out.subject = subject;
  if (keyId !== undefined) out.keyId = keyId;
  if (issuer !== undefined) out.issuer = issuer;
  if (deployment !== undefined) out.deployment = deployment;
  if (groups !== undefined) out.groups = groups;
  if (trace !== undefined) out.trace = trace;
  return out;
}

/**
 * The access decision of CONTRACT section 2, from resolved facts. Pure and synchronous: no I/O, no clock
 * (time is `input.now`). `explain` only adds the trace; the decision is the same with or without it.
 *
 * Hot path: without `explain` no step is recorded and no detail string is built (every `push` sits behind a
 * `trace !== undefined` test), and no intermediate object is allocated besides the decision itself.
 */
export function decide(input: DecisionInput, options?: DecideOptions): Decision {
  const trace: TraceStep[] | undefined = options !== undefined && options.explain ? [] : undefined;

  // 1. Fail closed when the data may be stale.
  if (!input.fresh) {
    if (trace !== undefined) push(trace, 'freshness', 'deny', 'the projection is behind the staleness bound');
    return finish('authorizer-stale', trace);
  }
  if (trace !== undefined) push(trace, 'freshness', 'pass');

  // 2. The deployment.
  const dep = input.deployment;
  if (dep === undefined) {
    if (trace !== undefined) push(trace, 'deployment-known', 'deny');
    return finish('deployment-unknown', trace);
  }
  const deployment = dep.id;
  if (trace !== undefined) push(trace, 'deployment-known', 'pass', deployment);

  // 3. Authentication off: allowed whatever is sent.
  if (!dep.authentication) {
    if (trace !== undefined)
      push(trace, 'authentication-required', 'allow', 'authentication is off for this deployment');
    return finish('public', trace, deployment);
  }
  if (trace !== undefined) push(trace, 'authentication-required', 'pass');

  // 4. Which credentials were sent, and are they valid?
  const main = input.credential;
  let companion = input.accessKey;
  let caller: ResolvedCaller;
  if (main.ok) {
    caller = main.caller;
  } else if (main.reason === 'credential-missing' && companion !== undefined) {
    // Only an access key was sent: it is the main credential (a failure counts as an access key's).
    if (!companion.ok) {
      const reason = accessKeyFailure(companion.reason);
      if (trace !== undefined) push(trace, 'credential-valid', 'deny', reason);
      return finish(reason, trace, deployment);
    }
    caller = companion.caller;
    companion = undefined;
  } else {
    const reason = failureReason(main);
    if (trace !== undefined) push(trace, 'credential-valid', 'deny', reason);
    return finish(reason, trace, deployment);
  }
  const kind = caller.kind;
  if (trace !== undefined) push(trace, 'credential-valid', 'pass', kind);

  // 5. An access key sent with a user credential must be valid too.
  let companionKey: ResolvedCaller | undefined;
  if (companion === undefined) {
    if (trace !== undefined) push(trace, 'access-key-companion-valid', 'skip');
  } else if (kind === 'access-key') {
    if (trace !== undefined)
      push(trace, 'access-key-companion-valid', 'skip', 'the main credential is already the access key');
  } else if (!companion.ok) {
    const reason = accessKeyFailure(companion.reason);
    if (trace !== undefined) push(trace, 'access-key-companion-valid', 'deny', reason);
    return finish(reason, trace, deployment);
  } else if (companion.caller.kind !== 'access-key') {
    if (trace !== undefined)
      push(trace, 'access-key-companion-valid', 'deny', `a ${companion.caller.kind} is not an access key`);
    return finish('access-key-invalid', trace, deployment);
  } else {
    companionKey = companion.caller;
    if (trace !== undefined) push(trace, 'access-key-companion-valid', 'pass');
  }

  // 6. An issuer restricted to an environment is not trusted elsewhere.
  const issuerEnvironment = caller.issuerEnvironment;
  if (kind === 'jwt' && issuerEnvironment !== undefined) {
    if (issuerEnvironment !== dep.environment) {
      if (trace !== undefined) push(trace, 'issuer-environment', 'deny', `issuer trusted only in ${issuerEnvironment}`);
      return finish('issuer-untrusted', trace, deployment, undefined, undefined, caller.issuer);
    }
    if (trace !== undefined) push(trace, 'issuer-environment', 'pass', issuerEnvironment);
  } else if (trace !== undefined) {
    push(trace, 'issuer-environment', 'skip');
  }

  // 7. A management credential is not for inference.
  const scope = caller.scope;
  if (scope === 'management') {
    if (trace !== undefined) push(trace, 'key-scope', 'deny', 'management scope');
    return finish('key-scope-invalid', trace, deployment, undefined, caller.keyId);
  }
  if (trace !== undefined) push(trace, 'key-scope', scope === undefined ? 'skip' : 'pass', scope);

  // 8. The deployment must accept the credential kind(s).
  const kinds = dep.credentialKinds;
  const kindAccepted = kinds.includes(kind);
  if (!kindAccepted || (companionKey !== undefined && !kinds.includes('access-key'))) {
    if (trace !== undefined) {
      const refused = kindAccepted ? 'access-key' : kind;
      push(
        trace,
        'credential-kind-accepted',
        'deny',
        `${refused} not accepted (accepts ${kinds.join(', ') || 'none'})`,
      );
    }
    return finish('auth-mode-not-allowed', trace, deployment);
  }
  if (trace !== undefined)
    push(trace, 'credential-kind-accepted', 'pass', companionKey === undefined ? kind : `${kind} + access-key`);

  // 9. An access key belongs to one deployment.
  const accessKey = kind === 'access-key' ? caller : companionKey;
  if (accessKey === undefined) {
    if (trace !== undefined) push(trace, 'access-key-deployment', 'skip');
  } else if (accessKey.accessKeyDeploymentId !== deployment) {
    if (trace !== undefined)
      push(trace, 'access-key-deployment', 'deny', 'the access key belongs to another deployment');
    return finish('access-key-invalid', trace, deployment);
  } else if (trace !== undefined) {
    push(trace, 'access-key-deployment', 'pass', accessKey.accessKeySlot);
  }

  // 10. An access key alone is enough.
  if (kind === 'access-key') {
    if (trace !== undefined) push(trace, 'access-key', 'allow', caller.accessKeySlot);
    return finish('access-key', trace, deployment, accessKeySubject(deployment, caller.accessKeySlot), caller.keyId);
  }
  if (trace !== undefined)
    push(trace, 'access-key', 'skip', companionKey === undefined ? undefined : 'the user credential decides');

  // From here on, a user credential decides: who it is, for the decision.
  const user = caller.user;
  const subject = user?.id ?? caller.subject;
  const keyId = kind === 'api-key' || kind === 'service-token' ? caller.keyId : undefined;
  const issuer = kind === 'jwt' || kind === 'service-token' ? caller.issuer : undefined;

  // 11. A deactivated user gets nothing.
  if (user !== undefined && user.deactivated) {
    if (trace !== undefined) push(trace, 'user-active', 'deny', user.id);
    return finish('user-deactivated', trace, deployment, subject, keyId, issuer);
  }
  if (trace !== undefined)
    push(
      trace,
      'user-active',
      user === undefined ? 'skip' : 'pass',
      user === undefined ? 'no Tollgate user' : undefined,
    );

  // 12. Collaborators with an invoking role.
  const role = input.role;
  if (user !== undefined && role !== undefined && INVOKING_ROLES.has(role)) {
    if (trace !== undefined) push(trace, 'collaborator', 'allow', role);
    return finish('collaborator', trace, deployment, subject, keyId, issuer);
  }
  if (trace !== undefined)
    push(trace, 'collaborator', 'no-match', role === undefined ? 'no role' : `role ${role} may not invoke`);

  // 13. Granted groups, subject to the external access policy.
  const current = currentGroups(caller);
  const granted = current === undefined ? [] : intersect(current.groups, dep.grantedGroups);
  if (granted.length === 0) {
    if (trace !== undefined)
      push(trace, 'group-grant', 'no-match', current === undefined ? 'no groups' : 'no granted group');
  } else {
    const hours = input.policy.requireExternalUserLoginAfterHours;
    if (hours === -1) {
      if (trace !== undefined) push(trace, 'group-grant', 'allow', `${granted.join(', ')} (no refresh limit)`);
      return finish('group-granted', trace, deployment, subject, keyId, issuer, granted);
    }
    if (!Number.isInteger(hours) || hours <= 0) {
      // 0 disables access through groups; anything else that is not -1 or a positive integer fails closed.
      if (trace !== undefined) push(trace, 'group-grant', 'deny', 'external access through groups is disabled');
      return finish('external-access-disabled', trace, deployment, subject, keyId, issuer);
    }
    const refreshedAt = current!.refreshedAt;
    if (refreshedAt === undefined || input.now - refreshedAt > hours * HOUR_MS) {
      if (trace !== undefined)
        push(
          trace,
          'group-grant',
          'deny',
          `groups last refreshed ${refreshedAt === undefined ? 'never' : new Date(refreshedAt).toISOString()}, limit ${hours} h`,
        );
      return finish('external-login-stale', trace, deployment, subject, keyId, issuer);
    }
    if (trace !== undefined)
      push(trace, 'group-grant', 'allow', `${granted.join(', ')} (refreshed ${new Date(refreshedAt).toISOString()})`);
    return finish('group-granted', trace, deployment, subject, keyId, issuer, granted);
  }

  // 14. Refused.
  const external =
    (user !== undefined && user.kind === 'external') || (kind === 'jwt' && caller.jwtGroups !== undefined);
  if (trace !== undefined) push(trace, 'no-access', 'deny', external ? 'external caller' : undefined);
  return finish(external ? 'group-not-granted' : 'not-collaborator', trace, deployment, subject, keyId, issuer);
}

/**
 * The caller's current groups: the user's synced set, or a JWT's groups claim, whichever changed later (a
 * JWT's groups count until a newer IdP change for that user, a SCIM edit included, supersedes them; a tie
 * keeps the JWT's). `refreshedAt` is the login clock: the later of the user's last sign-in or webhook
 * refresh and the JWT's `iat` (the JWT itself proves a login then).
 */
export function currentGroups(caller: ResolvedCaller): { groups: readonly string[]; refreshedAt?: number } | undefined {
  const user = caller.user;
  const jwt = caller.jwtGroups;
  if (jwt === undefined)
    return user === undefined ? undefined : { groups: user.groups, refreshedAt: user.groupsRefreshedAt };
  const changedAt = user?.groupsChangedAt ?? user?.groupsRefreshedAt;
  if (user === undefined || changedAt === undefined || changedAt <= jwt.refreshedAt) return jwt;
  const login = user.groupsRefreshedAt;
  return { groups: user.groups, refreshedAt: login === undefined ? jwt.refreshedAt : Math.max(login, jwt.refreshedAt) };
}

/** The caller's groups that are granted, in the caller's order, each once. */
function intersect(groups: readonly string[], granted: readonly string[]): string[] {
  if (granted.length === 0 || groups.length === 0) return [];
  if (groups.length * granted.length > 256) {
    // Large sets: hash lookups rather than linear scans.
    const g = new Set(granted);
    return [...new Set(groups.filter((x) => g.has(x)))];
  }
  const out: string[] = [];
  for (const x of groups) if (granted.includes(x) && !out.includes(x)) out.push(x);
  return out;
}
