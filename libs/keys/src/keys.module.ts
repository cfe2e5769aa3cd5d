import {
  type DynamicModule,
  Inject,
  Injectable,
  type INestApplicationContext,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ACCESS_MODEL, FRESHNESS } from '@tollgate/access-model';
import {
  IN_PROCESS_BUS,
  type InProcessBus,
  keySealerOf,
  ReadinessChecks,
  type ServiceContext,
} from '@tollgate/platform';
import { AccessKeysController } from './http/access-keys.controller';
import { KeyPolicyController } from './http/key-policy.controller';
import { KeysController } from './http/keys.controller';
import { RevocationsController } from './http/revocations.controller';
import { TokensController } from './http/tokens.controller';
import { KeysRuntime, type KeysModuleOptions } from './keys-runtime';
import { AccessKeysService } from './service/access-keys.service';
import { BootstrapAdminKeyService } from './service/bootstrap-admin-key.service';
import { BulkRevocationService } from './service/bulk-revocation.service';
import type { AccessModelView, FreshnessView } from './service/directory';
import { KeyPolicyService } from './service/key-policy.service';
import { SigningKeysService } from '@tollgate/signing-keys';
import { JwksService } from './service/jwks.service';
import { TokensService } from './service/tokens.service';
import { UserKeysService } from './service/user-keys.service';

/** The keys service's runtime (services, store, background work). */
export const KEYS_RUNTIME = Symbol('KEYS_RUNTIME');

@Injectable()
class KeysLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(KEYS_RUNTIME) private readonly runtime: KeysRuntime,
    private readonly readiness: ReadinessChecks,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('keys', () => this.runtime.readiness());
    await this.runtime.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runtime.stop();
  }
}

/**
 * The keys service: user API keys, model access keys, the key policy, service tokens and their signing
 * keys (writer of `tollgate.keys.v1`). Needs the process's `AccessModelModule` (caller authentication,
 * users, projects and deployments).
 */
@Module({})
export class KeysModule {
  static forRoot(context: ServiceContext, options: KeysModuleOptions = {}): DynamicModule {
    // Checked here, before anything starts: deployed mode without a KEK stops with exit 1 naming the variable.
    const sealer = keySealerOf(context);
    const fromRuntime = <T>(provide: abstract new (...args: never[]) => T, pick: (runtime: KeysRuntime) => T) => ({
      provide,
      useFactory: pick,
      inject: [KEYS_RUNTIME],
    });
    return {
      module: KeysModule,
      controllers: [KeysController, KeyPolicyController, AccessKeysController, TokensController, RevocationsController],
      providers: [
        {
          provide: KEYS_RUNTIME,
          useFactory: (model: AccessModelView, freshness: FreshnessView, bus: InProcessBus) =>
            KeysRuntime.create(context, options, model, freshness, sealer, bus),
          inject: [ACCESS_MODEL, FRESHNESS, IN_PROCESS_BUS],
        },
        fromRuntime(UserKeysService, (r) => r.userKeys),
        fromRuntime(KeyPolicyService, (r) => r.policy),
        fromRuntime(AccessKeysService, (r) => r.accessKeys),
        fromRuntime(BulkRevocationService, (r) => r.bulkRevocations),
        fromRuntime(SigningKeysService, (r) => r.signingKeys),
        fromRuntime(JwksService, (r) => r.jwks),
        fromRuntime(TokensService, (r) => r.tokens),
        fromRuntime(BootstrapAdminKeyService, (r) => r.bootstrap),
        KeysLifecycle,
      ],
      exports: [KEYS_RUNTIME, BootstrapAdminKeyService],
    };
  }
}

/**
 * Banner lines of the keys service for `runService`'s `banner`: on the first start without
 * `TOLLGATE_BOOTSTRAP_ADMIN_KEY`, the bootstrap admin management key (shown once, then forgotten).
 */
export function keysBanner(app: INestApplicationContext): string[] {
  return app.get(BootstrapAdminKeyService, { strict: false }).bannerLines();
}
