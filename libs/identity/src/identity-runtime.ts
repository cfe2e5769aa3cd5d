import { IDENTITY_SCHEMA, IDENTITY_TOPIC } from '@tollgate/contracts';
import { Relay } from '@tollgate/event-store';
import { createKafkaClient, type ServiceContext } from '@tollgate/platform';
import { Directory } from './application/directory';
import { ConnectorRegistry } from './idp/connectors';
import { SignInService } from './idp/oidc/sign-in';
import { SignInTokenSigner } from './idp/oidc/sign-in-token-signer';
import { ScimService } from './idp/scim/scim.service';
import { WebhookService } from './idp/webhooks/webhook.service';
import { IdentityStore } from './storage/identity-store';

/**
 * The identity service of one process, without NestJS: its schema (migrations at start), event store and
 * tables, the directory, the IdP connectors, and, with Kafka, the relay of `tollgate.identity.v1`.
 */
export class IdentityRuntime {
  readonly directory: Directory;
  readonly connectors: ConnectorRegistry;
  readonly signIn: SignInService;
  readonly webhooks: WebhookService;
  readonly scim: ScimService;
  private relay: Relay | undefined;

  private constructor(
    readonly store: IdentityStore,
    private readonly context: ServiceContext,
    signer: SignInTokenSigner,
  ) {
    const log = context.logger.child({ component: 'identity' });
    this.directory = new Directory(store);
    this.connectors = new ConnectorRegistry(context.config.idpConnectors, {
      onJwksError: (connector, err) => log.warn({ connector, err: err.message }, 'identity: IdP JWKS refresh failed'),
    });
    this.signIn = new SignInService(this.connectors, this.directory, signer);
    this.webhooks = new WebhookService(this.connectors, this.directory, store.webhookDeliveries);
    this.scim = new ScimService(this.connectors, this.directory, store.scim);
  }

  /** Migrates the `identity` schema, creates the built-in admin and the sign-in signing key (all idempotent). */
  static async create(context: ServiceContext): Promise<IdentityRuntime> {
    const store = await IdentityStore.open({ databaseUrl: context.databaseUrl, registry: context.metrics });
    try {
      const signer = await SignInTokenSigner.open(store, { activationDelayMs: context.config.maxStalenessMs });
      const runtime = new IdentityRuntime(store, context, signer);
      await runtime.directory.ensureBuiltInAdmin();
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
