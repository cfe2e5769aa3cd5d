import {
  constantTimeEqualHex,
  hashSecret,
  type IssuerRegistry,
  parseAuthorization,
  serviceTokenAnchor,
  TokenVerifier,
  type VerifiedToken,
} from '@tollgate/authn';
import { ApiError, type ApiErrorCode } from '@tollgate/contracts';
import type { Caller, CallerAuthenticator } from '@tollgate/platform';
import type { AccessModel } from './access-model';
import {
  BOOTSTRAP_ADMIN_NAME,
  BOOTSTRAP_ADMIN_USER_ID,
  expiredServiceTokenReason,
  resolveJwtUser,
  resolveServiceToken,
  resolveUserKey,
} from './credential-resolver';
import type { Freshness } from './freshness';
import type { UserRecord } from './types';

/** `WWW-Authenticate` of a 401 when nothing was sent, and when something was sent and refused. */
export const WWW_AUTHENTICATE_NONE = 'Bearer realm="tollgate"';
export const WWW_AUTHENTICATE_INVALID = 'Bearer realm="tollgate", error="invalid_token"';

export interface AccessModelCallerAuthenticatorOptions {
  model: AccessModel;
  /** Verifies service tokens (keys from `model.signingKey`) and trusted issuers' JWTs: `createModelTokenVerifier`. */
  verifier: TokenVerifier;
  /** `config.bootstrapAdminKey`: compared by SHA-256 in constant time; only its hash is kept. */
  bootstrapAdminKey?: string;
  /**
   * Called with the key of every caller authenticated by a management key or a service token exchanged for
   * one ("last used", `KeyUsageTally.used`). Never changes the outcome.
   */
  onKeyUsed?: (keyId: string) => void;
  /**
   * When set: a stale or halted model refuses (503 `unavailable`, fail closed) except the bootstrap
   * credential, after waiting up to `maxStalenessMs` for it to catch up; and a credential the model does
   * not know yet is looked up again once the watermark has passed the request's arrival (read-your-writes:
   * a key created just before the request is found), waiting at most `maxStalenessMs`.
   */
  freshness?: Freshness;
  now?: () => number;
}

/** Why a credential was refused (kebab-case, the authorizer's reasons where one applies). */
export type CallerRefusal =
  | 'credential-missing'
  | 'credential-malformed'
  | 'key-unknown'
  | 'key-revoked'
  | 'key-expired'
  | 'key-scope-invalid'
  | 'token-invalid'
  | 'token-expired'
  | 'issuer-untrusted'
  | 'audience-mismatch'
  | 'user-unknown'
  | 'user-deactivated';

type Outcome = { ok: true; caller: Caller } | { ok: false; reason: CallerRefusal; retry: boolean };

const MESSAGES: Record<CallerRefusal, string> = {
  'credential-missing': 'authentication required: send Authorization: Bearer <management key or token>',
  'credential-malformed': 'the Authorization header is not a well-formed credential',
  'key-unknown': 'unknown key',
  'key-revoked': 'the key was revoked',
  'key-expired': 'the key has expired',
  'key-scope-invalid':
    'inference and model access keys (and tokens made from them) are not accepted on the management API; use a management key',
  'token-invalid': 'the token is invalid',
  'token-expired': 'the token has expired',
  'issuer-untrusted': 'the token issuer is not trusted',
  'audience-mismatch': 'the token audience is not accepted',
  'user-unknown': 'no Tollgate user matches this credential',
  'user-deactivated': 'the user is deactivated',
};

/** The 401 of a refused management caller, with `WWW-Authenticate`. The reason is in the message and details. */
export function refusal(reason: CallerRefusal): ApiError {
  const code: ApiErrorCode = reason === 'key-scope-invalid' ? 'key-scope-invalid' : 'unauthenticated';
  const header = reason === 'credential-missing' ? WWW_AUTHENTICATE_NONE : WWW_AUTHENTICATE_INVALID;
  return new ApiError(code, `${MESSAGES[reason]} (${reason})`, [{ field: 'Authorization', message: reason }], {
    'WWW-Authenticate': header,
  });
}

const ok = (caller: Caller): Outcome => ({ ok: true, caller });
const no = (reason: CallerRefusal, retry = false): Outcome => ({ ok: false, reason, retry });

/**
 * `CallerAuthenticator` of the management APIs, answered from the access model: management keys, the
 * bootstrap admin credential, service tokens (scope `management` or `any`, source key still valid) and
 * trusted issuers' JWTs (the user `resolveJwtUser` names). Only the `Authorization` header is read.
 */
export class AccessModelCallerAuthenticator implements CallerAuthenticator {
  private readonly model: AccessModel;
  private readonly verifier: TokenVerifier;
  private readonly bootstrapHash: string | undefined;
  private readonly freshness: Freshness | undefined;
  private readonly now: () => number;
  private readonly onKeyUsed: ((keyId: string) => void) | undefined;

  constructor(options: AccessModelCallerAuthenticatorOptions) {
    this.onKeyUsed = options.onKeyUsed;
    this.model = options.model;
    this.verifier = options.verifier;
    this.bootstrapHash = options.bootstrapAdminKey ? hashSecret(options.bootstrapAdminKey) : undefined;
    this.freshness = options.freshness;
    this.now = options.now ?? Date.now;
  }

