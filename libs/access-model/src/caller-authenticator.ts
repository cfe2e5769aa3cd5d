import type { TollgateConfig } from '@tollgate/config';
import type { Caller, CallerAuthenticator } from '@tollgate/platform';
import { TokenVerifier } from '@tollgate/authn';
import type { AccessModel } from './access-model';
import type { Freshness } from './freshness';

export const BOOTSTRAP_ADMIN_USER_ID = 'usr_admin';
export const BOOTSTRAP_ADMIN_NAME = 'admin';

export interface AccessModelCallerAuthenticatorOptions {
  model: AccessModel;
  /** Verifies service tokens (keys from `model.signingKey`) and trusted issuers' JWTs. */
  verifier: TokenVerifier;
  /** `config.bootstrapAdminKey`: compared by SHA-256 in constant time, never kept in clear. */
  bootstrapAdminKey?: string;
  /**
   * When set: a stale or halted model refuses (503 `unavailable`, fail closed) except the bootstrap
   * credential, and a credential the model does not know yet is looked up again once the watermark has
   * passed the request's arrival (read-your-writes, bounded by `maxStalenessMs`).
   */
  freshness?: Freshness;
  now?: () => number;
}

/**
 * `CallerAuthenticator` of the management APIs, answered from the access model: management keys, the
 * bootstrap admin credential, service tokens (scope `management` or `any`, source key still valid) and
 * trusted issuers' JWTs (the user whose `name` is the subject).
 */
export class AccessModelCallerAuthenticator implements CallerAuthenticator {
  constructor(readonly options: AccessModelCallerAuthenticatorOptions) {}

  async authenticate(_authorization: string | undefined): Promise<Caller> {
    throw new Error('not implemented');
  }
}

/** The token verifier for management callers: service tokens with the model's signing keys, plus trusted issuers. */
export function createModelTokenVerifier(
  _model: AccessModel,
  _trustedIssuers: TollgateConfig['trustedIssuers'],
  _options: { now?: () => number } = {},
): TokenVerifier {
  throw new Error('not implemented');
}
