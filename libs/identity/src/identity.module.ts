import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { keySealerOf, ReadinessChecks, type ServiceContext } from '@tollgate/platform';
import { DeploymentsService } from './application/deployments.service';
import { ExternalAccessPolicyService } from './application/external-access-policy.service';
import { DeploymentProbeService } from './application/probe.service';
import { ProjectsService } from './application/projects.service';
import { UsersService } from './application/users.service';
import { DeploymentsController } from './http/deployments.controller';
import { ExternalAccessPolicyController } from './http/external-access-policy.controller';
import { MeController } from './http/me.controller';
import { ProjectsController } from './http/projects.controller';
import { UsersController } from './http/users.controller';
import { IdpController, SIGN_IN_SERVICE, WEBHOOK_SERVICE } from './idp/idp.controller';
import { CONSOLE_SIGN_IN, ConsoleSignInController } from './idp/console/console-sign-in.controller';
import { RawBodyCapture } from './idp/raw-body';
import { SCIM_SERVICE, ScimController } from './idp/scim/scim.controller';
import { type IdentityModuleOptions, IdentityRuntime } from './identity-runtime';

/** The identity service's runtime (store, directory services, IdP connectors, relay). */
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
  static forRoot(context: ServiceContext, options: IdentityModuleOptions = {}): DynamicModule {
    // Checked here, before anything starts: deployed mode without a KEK stops with exit 1 naming the variable.
    keySealerOf(context);
    return {
      module: IdentityModule,
      controllers: [
        UsersController,
        ProjectsController,
        DeploymentsController,
        ExternalAccessPolicyController,
        MeController,
        IdpController,
        ConsoleSignInController,
        ScimController,
      ],
      providers: [
        { provide: IDENTITY_RUNTIME, useFactory: () => IdentityRuntime.create(context, options) },
        { provide: UsersService, useFactory: (r: IdentityRuntime) => r.users, inject: [IDENTITY_RUNTIME] },
        { provide: ProjectsService, useFactory: (r: IdentityRuntime) => r.projects, inject: [IDENTITY_RUNTIME] },
        { provide: DeploymentsService, useFactory: (r: IdentityRuntime) => r.deployments, inject: [IDENTITY_RUNTIME] },
        { provide: DeploymentProbeService, useFactory: (r: IdentityRuntime) => r.probe, inject: [IDENTITY_RUNTIME] },
        {
          provide: ExternalAccessPolicyService,
          useFactory: (r: IdentityRuntime) => r.policy,
          inject: [IDENTITY_RUNTIME],
        },
        { provide: SIGN_IN_SERVICE, useFactory: (r: IdentityRuntime) => r.signIn, inject: [IDENTITY_RUNTIME] },
        { provide: CONSOLE_SIGN_IN, useFactory: (r: IdentityRuntime) => r.consoleSignIn, inject: [IDENTITY_RUNTIME] },
        { provide: WEBHOOK_SERVICE, useFactory: (r: IdentityRuntime) => r.webhooks, inject: [IDENTITY_RUNTIME] },
        { provide: SCIM_SERVICE, useFactory: (r: IdentityRuntime) => r.scim, inject: [IDENTITY_RUNTIME] },
        RawBodyCapture,
        IdentityLifecycle,
      ],
      exports: [IDENTITY_RUNTIME],
    };
  }
}
