import { IDENTITY_SCHEMA, IDENTITY_TOPIC } from '@tollgate/contracts';
import { Relay } from '@tollgate/event-store';
import { createKafkaClient, keySealerOf, type ServiceContext } from '@tollgate/platform';
import type { DeploymentsService } from './application/deployments.service';
import { directoryServices } from './application/directory-services';
import type { ExternalAccessPolicyService } from './application/external-access-policy.service';
import { DeploymentProbeService } from './application/probe.service';
import type { ProjectsService } from './application/projects.service';
import type { UsersService } from './application/users.service';
import { HttpGatewayClient } from './gateway/http-gateway-client';
import { ConnectorRegistry } from './idp/connectors';
import { ConsoleSignIn } from './idp/console/console-sign-in';
import { SignInService } from './idp/oidc/sign-in';
import { SignInTokenSigner } from './idp/oidc/sign-in-token-signer';
import { ScimService } from './idp/scim/scim.service';
import { WebhookService } from './idp/webhooks/webhook.service';
import { IdentityStore } from './storage/identity-store';

/**
 * The identity service of one process, without NestJS: its schema (migrations at start), event store and
 * tables, the directory's services (users, projects, deployments, policy), the IdP connectors, and, with Kafka, the relay of `tollgate.identity.v1`.
 */
export class IdentityRuntime {
  readonly users: UsersService;
  readonly projects: ProjectsService;
  readonly deployments: DeploymentsService;
  readonly policy: ExternalAccessPolicyService;
  readonly probe: DeploymentProbeService;
  readonly connectors: ConnectorRegistry;
  readonly signIn: SignInService;
  readonly consoleSignIn: ConsoleSignIn;
  readonly webhooks: WebhookService;
  readonly scim: ScimService;
  private relay: Relay | undefined;

  private constructor(
    readonly store: IdentityStore,
    private readonly context: ServiceContext,
    signer: SignInTokenSigner,
  ) {
    const log = context.logger.child({ component: 'identity' });
    ({
      users: this.users,
      projects: this.projects,
      deployments: this.deployments,
      policy: this.policy,
    } = directoryServices(store));
    const gatewayUrl = context.config.gatewayUrl;
    this.probe = new DeploymentProbeService(
      this.deployments,
      gatewayUrl === undefined ? undefined : new HttpGatewayClient(gatewayUrl),
    );
    this.connectors = new ConnectorRegistry(context.config.idpConnectors, {
      onJwksError: (connector, err) => log.warn({ connector, err: err.message }, 'identity: IdP JWKS refresh failed'),
    });
    this.signIn = new SignInService(this.connectors, this.users, signer);
    this.consoleSignIn = new ConsoleSignIn(this.connectors, this.signIn, log.child({ component: 'console-sign-in' }));
    this.webhooks = new WebhookService(this.connectors, this.users, store.webhookDeliveries);
    this.scim = new ScimService(this.connectors, this.users, store.scim);
  }

  /** Migrates the `identity` schema, creates the built-in admin and the sign-in signing key (all idempotent). */
  static async create(context: ServiceContext): Promise<IdentityRuntime> {
    const store = await IdentityStore.open({
      databaseUrl: context.databaseUrl,
      registry: context.metrics,
      sealer: keySealerOf(context),
    });
    try {
      const signer = await SignInTokenSigner.open(store, { activationDelayMs: context.config.maxStalenessMs });
      const runtime = new IdentityRuntime(store, context, signer);
      await runtime.users.ensureBuiltInAdmin();
      return runtime;
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
  }

  private get log() {
    return this.context.logger.child({ component: 'identity' });
  }

  async start(): Promise<void> {
    this.connectors.start();
    const kafka = this.context.config.kafka;
    if (kafka) {
      this.relay = new Relay({
        dataSource: this.store.dataSource,
        schema: IDENTITY_SCHEMA,
        kafka: createKafkaClient(this.context, 'identity'),
        topic: IDENTITY_TOPIC,
        registry: this.context.metrics,
        partitions: kafka.partitions,
        replication: kafka,
        heartbeatIntervalMs: this.context.config.heartbeatMs,
        logger: this.log,
      });
      await this.relay.start();
    }
  }

  async stop(): Promise<void> {
    this.connectors.stop();
    await this.relay?.stop().catch((err: unknown) => this.log.warn({ err }, 'identity: stopping the relay failed'));
    await this.store.close();
  }

  /** Readiness: the database answers and, with Kafka, the relay runs (active or standby). */
  async readiness(): Promise<{ ready: boolean; detail: Record<string, unknown> }> {
    await this.store.sql.query('SELECT 1');
    const relay = this.relay?.state() ?? 'off';
    return { ready: relay === 'off' || relay === 'active' || relay === 'standby', detail: { relay } };
  }
}
