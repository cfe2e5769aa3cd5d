import type { AccessModel, DeploymentRecord, UserRecord } from '@tollgate/access-model';
import {
  expiredServiceTokenReason,
  keyRefusal,
  resolveJwtUser,
  resolveServiceToken,
  resolveUserKey,
  toDeploymentFacts,
  toUserFacts,
} from '@tollgate/access-model';
import {
  type ExpiredServiceToken,
  extractCredentials,
  hashSecret,
  MAX_CREDENTIAL_LENGTH,
  parseKey,
  type PresentedCredentials,
  type TokenFailureReason,
  type TokenVerifier,
  type VerifiedToken,
} from '@tollgate/authn';
import {
  type CredentialOutcome,
  decide,
  type Decision,
  decisionHeaders,
  decisionMessage,
  type DeploymentFacts,
  type ExternalAccessPolicy,
  type UserFacts,
} from '@tollgate/decision';
import type { CheckInput } from './types';

/** What the checker needs of the access model's freshness. */
export interface FreshnessView {
  isFresh(now?: number): boolean;
  readonly maxStalenessMs: number;
}

/** The access model lookups the check uses: all synchronous Map reads. */
export type AccessModelView = Pick<
  AccessModel,
  | 'keyByHash'
  | 'keyById'
  | 'user'
  | 'userByName'
  | 'userByExternalSubject'
  | 'roleOf'
  | 'deploymentById'
  | 'routeDeployment'
  | 'policy'
  | 'signingKey'
>;

export interface AuthzCheckerOptions {
  model: AccessModelView;
  freshness: FreshnessView;
  /** Service tokens (the model's signing keys) and trusted issuers' JWTs, with the synchronous verified-token cache. */
  verifier: Pick<TokenVerifier, 'lookupVerified' | 'verify'>;
  now?: () => number;
}

type TokenFailure = { ok: false; reason: TokenFailureReason; expired?: ExpiredServiceToken };

const BEARER = 'Bearer ';
const NO_ACCESS_KEY = { type: 'none' } as const;
const MISSING: CredentialOutcome = { ok: false, reason: 'credential-missing' };
/** The most messages `AuthzChecker.message` keeps: reasons × deployments, far more than a model has. */
const MAX_MESSAGES = 4096;
const isVerified = (jwt: VerifiedToken | TokenFailure): jwt is VerifiedToken => !('ok' in jwt);

/**
 * The one check behind the three doors (CONTRACT.md section 2): resolve the deployment (by id, or host + path
 * through the model's router), resolve the credentials against the in-memory access model, gather the facts
 * and call `decide()`. No I/O and no database: every lookup is a Map read. The only await is the
 * verification of a JWT that the verified-token cache does not hold yet; everything else returns
 * synchronously.
 */
export class AuthzChecker {
  private readonly model: AccessModelView;
  private readonly freshness: FreshnessView;
  private readonly verifier: AuthzCheckerOptions['verifier'];
  private readonly now: () => number;
  private readonly retryAfterSeconds: number;
  private readonly messages = new Map<string, Map<string | undefined, { status: number; message: string }>>();
  private messageCount = 0;

  constructor(options: AuthzCheckerOptions) {
    this.model = options.model;
    this.freshness = options.freshness;
    this.verifier = options.verifier;
    this.now = options.now ?? Date.now;
    this.retryAfterSeconds = Math.max(1, Math.ceil(options.freshness.maxStalenessMs / 1000));
  }

  /** The decision for one request. A `Promise` only when a JWT had to be verified (cache miss). */
  check(input: CheckInput): Decision | Promise<Decision> {
    const now = this.now();
    const fresh = this.freshness.isFresh(now);
    // The deployment is resolved once here and handed on (the route lookup is not free).
    const record = fresh ? this.resolveDeployment(input) : undefined;
    if (record?.authentication === true) {
      const hit = this.cachedBearer(input);
      if (hit !== undefined) return this.decideFor(input, hit.presented, hit.verified, now, fresh, record);
    }
    const presented = extractCredentials({ authorization: input.authorization, accessKey: input.accessKey });
    const auth = presented.authorization;
    if (auth.type === 'jwt' && record?.authentication === true) {
      const cached = this.verifier.lookupVerified(auth.token);
      if (cached === undefined) {
        // After the await, time, freshness and the model may have moved: everything is read again.
        return this.verifier
          .verify(auth.token)
          .then((v) =>
            this.evaluate(input, presented, v.ok ? v.token : { ok: false, reason: v.reason, expired: v.expired }),
          );
      }
      return this.decideFor(input, presented, cached, now, fresh, record);
    }
    return this.decideFor(input, presented, undefined, now, fresh, record);
  }

