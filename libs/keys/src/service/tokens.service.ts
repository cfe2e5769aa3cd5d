import { refusal } from '@tollgate/access-model';
import {
  constantTimeEqualHex,
  hashSecret,
  parseAuthorization,
  SERVICE_TOKEN_MAX_LIFETIME_SECONDS,
} from '@tollgate/authn';
import { ApiError, type KeyScope } from '@tollgate/contracts';
import { maxServiceTokenLifetime } from '../domain/policy';
import { iso, type Clock } from '../domain/time';
import { keyStatus, keyStopsAt, type KeyReadModel } from '../storage/key-read-model';
import type { KeyPolicyService } from './key-policy.service';
import type { TokenRequestStore } from '../storage/token-requests';
import type { Directory } from './directory';
import type { SigningKeysService } from '@tollgate/signing-keys';
import { IdempotencyKeyReusedError } from '@tollgate/event-store';
import { idempotencyKeyReused } from '@tollgate/platform';
import { requestFingerprint, type RequestMeta } from './support';

export interface IssuedToken {
  /** The JWT; null in an idempotent replay (a secret is never shown twice). */
  token: string | null;
  tokenType: 'Bearer';
  scope: KeyScope;
  expiresAt: string;
}

export interface TokensDeps {
  reads: KeyReadModel;
  directory: Directory;
  signingKeys: SigningKeysService;
  requests: TokenRequestStore;
  policy: KeyPolicyService;
  clock: Clock;
}

const apiKeyRequired = (): ApiError => {
  const error = refusal('credential-malformed');
  return new ApiError(
    'unauthenticated',
    'POST /v1/tokens takes the API key to exchange (tgi_… or tgm_…) in Authorization, not a token or another credential',
    error.details,
    error.headers,
  );
};

/**
 * Exchanges a user API key (inference or management) for a short-lived service token: EdDSA JWT with
 * `sub` (the key's owner), `jti`, `kid`, `scope` (the key's) and `src` (the key id). Authenticated from the
 * keys service's own store (read-your-writes: a key works here as soon as its creation returned).
 */
export class TokensService {
  constructor(private readonly deps: TokensDeps) {}

  async issue(
    authorization: string | string[] | undefined,
    /** Validates the body; called only once the caller is authenticated. */
    parseBody: () => { expiresInSeconds?: number },
    rawBody: unknown,
    meta: RequestMeta,
  ): Promise<{ body: IssuedToken; replayed: boolean }> {
    const { key, owner } = await this.authenticate(authorization);
    // The body is validated after authentication: an anonymous caller learns nothing about the endpoint.
    const requested = parseBody().expiresInSeconds;
    if (requested !== undefined) {
      // Machine users may get up to the key policy's maximum, everyone else 3600 s (CONTRACT section 3).
      const { policy } = await this.deps.policy.current();
      const max = maxServiceTokenLifetime(policy, owner?.kind);
      if (requested > max) {
        const who = owner?.kind === 'machine' ? 'a machine user under the key policy' : 'this user';
        throw new ApiError(
          'validation-failed',
          `expiresInSeconds must be at most ${max} (the longest service token for ${who})`,
          [{ field: 'expiresInSeconds', message: `at most ${max} seconds` }],
        );
      }
    }
    const idempotency = meta.idempotencyKey;
    const fingerprint = requestFingerprint('POST /v1/tokens', key.keyId, rawBody);
    const remembered =
      idempotency === undefined
        ? undefined
        : await reused(() => this.deps.requests.lookup(key.keyId, idempotency, fingerprint));
    if (remembered) return { body: { ...(remembered as Omit<IssuedToken, 'token'>), token: null }, replayed: true };

    const now = this.deps.clock();
    const signer = await this.deps.signingKeys.signer(now);
    if (!signer) {
      const wait = this.deps.signingKeys.secondsUntilActivation(now) ?? 5;
      throw new ApiError('unavailable', 'no service-token signing key is active yet; retry shortly', undefined, {
        'Retry-After': String(wait),
      });
    }
    // A token never outlives the key it was exchanged for (nor a rotated key's overlap).
    const stopsAt = keyStopsAt(key);
    const keyLeft = stopsAt === null ? Number.POSITIVE_INFINITY : Math.floor((Date.parse(stopsAt) - now) / 1000);
    const lifetime = Math.min(requested ?? SERVICE_TOKEN_MAX_LIFETIME_SECONDS, keyLeft);
    if (lifetime < 1) throw refusal('key-expired');
    const signed = await signer.sign({
      subject: key.userId!,
      scope: key.scope!,
      source: key.keyId,
      expiresInSeconds: lifetime,
    });
    const body: IssuedToken = {
      token: signed.token,
      tokenType: 'Bearer',
      scope: key.scope!,
      expiresAt: iso(signed.expiresAt),
    };
    if (idempotency !== undefined) {
      const { token: _token, ...withoutToken } = body;
      const winner = await reused(() => this.deps.requests.remember(key.keyId, idempotency, fingerprint, withoutToken));
      if (winner) return { body: { ...(winner as Omit<IssuedToken, 'token'>), token: null }, replayed: true };
    }
    return { body, replayed: false };
  }

  /** The API key in `Authorization`: known, a user key, neither revoked nor expired, its owner not deactivated. */
  private async authenticate(authorization: string | string[] | undefined) {
    const parsed = parseAuthorization(authorization);
    if (parsed.type === 'none') throw refusal('credential-missing');
    if (parsed.type === 'malformed')
      throw parsed.detail === 'not-a-key-or-jwt' ? apiKeyRequired() : refusal('credential-malformed');
    if (parsed.type === 'jwt') throw apiKeyRequired();
    if (parsed.kind === 'access') throw refusal('key-scope-invalid');
    const hash = hashSecret(parsed.key);
    const key = await this.deps.reads.bySecretHash(hash);
    if (!key || !constantTimeEqualHex(key.secretHash, hash)) throw refusal('key-unknown');
    if (key.kind !== 'user-key') throw refusal('key-scope-invalid');
    const status = keyStatus(key, iso(this.deps.clock()));
    if (status === 'revoked') throw refusal('key-revoked');
    if (status === 'expired') throw refusal('key-expired');
    // Unknown to the directory (e.g. identity not running yet) is not a refusal: the key is ours and valid.
    const owner = await this.deps.directory.user(key.userId!);
    if (owner?.deactivated) throw refusal('user-deactivated');
    return { key, owner };
  }
}

async function reused<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof IdempotencyKeyReusedError) throw idempotencyKeyReused();
    throw error;
  }
}
