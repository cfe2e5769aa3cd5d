import { setTimeout as sleep } from 'node:timers/promises';
import {
  generateServiceSigningKey,
  loadServiceSigningKey,
  ServiceTokenSigner,
  SIGN_IN_SOURCE,
  type SignedServiceToken,
} from '@tollgate/authn';
import { IDENTITY_SIGNING_KEYS_STREAM, type SigningKeyPublished } from '@tollgate/contracts';
import { VersionConflictError } from '@tollgate/event-store';
import type { IdentityStore } from '../../storage/identity-store';

/**
 * Signs the service tokens issued at IdP sign-in (EdDSA, scope `any`, `src: sign-in`) with the identity
 * service's own Ed25519 key. The private key is in `identity.signing_keys`; the public key is published
 * as `SigningKeyPublished` on the identity log (stream `identity-signing-keys`) with `activatesAt` one
 * staleness bound in the future, so every authorizer and the JWKS know it before it signs.
 */
export class SignInTokenSigner {
  private constructor(
    private readonly signer: ServiceTokenSigner,
    private readonly activatesAt: number,
  ) {}

  static async open(
    store: IdentityStore,
    options: { activationDelayMs: number; now?: () => number },
  ): Promise<SignInTokenSigner> {
    const now = options.now ?? Date.now;
    let stored = await store.signingKeys.current();
    if (!stored) {
      const fresh = generateServiceSigningKey();
      stored = await store.signingKeys.createIfAbsent({
        kid: fresh.kid,
        privateKeyPem: fresh.privateKeyPem,
        publicJwk: fresh.publicJwk as Record<string, unknown>,
        activatesAt: new Date(now() + options.activationDelayMs),
      });
    }
    await publish(store, {
      kid: stored.kid,
      publicJwk: stored.publicJwk,
      activatesAt: stored.activatesAt.toISOString(),
    });
    const key = loadServiceSigningKey(stored.privateKeyPem, stored.kid);
    return new SignInTokenSigner(new ServiceTokenSigner(key, { now }), stored.activatesAt.getTime());
  }

  get kid(): string {
    return this.signer.kid;
  }

  /** A sign-in token for `userId` (1 h). Waits for the key's activation if it was published a moment ago. */
  async sign(userId: string): Promise<SignedServiceToken> {
    const wait = this.activatesAt - Date.now();
    if (wait > 0) await sleep(wait);
    return this.signer.sign({ subject: userId, scope: 'any', source: SIGN_IN_SOURCE });
  }
}

/** Appends `SigningKeyPublished` for this kid unless the stream already has it (several replicas may race). */
async function publish(store: IdentityStore, data: SigningKeyPublished): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const slice = await store.events.readStream(IDENTITY_SIGNING_KEYS_STREAM);
    if (slice.events.some((e) => e.type === 'SigningKeyPublished' && (e.data as SigningKeyPublished).kid === data.kid))
      return;
    try {
      await store.events.append(IDENTITY_SIGNING_KEYS_STREAM, slice.version, [{ type: 'SigningKeyPublished', data }], {
        metadata: { actor: 'system', channel: 'system' },
      });
      return;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
    }
  }
  throw new Error('could not publish the identity signing key');
}
