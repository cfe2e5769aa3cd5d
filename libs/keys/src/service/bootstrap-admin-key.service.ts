import { BOOTSTRAP_ADMIN_USER_ID } from '@tollgate/access-model';
import { generateKey, hashSecret } from '@tollgate/authn';
import { keyStream, type KeyCreated } from '@tollgate/contracts';
import { VersionConflictError, type EventStore } from '@tollgate/event-store';
import type { Logger } from 'pino';
import { keyDecider } from '../domain/key.decider';
import type { Clock } from '../domain/time';
import type { KeyPolicyService } from './key-policy.service';
import { systemMetadata } from './support';

/**
 * The management key created for the built-in admin at the very first start when
 * `TOLLGATE_BOOTSTRAP_ADMIN_KEY` is unset. Its id is fixed, so its stream (`key-key_bootstrapAdmin01`,
 * expected version 0) is the guard: only the first start of the first replica creates it.
 */
export const BOOTSTRAP_ADMIN_KEY_ID = 'key_bootstrapAdmin01';

export interface BootstrapAdminKeyDeps {
  store: EventStore;
  policy: KeyPolicyService;
  clock: Clock;
  /** `config.bootstrapAdminKey`: when set, no key is created. */
  configuredKey: string | undefined;
  logger: Pick<Logger, 'info'>;
}

export class BootstrapAdminKeyService {
  private secret: string | undefined;
  private created: KeyCreated | undefined;
  private existed = false;

  constructor(private readonly deps: BootstrapAdminKeyDeps) {}

  /** Creates the key unless configured otherwise or already done. Returns the secret when this call created it. */
  async ensure(): Promise<string | undefined> {
    const { store, policy, clock, configuredKey, logger } = this.deps;
    if (configuredKey) return undefined;
    const stream = keyStream(BOOTSTRAP_ADMIN_KEY_ID);
    if ((await store.readStream(stream)).version > 0) {
      this.existed = true;
      return undefined;
    }
    const secret = generateKey('management');
    const events = keyDecider.decide(
      {
        type: 'CreateUserKey',
        keyId: BOOTSTRAP_ADMIN_KEY_ID,
        secretHash: hashSecret(secret),
        userId: BOOTSTRAP_ADMIN_USER_ID,
        name: 'bootstrap admin',
        scope: 'management',
        requestedExpiresAt: undefined,
        policy: (await policy.current()).policy,
        now: clock(),
      },
      keyDecider.initialState,
    );
    try {
      await store.append(stream, 0, events, { metadata: systemMetadata('bootstrap') });
    } catch (error) {
      if (error instanceof VersionConflictError) {
        this.existed = true;
        return undefined; // another replica's first start won
      }
      throw error;
    }
    this.secret = secret;
    this.created = events[0]!.data as KeyCreated;
    logger.info(
      { keyId: BOOTSTRAP_ADMIN_KEY_ID, userId: BOOTSTRAP_ADMIN_USER_ID },
      'keys: bootstrap admin management key created (shown once in the banner)',
    );
    return secret;
  }

  /** Banner lines; the secret is handed out once and then forgotten by this process. */
  bannerLines(): string[] {
    if (this.deps.configuredKey)
      return ['Admin: TOLLGATE_BOOTSTRAP_ADMIN_KEY authenticates as the built-in admin (usr_admin).'];
    if (this.secret && this.created) {
      const secret = this.secret;
      this.secret = undefined;
      return [
        `Bootstrap admin management key (shown once, store it now): ${secret}`,
        `  acts as the built-in admin (usr_admin); key id ${BOOTSTRAP_ADMIN_KEY_ID}, expires ${this.created.expiresAt ?? 'never'}.`,
        `  Use: curl -H "Authorization: Bearer ${secret.slice(0, 4)}…" …/v1/keys · revoke: DELETE /v1/keys/${BOOTSTRAP_ADMIN_KEY_ID}`,
      ];
    }
    if (this.existed) {
      return [
        `Bootstrap admin key ${BOOTSTRAP_ADMIN_KEY_ID} was created at the first start; lost it? Set TOLLGATE_BOOTSTRAP_ADMIN_KEY.`,
      ];
    }
    return [];
  }
}