  /**
   * The common case of a token already verified, without scanning the header: exactly `Bearer <token>`, no
   * access key, and `<token>` in the verified-token cache. Only tokens that passed `verifyJwt` are cached,
   * and each has the compact-JWS shape and no Tollgate key prefix, so `extractCredentials` would classify the
   * header as this very JWT (the length bound and the key prefix are checked here anyway). Anything else
   * goes through `extractCredentials`.
   */
  private cachedBearer(input: CheckInput): { presented: PresentedCredentials; verified: VerifiedToken } | undefined {
    const a = input.authorization;
    if (typeof a !== 'string' || input.accessKey !== undefined) return undefined;
    if (a.length > MAX_CREDENTIAL_LENGTH || a.length < 8 || !a.startsWith(BEARER)) return undefined;
    const token = a.slice(BEARER.length);
    const verified = this.verifier.lookupVerified(token);
    if (verified === undefined) return undefined;
    const key = parseKey(token);
    if (key.ok || key.reason !== 'not-a-key') return undefined;
    return { presented: { authorization: { type: 'jwt', token }, accessKey: NO_ACCESS_KEY, missing: false }, verified };
  }

  /** Response headers of a decision (`Retry-After` of a 503 is the freshness bound, at least 1 s). */
  headers(decision: Decision): Record<string, string> {
    return decisionHeaders(decision, { retryAfterSeconds: this.retryAfterSeconds });
  }

  /**
   * `decisionMessage`, kept per reason and deployment, which are all it depends on (the status follows the
   * reason; it is compared anyway). A door answers the same few hundred messages over and over, and a kept
   * message is the same string each time, which the forward-auth door's body cache then finds without
   * hashing a new string. At most `MAX_MESSAGES` are kept; past that, all are dropped and kept again.
   */
  message(decision: Decision): string {
    const kept = this.messages.get(decision.reason)?.get(decision.deployment);
    if (kept !== undefined && kept.status === decision.status) return kept.message;
    const message = decisionMessage(decision);
    if (this.messageCount >= MAX_MESSAGES) {
      this.messages.clear();
      this.messageCount = 0;
    }
    let byDeployment = this.messages.get(decision.reason);
    if (byDeployment === undefined) this.messages.set(decision.reason, (byDeployment = new Map()));
    if (!byDeployment.has(decision.deployment)) this.messageCount += 1;
    byDeployment.set(decision.deployment, { status: decision.status, message });
    return message;
  }

  private resolveDeployment(input: CheckInput): DeploymentRecord | undefined {
    if (input.deployment !== undefined) return this.model.deploymentById(input.deployment);
    if (input.host !== undefined) return this.model.routeDeployment(input.host, input.path ?? '/');
    return undefined;
  }

  private evaluate(
    input: CheckInput,
    presented: PresentedCredentials,
    jwt: VerifiedToken | TokenFailure | undefined,
  ): Decision {
    const now = this.now();
    const fresh = this.freshness.isFresh(now);
    return this.decideFor(input, presented, jwt, now, fresh, fresh ? this.resolveDeployment(input) : undefined);
  }

  /** The decision, given the time, the freshness and the deployment (resolved only when fresh) read once. */
  private decideFor(
    input: CheckInput,
    presented: PresentedCredentials,
    jwt: VerifiedToken | TokenFailure | undefined,
    now: number,
    fresh: boolean,
    record: DeploymentRecord | undefined,
  ): Decision {
    const options = { explain: input.explain === true };
    const policy: ExternalAccessPolicy = this.model.policy();
    if (!fresh) return decide({ fresh: false, credential: MISSING, policy, now }, options);
    if (record === undefined) return decide({ fresh: true, credential: MISSING, policy, now }, options);
    const deployment = this.deploymentFactsOf(record);
    if (!record.authentication) return decide({ fresh: true, deployment, credential: MISSING, policy, now }, options);

    const credential = this.mainCredential(presented, jwt, now);
    const accessKey = presented.accessKey.type === 'none' ? undefined : this.accessKeyOutcome(presented, now);
    const user = credential.ok ? credential.caller.user : undefined;
    const role = user === undefined ? undefined : this.model.roleOf(record.projectId, user.id);
    return decide({ fresh: true, deployment, credential, accessKey, role, policy, now }, options);
  }

