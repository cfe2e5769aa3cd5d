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
  /** When that set was last refreshed (ms); undefined: never. */
  groupsRefreshedAt?: number;
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

/**
 * The access decision of CONTRACT section 2, from resolved facts. Pure and synchronous: no I/O, no clock
 * (time is `input.now`). `explain` only adds the trace; the decision is the same with or without it.
 */
export function decide(input: DecisionInput, options: DecideOptions = {}): Decision {
  const trace: TraceStep[] | undefined = options.explain ? [] : undefined;
  const step = (rule: DecisionRule, outcome: TraceStep['outcome'], detail?: string): void => {
    if (trace !== undefined) trace.push(detail === undefined ? { rule, outcome } : { rule, outcome, detail });
  };
  const finish = (d: Omit<Decision, 'status' | 'allowed' | 'trace'>): Decision => {
    const status = statusOfReason(d.reason);
    const out: Decision = { allowed: status === 200, status, reason: d.reason };
    if (d.subject !== undefined) out.subject = d.subject;
    if (d.keyId !== undefined) out.keyId = d.keyId;
    if (d.issuer !== undefined) out.issuer = d.issuer;
    if (d.deployment !== undefined) out.deployment = d.deployment;
    if (d.groups !== undefined) out.groups = d.groups;
    if (trace !== undefined) out.trace = trace;
    return out;
  };

  // 1. Fail closed when the data may be stale.
  if (!input.fresh) {
    step('freshness', 'deny', 'the projection is behind the staleness bound');
    return finish({ reason: 'authorizer-stale' });
  }
  step('freshness', 'pass');

  // 2. The deployment.
  const dep = input.deployment;
  if (dep === undefined) {
    step('deployment-known', 'deny');
    return finish({ reason: 'deployment-unknown' });
  }
  step('deployment-known', 'pass', dep.id);
  const deployment = dep.id;

  // 3. Authentication off: allowed whatever is sent.
  if (!dep.authentication) {
    step('authentication-required', 'allow', 'authentication is off for this deployment');
    return finish({ reason: 'public', deployment });
  }
  step('authentication-required', 'pass');

  // 4. Which credentials were sent, and are they valid?
  let main = input.credential;
  let companion = input.accessKey;
  if (!main.ok && main.reason === 'credential-missing' && companion !== undefined) {
    // Only an access key was sent.
    main = companion.ok ? companion : { ...companion, kind: 'access-key' };
    companion = undefined;
  }
  if (!main.ok) {
    const reason = failureReason(main);
    step('credential-valid', 'deny', reason);
    return finish({ reason, deployment });
  }
  const caller = main.caller;
  step('credential-valid', 'pass', caller.kind);

  // 5. An access key sent with a user credential must be valid too.
  let companionKey: ResolvedCaller | undefined;
  if (companion === undefined) {
    step('access-key-companion-valid', 'skip');
  } else if (caller.kind === 'access-key') {
    step('access-key-companion-valid', 'skip', 'the main credential is already the access key');
  } else if (!companion.ok) {
    const reason = accessKeyFailure(companion.reason);
    step('access-key-companion-valid', 'deny', reason);
    return finish({ reason, deployment });
  } else if (companion.caller.kind !== 'access-key') {
    step('access-key-companion-valid', 'deny', `a ${companion.caller.kind} is not an access key`);
    return finish({ reason: 'access-key-invalid', deployment });
  } else {
    companionKey = companion.caller;
    step('access-key-companion-valid', 'pass');
  }

  // 6. An issuer restricted to an environment is not trusted elsewhere.
  if (caller.kind === 'jwt' && caller.issuerEnvironment !== undefined) {
    if (caller.issuerEnvironment !== dep.environment) {
      step('issuer-environment', 'deny', `issuer trusted only in ${caller.issuerEnvironment}`);
      return finish({ reason: 'issuer-untrusted', deployment, issuer: caller.issuer });
    }
    step('issuer-environment', 'pass', caller.issuerEnvironment);
  } else {
    step('issuer-environment', 'skip');
  }

  // 7. A management credential is not for inference.
  if (caller.scope === 'management') {
    step('key-scope', 'deny', 'management scope');
    return finish({ reason: 'key-scope-invalid', deployment, keyId: caller.keyId });
  }
  step('key-scope', caller.scope === undefined ? 'skip' : 'pass', caller.scope);

  // 8. The deployment must accept the credential kind(s).
  const kinds = dep.credentialKinds;
  if (!kinds.includes(caller.kind) || (companionKey !== undefined && !kinds.includes('access-key'))) {
    const kind = kinds.includes(caller.kind) ? 'access-key' : caller.kind;
    step('credential-kind-accepted', 'deny', `${kind} not accepted (accepts ${kinds.join(', ') || 'none'})`);
    return finish({ reason: 'auth-mode-not-allowed', deployment });
  }
  step('credential-kind-accepted', 'pass', companionKey === undefined ? caller.kind : `${caller.kind} + access-key`);

  // 9. An access key belongs to one deployment.
  const accessKey = caller.kind === 'access-key' ? caller : companionKey;
  if (accessKey === undefined) {
    step('access-key-deployment', 'skip');
  } else if (accessKey.accessKeyDeploymentId !== dep.id) {
    step('access-key-deployment', 'deny', 'the access key belongs to another deployment');
    return finish({ reason: 'access-key-invalid', deployment });
  } else {
    step('access-key-deployment', 'pass', accessKey.accessKeySlot);
  }

  // 10. An access key alone is enough.
  if (caller.kind === 'access-key') {
    step('access-key', 'allow', accessKey?.accessKeySlot);
    return finish({
      reason: 'access-key',
      deployment,
      subject: accessKeySubject(dep.id, caller.accessKeySlot),
      keyId: caller.keyId,
    });
  }
  step('access-key', 'skip', companionKey === undefined ? undefined : 'the user credential decides');

  // From here on, a user credential decides.
  const user = caller.user;
  const who = {
    deployment,
    subject: user?.id ?? caller.subject,
    keyId: caller.kind === 'api-key' || caller.kind === 'service-token' ? caller.keyId : undefined,
    issuer: caller.kind === 'jwt' || caller.kind === 'service-token' ? caller.issuer : undefined,
  };

  // 11. A deactivated user gets nothing.
  if (user?.deactivated) {
    step('user-active', 'deny', user.id);
    return finish({ ...who, reason: 'user-deactivated' });
  }
  step('user-active', user === undefined ? 'skip' : 'pass', user === undefined ? 'no Tollgate user' : undefined);

  // 12. Collaborators with an invoking role.
  if (user !== undefined && input.role !== undefined && INVOKING_ROLES.has(input.role)) {
    step('collaborator', 'allow', input.role);
    return finish({ ...who, reason: 'collaborator' });
  }
  step('collaborator', 'no-match', input.role === undefined ? 'no role' : `role ${input.role} may not invoke`);

  // 13. Granted groups, subject to the external access policy.
  const current = currentGroups(caller);
  const granted = current === undefined ? [] : intersect(current.groups, dep.grantedGroups);
  if (granted.length === 0) {
    step('group-grant', 'no-match', current === undefined ? 'no groups' : 'no granted group');
  } else {
    const hours = input.policy.requireExternalUserLoginAfterHours;
    if (hours === -1) {
      step('group-grant', 'allow', `${granted.join(', ')} (no refresh limit)`);
      return finish({ ...who, reason: 'group-granted', groups: granted });
    }
    if (!Number.isInteger(hours) || hours <= 0) {
      // 0 disables access through groups; anything else that is not -1 or a positive integer fails closed.
      step('group-grant', 'deny', 'external access through groups is disabled');
      return finish({ ...who, reason: 'external-access-disabled' });
    }
    const refreshedAt = current!.refreshedAt;
    if (refreshedAt === undefined || input.now - refreshedAt > hours * HOUR_MS) {
      step(
        'group-grant',
        'deny',
        `groups last refreshed ${refreshedAt === undefined ? 'never' : new Date(refreshedAt).toISOString()}, limit ${hours} h`,
      );
      return finish({ ...who, reason: 'external-login-stale' });
    }
    step('group-grant', 'allow', `${granted.join(', ')} (refreshed ${new Date(refreshedAt).toISOString()})`);
    return finish({ ...who, reason: 'group-granted', groups: granted });
  }

  // 14. Refused.
  const external = user?.kind === 'external' || (caller.kind === 'jwt' && caller.jwtGroups !== undefined);
  const reason = external ? 'group-not-granted' : 'not-collaborator';
  step('no-access', 'deny', external ? 'external caller' : undefined);
  return finish({ ...who, reason });
}

/**
 * The caller's current groups: the user's synced set, or a JWT's groups claim, whichever was refreshed
 * later (a JWT's groups count until a newer IdP sync for that user supersedes them; a tie keeps the JWT's).
 */
export function currentGroups(caller: ResolvedCaller): { groups: readonly string[]; refreshedAt?: number } | undefined {
  const user = caller.user;
  const jwt = caller.jwtGroups;
  if (jwt === undefined)
    return user === undefined ? undefined : { groups: user.groups, refreshedAt: user.groupsRefreshedAt };
  if (user === undefined || user.groupsRefreshedAt === undefined || user.groupsRefreshedAt <= jwt.refreshedAt)
    return jwt;
  return { groups: user.groups, refreshedAt: user.groupsRefreshedAt };
}

function intersect(groups: readonly string[], granted: readonly string[]): string[] {
  if (granted.length === 0 || groups.length === 0) return [];
  const g = new Set(granted);
  return [...new Set(groups.filter((x) => g.has(x)))];
}