  async authenticate(authorization: string | undefined): Promise<Caller> {
    const arrival = this.now();
    const parsed = parseAuthorization(authorization);
    if (parsed.type === 'none') throw refusal('credential-missing');

    const credential = parsed.type === 'key' ? parsed.key : parsed.type === 'jwt' ? parsed.token : parsed.opaque;
    const hash = credential === undefined ? undefined : hashSecret(credential);
    if (hash !== undefined && this.bootstrapHash !== undefined && constantTimeEqualHex(hash, this.bootstrapHash)) {
      return this.bootstrapCaller();
    }
    if (parsed.type === 'malformed') throw refusal('credential-malformed');
    if (parsed.type === 'key' && parsed.kind !== 'management') throw refusal('key-scope-invalid');

    await this.requireFresh(arrival);
    const attempt = (): Outcome | Promise<Outcome> =>
      parsed.type === 'key' ? this.managementKey(hash!) : this.token(parsed.token);
    let outcome = await attempt();
    if (!outcome.ok && outcome.retry && this.freshness) {
      // Not known yet: maybe written just before this request. Once every event committed before the
      // request arrived is applied, the answer is final.
      if (await this.freshness.waitForWatermark(arrival, this.freshness.maxStalenessMs)) outcome = await attempt();
    }
    if (!outcome.ok) throw refusal(outcome.reason);
    if (outcome.caller.keyId !== undefined) this.onKeyUsed?.(outcome.caller.keyId);
    return outcome.caller;
  }

  private bootstrapCaller(): Caller {
    const admin = this.model.user(BOOTSTRAP_ADMIN_USER_ID);
    return {
      userId: BOOTSTRAP_ADMIN_USER_ID,
      name: admin?.name ?? BOOTSTRAP_ADMIN_NAME,
      admin: true,
      via: 'bootstrap',
    };
  }

  /** Fail closed on a stale or halted model, after giving it up to the staleness bound to catch up. */
  private async requireFresh(arrival: number): Promise<void> {
    const freshness = this.freshness;
    if (!freshness || freshness.isFresh(this.now())) return;
    if (
      !freshness.halted() &&
      (await freshness.waitForWatermark(arrival, freshness.maxStalenessMs)) &&
      freshness.isFresh(this.now())
    ) {
      return;
    }
    throw new ApiError(
      'unavailable',
      freshness.halted()
        ? 'access data is halted; an operator must act'
        : 'access data is not fresh enough to authenticate; retry shortly',
      undefined,
      { 'Retry-After': '1' },
    );
  }

  private managementKey(hash: string): Outcome {
    const known = this.model.keyByHash(hash);
    if (!known) return no('key-unknown', true);
    if (known.kind !== 'user-key' || known.scope !== 'management') return no('key-scope-invalid');
    const resolved = resolveUserKey(this.model, hash, this.now());
    if (!resolved.ok) return no(resolved.reason);
    return this.userCaller(resolved.owner, 'management-key', resolved.key.keyId);
  }

  private async token(token: string): Promise<Outcome> {
    const verification = await this.verifier.verify(token);
    if (!verification.ok) {
      if (verification.reason === 'token-expired')
        return no(expiredServiceTokenReason(this.model, verification.expired, this.now()));
      // A service token signed with a key this model has not learned yet: worth a second look.
      return no(
        verification.reason,
        verification.reason === 'token-invalid' && verification.detail === 'no key for kid',
      );
    }
    const verified = verification.token;
    return verified.kind === 'service-token'
      ? this.serviceToken(verified)
      : this.userCaller(resolveJwtUser(this.model, verified), 'jwt');
  }

  private serviceToken(token: VerifiedToken): Outcome {
    const facts = token.serviceToken;
    if (!facts) return no('token-invalid');
    if (facts.scope !== 'management' && facts.scope !== 'any') return no('key-scope-invalid');
    const source = resolveServiceToken(this.model, token.subject, facts, this.now());
    // A token dies with the key it was exchanged for; a key not learned yet is worth a second look.
    if (!source.ok) return no(source.reason, source.reason === 'key-unknown');
    return this.userCaller(source.user, 'service-token', source.keyId);
  }

  private userCaller(user: UserRecord | undefined, via: Caller['via'], keyId?: string): Outcome {
    if (!user) return no('user-unknown', true);
    if (user.deactivated) return no('user-deactivated');
    const caller: Caller = { userId: user.userId, name: user.name, admin: user.admin, via };
    if (keyId !== undefined) caller.keyId = keyId;
    return ok(caller);
  }
}

/**
 * The token verifier for management callers: Tollgate service tokens verified with the signing keys the
 * model learned from events (a retired key verifies nothing), plus the trusted issuers' JWTs.
 */
export function createModelTokenVerifier(
  model: AccessModel,
  options: { issuers?: IssuerRegistry; now?: () => number } = {},
): TokenVerifier {
  return new TokenVerifier({
    issuers: options.issuers,
    serviceTokens: serviceTokenAnchor({ getKey: (kid) => model.signingKey(kid) }),
    now: options.now,
  });
}
