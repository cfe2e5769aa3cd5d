import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ReadinessChecks, type ServiceContext } from '@tollgate/platform';
import { Directory } from './application/directory';
import {
  DeploymentsController,
  ExternalAccessPolicyController,
  ProjectsController,
  UsersController,
} from './http/directory.controller';
import { MeController } from './http/me.controller';
import { IdpController, SIGN_IN_SERVICE, WEBHOOK_SERVICE } from './idp/idp.controller';
import { RawBodyCapture } from './idp/raw-body';
import { SCIM_SERVICE, ScimController } from './idp/scim/scim.controller';
import { ScimExceptionFilter } from './idp/scim/scim-exception.filter';
import { IdentityRuntime } from './identity-runtime';

/** The identity service's runtime (store, directory, IdP connectors, relay). */
export const IDENTITY_RUNTIME = Symbol('IDENTITY_RUNTIME');

@Injectable()
class IdentityLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(IDENTITY_RUNTIME) private readonly runtime: IdentityRuntime,
    @Inject(ReadinessChecks) private readonly readiness: ReadinessChecks,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('identity', () => this.runtime.readiness());
    await this.runtime.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runtime.stop();
  }
}

/**
 * The identity service: users, projects and collaborators, deployments, the external-access policy, and the
 * IdP connectors (OIDC sign-in, signed webhooks, SCIM 2.0); writer of `tollgate.identity.v1`. Needs the
 * process's `AccessModelModule` (caller authentication, and `GET /v1/me`'s deployments).
 */
@Module({})
export class IdentityModule {
  static forRoot(context: ServiceContext): DynamicModule {
    return {
      module: IdentityModule,
      controllers: [
        UsersController,
        ProjectsController,
        DeploymentsController,
        ExternalAccessPolicyController,
        MeController,
        IdpController,
        ScimController,
      ],
      providers: [
        { provide: IDENTITY_RUNTIME, useFactory: () => IdentityRuntime.create(context) },
        { provide: Directory, useFactory: (r: IdentityRuntime) => r.directory, inject: [IDENTITY_RUNTIME] },
        { provide: SIGN_IN_SERVICE, useFactory: (r: IdentityRuntime) => r.signIn, inject: [IDENTITY_RUNTIME] },
        { provide: WEBHOOK_SERVICE, useFactory: (r: IdentityRuntime) => r.webhooks, inject: [IDENTITY_RUNTIME] },
        { provide: SCIM_SERVICE, useFactory: (r: IdentityRuntime) => r.scim, inject: [IDENTITY_RUNTIME] },
        ScimExceptionFilter,
        RawBodyCapture,
        IdentityLifecycle,
      ],
      exports: [IDENTITY_RUNTIME],
    };
  }
}
