import { type AccessModel, keyState, toDeploymentFacts, toUserFacts } from '@tollgate/access-model';
import type { KeyRecord, UserRecord } from '@tollgate/access-model';
import { decide, type CredentialKind, type Decision, type ResolvedCaller } from '@tollgate/decision';
import { notFoundError } from './cli-errors';

/**
 * Point-in-time access audit: the model given here has been folded from the event log up to time `at`
 * (see `foldUntil`), so every answer is what the authorizer would have said then, computed by the same
 * decision function.
 */
export interface AuditSubject {
  subject: string;
  name: string | null;
  kind: 'internal' | 'external' | 'machine' | 'access-key' | 'anyone';
  /** The allowing reason: `collaborator`, `group-granted`, `access-key` or `public`. */
  reason: string;
  /** Credentials the subject held at that time that this deployment accepts (key ids for keys). */
  credentials: string[];
  groups?: string[];
}

export interface WhoCanReport {
  deployment: { id: string; name: string; projectId: string; authentication: boolean };
  at: string;
  subjects: AuditSubject[];
}

function deploymentOrThrow(model: AccessModel, deploymentId: string) {
  const record = model.deploymentById(deploymentId);
  if (!record) throw notFoundError(`deployment ${deploymentId} did not exist at that time`);
  return record;
}

const validKeys = (model: AccessModel, user: UserRecord, at: number): KeyRecord[] =>
  model.keysOfUser(user.userId).filter((k) => k.scope === 'inference' && keyState(k, at) === 'valid');

/**
 * The credential a user would present: an inference API key they held then, else a sign-in service token
 * (every user can sign in or exchange a key), else a trusted issuer's JWT. The access rule itself does not
 * depend on which, only on whether the deployment accepts it.
 */
function userCaller(
  model: AccessModel,
  user: UserRecord,
  accepts: ReadonlySet<CredentialKind>,
  at: number,
): { caller: ResolvedCaller; credentials: string[] } | undefined {
  const keys = accepts.has('api-key') ? validKeys(model, user, at) : [];
  const credentials = keys.map((k) => `api-key:${k.keyId}`);
  if (accepts.has('service-token')) credentials.push('service-token');
  if (accepts.has('jwt')) credentials.push('jwt');
  if (credentials.length === 0) return undefined;
  const kind: CredentialKind = keys.length > 0 ? 'api-key' : accepts.has('service-token') ? 'service-token' : 'jwt';
  return {
    caller: {
      kind,
      keyId: keys[0]?.keyId,
      scope: kind === 'jwt' ? undefined : 'any',
      user: toUserFacts(user),
      issuer: kind === 'jwt' ? undefined : kind === 'service-token' ? 'tollgate' : undefined,
    },
    credentials,
  };
}

export function whoCan(model: AccessModel, deploymentId: string, at: number): WhoCanReport {
  const record = deploymentOrThrow(model, deploymentId);
  const deployment = toDeploymentFacts(record);
  const report: WhoCanReport = {
    deployment: {
      id: record.deploymentId,
      name: record.name,
      projectId: record.projectId,
      authentication: record.authentication,
    },
    at: new Date(at).toISOString(),
    subjects: [],
  };
  if (!record.authentication) {
    report.subjects.push({ subject: '*', name: null, kind: 'anyone', reason: 'public', credentials: [] });
    return report;
  }
  const policy = model.policy();
  for (const user of model.allUsers()) {
    const resolved = userCaller(model, user, record.credentialKinds, at);
    if (!resolved) continue;
    const decision = decide({
      fresh: true,
      deployment,
      credential: { ok: true, caller: resolved.caller },
      role: model.roleOf(record.projectId, user.userId),
      policy,
      now: at,
    });
    if (!decision.allowed) continue;
    report.subjects.push({
      subject: user.userId,
      name: user.name,
      kind: user.kind,
      reason: decision.reason,
      credentials: resolved.credentials,
      ...(decision.groups ? { groups: decision.groups } : {}),
    });
  }
  if (record.credentialKinds.has('access-key')) {
    for (const slot of ['primary', 'secondary'] as const) {
      const key = model.accessKey(record.deploymentId, slot);
      if (key && keyState(key, at) === 'valid') {
        report.subjects.push({
          subject: `access-key:${record.deploymentId}:${slot}`,
          name: null,
          kind: 'access-key',
          reason: 'access-key',
          credentials: [`access-key:${key.keyId}`],
        });
      }
    }
  }
  report.subjects.sort((a, b) => a.subject.localeCompare(b.subject));
  return report;
}

export interface WhyReport {
  subject: string;
  deployment: string;
  at: string;
  decision: Decision;
}

/** Why a subject (user id, user name, or `access-key:<deployment>:<slot>`) could or could not call then. */
export function why(model: AccessModel, subject: string, deploymentId: string, at: number): WhyReport {
  const record = deploymentOrThrow(model, deploymentId);
  const deployment = toDeploymentFacts(record);
  const policy = model.policy();
  const base = { fresh: true, deployment, policy, now: at } as const;
  let decision: Decision;
  const accessKey = /^access-key:([^:]+):(primary|secondary)$/.exec(subject);
  if (accessKey) {
    const key = model.accessKey(accessKey[1]!, accessKey[2] as 'primary' | 'secondary');
    decision =
      key && keyState(key, at) === 'valid'
        ? decide(
            {
              ...base,
              credential: {
                ok: true,
                caller: {
                  kind: 'access-key',
                  keyId: key.keyId,
                  accessKeyDeploymentId: key.deploymentId!,
                  accessKeySlot: key.slot!,
                },
              },
            },
            { explain: true },
          )
        : decide(
            {
              ...base,
              credential: {
                ok: false,
                reason: key ? (keyState(key, at) === 'revoked' ? 'key-revoked' : 'key-expired') : 'key-unknown',
                kind: 'access-key',
              },
            },
            { explain: true },
          );
  } else {
    const user = model.user(subject) ?? model.userByName(subject);
    if (!user) throw notFoundError(`no user ${subject} at that time`);
    const resolved = userCaller(model, user, record.credentialKinds, at) ?? {
      caller: { kind: 'service-token' as const, scope: 'any' as const, issuer: 'tollgate', user: toUserFacts(user) },
      credentials: [],
    };
    decision = decide(
      { ...base, credential: { ok: true, caller: resolved.caller }, role: model.roleOf(record.projectId, user.userId) },
      { explain: true },
    );
  }
  return { subject, deployment: deploymentId, at: new Date(at).toISOString(), decision };
}