  /** The `Authorization` credential (missing when only an access key was sent: `decide` takes that one). */
  private mainCredential(
    presented: PresentedCredentials,
    jwt: VerifiedToken | TokenFailure | undefined,
    now: number,
  ): CredentialOutcome {
    const auth = presented.authorization;
    switch (auth.type) {
      case 'none':
        return MISSING;
      case 'malformed':
        return { ok: false, reason: 'credential-malformed' };
      case 'key':
        // A model access key under `Authorization` is still an access key.
        return auth.kind === 'access' ? this.accessKeyOf(auth.key, now) : this.apiKey(auth.key, now);
      case 'jwt':
        if (jwt === undefined) return { ok: false, reason: 'token-invalid' };
        if (!isVerified(jwt)) {
          // An expired service token answers with its key's reason when the key itself is gone.
          const reason =
            jwt.reason === 'token-expired' ? expiredServiceTokenReason(this.model, jwt.expired, now) : jwt.reason;
          return { ok: false, reason };
        }
        return jwt.kind === 'service-token' ? this.serviceToken(jwt, now) : this.trustedJwt(jwt);
    }
  }

  /** A user API key: found by the SHA-256 of its secret; its owner must not be deactivated. */
  private apiKey(secret: string, now: number): CredentialOutcome {
    const resolved = resolveUserKey(this.model, hashSecret(secret), now);
    if (!resolved.ok) return { ok: false, reason: resolved.reason, kind: 'api-key' };
    const caller = {
      kind: 'api-key' as const,
      keyId: resolved.key.keyId,
      scope: resolved.key.scope ?? 'inference',
      user: this.userFactsOf(resolved.owner),
    };
    return { ok: true, caller };
  }

  private accessKeyOutcome(presented: PresentedCredentials, now: number): CredentialOutcome {
    const accessKey = presented.accessKey;
    switch (accessKey.type) {
      case 'none':
        return MISSING;
      case 'malformed':
        return { ok: false, reason: 'credential-malformed', kind: 'access-key' };
      case 'invalid':
        return { ok: false, reason: 'access-key-invalid', kind: 'access-key' };
      case 'key':
        return this.accessKeyOf(accessKey.key, now);
    }
  }

  /** A model access key: unknown, revoked or expired ones are `access-key-invalid` (decide maps them). */
  private accessKeyOf(secret: string, now: number): CredentialOutcome {
    const key = this.model.keyByHash(hashSecret(secret));
    if (key === undefined || key.kind !== 'access-key')
      return { ok: false, reason: 'access-key-invalid', kind: 'access-key' };
    const refused = keyRefusal(key, now);
    if (refused) return { ok: false, reason: refused, kind: 'access-key' };
    const caller = {
      kind: 'access-key' as const,
      keyId: key.keyId,
      accessKeyDeploymentId: key.deploymentId ?? undefined,
      accessKeySlot: key.slot ?? undefined,
    };
    return { ok: true, caller };
  }

  /** A Tollgate service token: it carries its source's scope and dies with its source key. */
  private serviceToken(token: VerifiedToken, now: number): CredentialOutcome {
    const facts = token.serviceToken;
    if (facts === undefined) return { ok: false, reason: 'token-invalid', kind: 'service-token' };
    const source = resolveServiceToken(this.model, token.subject, facts, now);
    if (!source.ok) return { ok: false, reason: source.reason, kind: 'service-token' };
    const caller = {
      kind: 'service-token' as const,
      keyId: source.keyId,
      issuer: token.issuer,
      scope: facts.scope,
      user: this.userFactsOf(source.user),
    };
    return { ok: true, caller };
  }

  /** A trusted issuer's JWT: the user `resolveJwtUser` names, and its groups claim refreshed at `iat`. */
  private trustedJwt(token: VerifiedToken): CredentialOutcome {
    const caller = {
      kind: 'jwt' as const,
      issuer: token.issuer,
      issuerEnvironment: token.environment,
      subject: token.subject,
      user: this.userFactsOf(resolveJwtUser(this.model, token)),
      // No `iat`: the groups' age is unknown, so they count as refreshed at the epoch (stale under any limit).
      jwtGroups: token.groups === undefined ? undefined : { groups: token.groups, refreshedAt: token.issuedAt ?? 0 },
    };
    return { ok: true, caller };
  }

  /** Facts of an immutable record are derived once per record (`toUserFacts`, `toDeploymentFacts`). */
  private userFactsOf(user: UserRecord | undefined): UserFacts | undefined {
    return user === undefined ? undefined : toUserFacts(user);
  }

  private deploymentFactsOf(record: DeploymentRecord): DeploymentFacts {
    return toDeploymentFacts(record);
  }
}
