import { IDENTITY_SCHEMA, IDENTITY_SIGNING_KEYS_STREAM, IDENTITY_TOPIC } from '@tollgate/contracts';
import { Relay } from '@tollgate/event-store';
import { createKafkaClient, keySealerOf, type ServiceContext } from '@tollgate/platform';
import { defaultSigningKeySchedule, type SigningKeySchedule, SigningKeysService } from '@tollgate/signing-keys';
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

/** The same knobs as the keys service's `KeysModuleOptions` for its signing key. */
export interface IdentityModuleOptions {
  /** Overrides of the sign-in key's rotation schedule (defaults: `defaultSigningKeySchedule`). */
  signingKeySchedule?: Partial<SigningKeySchedule>;
  /** How often the sign-in key's schedule runs (default 60 000 ms). */
  maintenanceIntervalMs?: number;
  /** How old the stream read behind signing may be (default 30 000 ms; below the CLI's 60 s minimum lead). */
  signerRefreshMs?: number;
  clock?: () => number;
}

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
  /** The sign-in tokens' signing keys (stream `identity-signing-keys`): schedule, on-demand rotation, signer. */
  readonly signingKeys: SigningKeysService;
  private relay: Relay | undefined;
  private timers: NodeJS.Timeout[] = [];

  private constructor(
    readonly store: IdentityStore,
    private readonly context: ServiceContext,
    private readonly options: IdentityModuleOptions,
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
    this.signingKeys = new SigningKeysService({
      stream: IDENTITY_SIGNING_KEYS_STREAM,
      name: 'identity',
      store: store.events,
      vault: store.signingKeys,
      schedule: { ...defaultSigningKeySchedule(context.config.maxStalenessMs), ...options.signingKeySchedule },
      clock: options.clock ?? Date.now,
      logger: log,
      ...(options.signerRefreshMs !== undefined ? { signerRefreshMs: options.signerRefreshMs } : {}),
    });
    this.signIn = new SignInService(this.connectors, this.users, new SignInTokenSigner(this.signingKeys));
    this.consoleSignIn = new ConsoleSignIn(this.connectors, this.signIn, log.child({ component: 'console-sign-in' }));
    this.webhooks = new WebhookService(this.connectors, this.users, store.webhookDeliveries);
    this.scim = new ScimService(this.connectors, this.users, store.scim);
  }

  /**
   * Migrates the `identity` schema, creates the built-in admin and runs the sign-in key's schedule once (all
   * idempotent): the first start publishes the first key, a later one finds it (or publishes a due successor).
   */
  static async create(context: ServiceContext, options: IdentityModuleOptions = {}): Promise<IdentityRuntime> {
    const store = await IdentityStore.open({
      databaseUrl: context.databaseUrl,
      registry: context.metrics,
      sealer: keySealerOf(context),
    });
    try {
      const runtime = new IdentityRuntime(store, context, options);
      await runtime.signingKeys.maintain();
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
    // Every identity process (a standby writer too) runs the schedule: the stream's expected version lets one
    // publish or retire, and the others re-decide to nothing.
    const timer = setInterval(() => {
      this.signingKeys
        .maintain()
        .catch((err: unknown) => this.log.warn({ err }, 'identity: sign-in signing-key maintenance failed'));
    }, this.options.maintenanceIntervalMs ?? 60_000);
    timer.unref();
    this.timers.push(timer);
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
    for (const timer of this.timers) clearInterval(timer);
    this.connectors.stop();
    await this.relay?.stop().catch((err: unknown) => this.log.warn({ err }, 'identity: stopping the relay failed'));
    await this.store.close();
  }

  /** Readiness: the database answers and, with Kafka, the relay runs (active or standby). */
  async readiness(): Promise<{ ready: boolean; detail: Record<string, unknown> }> {
    await this.store.sql.query('SELECT 1');
    const relay = this.relay?.state() ?? 'off';
    // Not a readiness condition: a sign-in in the first key's first seconds waits for its activation.
    const signingKey = (await this.signingKeys.signer()) ? 'active' : 'pending';
    return { ready: relay === 'off' || relay === 'active' || relay === 'standby', detail: { relay, signingKey } };
  }
}
