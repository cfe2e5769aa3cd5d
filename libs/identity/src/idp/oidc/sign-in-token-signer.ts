import { setTimeout as sleep } from 'node:timers/promises';
import { SIGN_IN_SOURCE, type SignedServiceToken } from '@tollgate/authn';
import { ApiError } from '@tollgate/contracts';
import type { SigningKeysService } from '@tollgate/signing-keys';

/**
 * Signs the service tokens issued at IdP sign-in (EdDSA, scope `any`, `src: sign-in`) with the identity
 * service's own Ed25519 keys. The keys rotate exactly as the keys service's service-token key does (the
 * shared `SigningKeysService` on the `identity-signing-keys` stream of the identity log): a key is published
 * as `SigningKeyPublished` before it signs, so every authorizer and the JWKS know it first, and retired
 * (`SigningKeyRetired`) once its last token has expired. A token lives the schedule's `tokenLifetimeMs`
 * (1 h), never longer, so none outlives its key.
 */
export class SignInTokenSigner {
  constructor(
    private readonly keys: SigningKeysService,
    /** How long a sign-in may wait for the very first key to activate (it is published a moment before). */
    private readonly maxWaitMs = 10_000,
  ) {}

  /**
   * A sign-in token for `userId`. Waits (at most `maxWaitMs`) for the first key: it may have been published a
   * moment ago and not be active yet, or the start-up schedule run that publishes it may still be under way
   * (then no key is pending yet, and the stream is looked at again shortly).
   */
  async sign(userId: string): Promise<SignedServiceToken> {
    const deadline = Date.now() + this.maxWaitMs;
    let signer = await this.keys.signer();
    while (!signer && Date.now() < deadline) {
      const wait = this.keys.msUntilActivation() ?? 200;
      await sleep(Math.max(1, Math.min(wait, deadline - Date.now())));
      signer = await this.keys.signer();
    }
    if (!signer)
      throw new ApiError('unavailable', 'the sign-in signing key is not active yet; retry shortly', undefined, {
        'Retry-After': '1',
      });
    return signer.sign({
      subject: userId,
      scope: 'any',
      source: SIGN_IN_SOURCE,
      expiresInSeconds: this.keys.tokenLifetimeSeconds,
    });
  }
}
