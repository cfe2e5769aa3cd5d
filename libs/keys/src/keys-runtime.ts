import {
  IDENTITY_SCHEMA,
  IDENTITY_TOPIC,
  KEYS_SCHEMA,
  KEYS_TOPIC,
  SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS,
  SIGNING_KEYS_STREAM,
} from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import {
  interruptibleSleep,
  KafkaLogSource,
  PostgresEventStore,
  PostgresLogSource,
  ProjectionRunner,
  Relay,
  type LogSource,
  type ProjectionPosition,
} from '@tollgate/event-store';
import type { KeySealer } from '@tollgate/authn';
import { createKafkaClient, type InProcessBus, type ServiceContext } from '@tollgate/platform';
import type { DataSource } from 'typeorm';
import { defaultSigningKeySchedule, type SigningKeySchedule, SigningKeysService } from '@tollgate/signing-keys';
import type { Clock } from './domain/time';
import { BootstrapAdminKeyService } from './service/bootstrap-admin-key.service';
import { AccessKeysService } from './service/access-keys.service';
import { BulkRevocationService } from './service/bulk-revocation.service';
import { accessModelDirectory, type AccessModelView, type FreshnessView } from './service/directory';
import { JwksService } from './service/jwks.service';
import { KeyPolicyService } from './service/key-policy.service';
import { TokensService } from './service/tokens.service';
import { RotationSweeper } from './service/rotation-sweeper';
import { UserDeactivationReactor } from './service/user-deactivation.reactor';
import { UserKeysService } from './service/user-keys.service';
import { PostgresCheckpointStore } from './storage/checkpoints';
import { PostgresLocks } from './storage/locks';
import { keysMigrations } from './storage/migrations';
import { PostgresKeyReadModel } from './storage/postgres-key-read-model';
import { PostgresRateLimiter } from './storage/rate-buckets';
import { PostgresSigningKeyVault } from './storage/signing-key-vault';
import { PostgresTokenRequestStore } from './storage/token-requests';
import { KeyUsageFollower } from './usage/key-usage-follower';

export interface KeysModuleOptions {
  /** Overrides of the signing-key rotation schedule (defaults: `defaultSigningKeySchedule`). */
  signingKeySchedule?: Partial<SigningKeySchedule>;
  /** Key creations per key owner per minute (default 30). */
  keyCreationsPerMinute?: number;
  /** How often the signing-key schedule runs (default 60 000 ms). */
  maintenanceIntervalMs?: number;
  /**
   * How often ended key rotations get their `KeyRevoked` (default 1000 ms). Enforcement does not wait for
   * it (the `KeyRotated` already ends the key on time); it bounds when the revocation is confirmable.
   */
  rotationSweepIntervalMs?: number;
  /** React to the identity service's `UserDeactivated` (default true). */
  reactToIdentityEvents?: boolean;
  /** Topic of the authz replicas' key usage (default `tollgate.key-usage.v1`); tests isolate themselves. */
  keyUsageTopic?: string;
  clock?: Clock;
}

const REACTOR = 'user-deactivation';

/**
 * The keys service of one process, without NestJS: its schema and migrations, event store, read model,
 * services, and the background work (signing-key schedule, relay to Kafka, reaction to identity events).
 */
export class KeysRuntime {
  readonly userKeys: UserKeysService;
  readonly policy: KeyPolicyService;
  readonly accessKeys: AccessKeysService;
  readonly bulkRevocations: BulkRevocationService;
  readonly signingKeys: SigningKeysService;
  readonly jwks: JwksService;
  readonly tokens: TokensService;
  readonly bootstrap: BootstrapAdminKeyService;
  readonly reactor: UserDeactivationReactor;
  readonly rotations: RotationSweeper;
  readonly store: PostgresEventStore;
  /** "Last used" of the key listings, from the authz replicas' `KeysUsed` batches. */
  readonly keyUsage: KeyUsageFollower;
  private readonly vault: PostgresSigningKeyVault;
  private relay: Relay | undefined;
  private runner: ProjectionRunner | undefined;
  private reactorLoop: Promise<void> | undefined;
  private sweeping: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private wake: (() => void) | undefined;
  private lastCheckpoint = '';

  private constructor(
    readonly dataSource: DataSource,
    private readonly context: ServiceContext,
    private readonly options: KeysModuleOptions,
    model: AccessModelView,
    freshness: FreshnessView,
    sealer: KeySealer,
    bus: InProcessBus | undefined,
  ) {
    const clock = options.clock ?? Date.now;
    const logger = context.logger.child({ component: 'keys' });
    this.store = new PostgresEventStore({ dataSource, schema: KEYS_SCHEMA, registry: context.metrics });
    const reads = new PostgresKeyReadModel(dataSource);
    this.keyUsage = new KeyUsageFollower({
      store: reads,
      logger,
      clock,
      topic: options.keyUsageTopic,
      kafka: context.config.kafka,
      bus,
    });
    const directory = accessModelDirectory(model, freshness);
    const limiter = new PostgresRateLimiter(dataSource, options.keyCreationsPerMinute ?? 30);
    this.policy = new KeyPolicyService(this.store);
    this.userKeys = new UserKeysService({ store: this.store, reads, policy: this.policy, directory, limiter, clock });
    this.accessKeys = new AccessKeysService({
      store: this.store,
      reads,
      directory,
      limiter,
      locks: new PostgresLocks(dataSource),
      clock,
    });
    this.bulkRevocations = new BulkRevocationService({ store: this.store, reads, directory, clock });
    this.signingKeys = new SigningKeysService({
      stream: SIGNING_KEYS_STREAM,
      name: 'keys',
      store: this.store,
      vault: (this.vault = new PostgresSigningKeyVault(dataSource, sealer)),
      schedule: { ...defaultSigningKeySchedule(context.config.maxStalenessMs), ...options.signingKeySchedule },
      // Only a policy raised above the standard hour (machine users) lengthens the schedule: a policy never
      // raised adds nothing to the schedule's own token lifetime (short in tests, an hour by default).
      longestTokenLifetimeSeconds: async () => {
        const longest = await this.policy.longestServiceTokenLifetimeEver();
        return longest > SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS ? longest : 0;
      },
      clock,
      logger,
    });
    this.jwks = new JwksService(this.signingKeys, model);
    this.tokens = new TokensService({
      reads,
      directory,
      signingKeys: this.signingKeys,
      requests: new PostgresTokenRequestStore(dataSource),
      policy: this.policy,
      clock,
    });
    this.bootstrap = new BootstrapAdminKeyService({
      store: this.store,
      policy: this.policy,
      clock,
      configuredKey: context.config.bootstrapAdminKey,
      logger,
    });
    this.rotations = new RotationSweeper({ store: this.store, reads, clock, logger });
    this.reactor = new UserDeactivationReactor({
      store: this.store,
      reads,
      clock,
      logger,
      stopping: () => this.stopping,
    });
  }

  /**
   * Connects and migrates the `keys` schema (idempotent; concurrent starters serialise on a lock); signing
   * keys are sealed with `sealer` (`keySealerOf(context)`).
   */
  static async create(
    context: ServiceContext,
    options: KeysModuleOptions,
    model: AccessModelView,
    freshness: FreshnessView,
    sealer: KeySealer,
    bus?: InProcessBus,
  ): Promise<KeysRuntime> {
    const dataSource = createDataSource({
      url: context.databaseUrl,
      schema: KEYS_SCHEMA,
      migrations: keysMigrations(),
      name: 'tollgate-keys',
    });
    try {
      await runMigrations(dataSource);
    } catch (error) {
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
      throw error;
    }
    return new KeysRuntime(dataSource, context, options, model, freshness, sealer, bus);
  }

  private get log() {
    return this.context.logger.child({ component: 'keys' });
  }

  /** Bootstrap key and first signing key before the process takes traffic; the rest in the background. */
  async start(): Promise<void> {
    // Rows written before sealing existed (or under a previous KEK this process holds) are sealed first.
    const sealed = await this.vault.sealAll();
    if (sealed.sealed + sealed.rewrapped > 0) this.log.info(sealed, 'keys: signing keys sealed under the current KEK');
    await this.bootstrap.ensure();
    await this.signingKeys.maintain();
    const every = this.options.maintenanceIntervalMs ?? 60_000;
    const timer = setInterval(() => {
      this.signingKeys
        .maintain()
        .catch((err: unknown) => this.log.warn({ err }, 'keys: signing-key maintenance failed'));
    }, every);
    timer.unref();
    this.timers.push(timer);
    this.startRotationSweeps();
    const kafka = this.context.config.kafka;
    if (kafka) {
      this.relay = new Relay({
        dataSource: this.dataSource,
        schema: KEYS_SCHEMA,
        kafka: createKafkaClient(this.context, 'keys'),
        topic: KEYS_TOPIC,
        registry: this.context.metrics,
        partitions: kafka.partitions,
        replication: kafka,
        heartbeatIntervalMs: this.context.config.heartbeatMs,
        logger: this.log,
      });
      await this.relay.start();
    }
    if (this.options.reactToIdentityEvents ?? true) this.reactorLoop = this.runReactor();
    this.keyUsage.start();
  }

  /** Sweeps ended key rotations on a timer; one sweep at a time in this process (others may sweep too). */
  private startRotationSweeps(): void {
    const timer = setInterval(() => {
      if (this.sweeping || this.stopping) return;
      this.sweeping = this.rotations
        .sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.log.warn({ err }, 'keys: revoking ended key rotations failed; retrying'))
        .finally(() => (this.sweeping = undefined));
    }, this.options.rotationSweepIntervalMs ?? 1_000);
    timer.unref();
    this.timers.push(timer);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    for (const timer of this.timers) clearInterval(timer);
    await this.keyUsage.stop().catch((err: unknown) => this.log.warn({ err }, 'keys: stopping key usage failed'));
    await this.reactorLoop;
    await this.sweeping;
    if (this.runner) {
      await this.saveCheckpoint();
      await this.runner
        .stop()
        .catch((err: unknown) => this.log.warn({ err }, 'keys: stopping the identity reactor failed'));
    }
    await this.relay?.stop().catch((err: unknown) => this.log.warn({ err }, 'keys: stopping the relay failed'));
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /** Readiness: the database answers and, with Kafka, the relay runs (active or standby). */
  async readiness(): Promise<{ ready: boolean; detail: Record<string, unknown> }> {
    await this.dataSource.query('SELECT 1');
    const relay = this.relay?.state() ?? 'off';
    // On the very first start the first signing key activates a few seconds after it is published (so every
    // verifier knows it before a token signed with it exists): until then POST /v1/tokens could only answer
    // 503, so the service is not ready yet. Later starts find the active key at once.
    const signingKey = (await this.signingKeys.signer()) ? 'active' : 'pending';
    return {
      ready: (relay === 'off' || relay === 'active' || relay === 'standby') && signingKey === 'active',
      detail: { relay, signingKey, identityReactor: this.runner?.health().status ?? 'not-started' },
    };
  }

  /** Follows the identity log (Kafka topic, or the identity schema's table in embedded mode) for `UserDeactivated`. */
  private async runReactor(): Promise<void> {
    const checkpoints = new PostgresCheckpointStore(this.dataSource);
    for (let backoff = 250; !this.stopping; backoff = Math.min(backoff * 2, 5_000)) {
      try {
        const source = await this.identitySource();
        if (!source || this.stopping) return;
        const from = this.runner?.position() ?? (await checkpoints.load(REACTOR));
        this.runner = new ProjectionRunner({
          name: 'keys-user-deactivation',
          source,
          projection: this.reactor,
          registry: this.context.metrics,
          from,
          logger: this.log,
        });
        await this.runner.start();
        const timer = setInterval(() => void this.saveCheckpoint(), 2_000);
        timer.unref();
        this.timers.push(timer);
        this.log.info({}, 'keys: following identity events (UserDeactivated)');
        return;
      } catch (err) {
        if (this.stopping) return;
        this.log.warn({ err, retryInMs: backoff }, 'keys: starting the identity reactor failed; retrying');
        await this.runner?.stop().catch(() => undefined);
        await this.sleep(backoff);
      }
    }
  }

  private async identitySource(): Promise<LogSource | undefined> {
    const kafka = this.context.config.kafka;
    if (kafka) {
      return new KafkaLogSource({
        kafka: createKafkaClient(this.context, 'keys'),
        topics: [IDENTITY_TOPIC],
        groupIdPrefix: `tollgate-keys-${this.context.config.replicaId.replace(/[^A-Za-z0-9._-]/g, '_')}`,
        partitionsIfCreated: kafka.partitions,
        replicationIfCreated: kafka,
        logger: this.log,
      });
    }
    // Embedded mode: the identity service creates its table through its own migrations; wait for it.
    for (let logged = false; !this.stopping;) {
      const [row]: { ok: boolean }[] = await this.dataSource.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
        `"${IDENTITY_SCHEMA}".events`,
      ]);
      if (row?.ok)
        return new PostgresLogSource({
          dataSource: this.dataSource,
          stores: [{ schema: IDENTITY_SCHEMA }],
          logger: this.log,
        });
      if (!logged) {
        this.log.info({}, 'keys: waiting for the identity event table');
        logged = true;
      }
      await this.sleep(500);
    }
    return undefined;
  }

  private async saveCheckpoint(): Promise<void> {
    const position: ProjectionPosition | undefined = this.runner?.position();
    if (!position) return;
    const serialised = JSON.stringify(position);
    if (serialised === this.lastCheckpoint) return;
    try {
      await new PostgresCheckpointStore(this.dataSource).save(REACTOR, position);
      this.lastCheckpoint = serialised;
    } catch (err) {
      this.log.warn({ err }, 'keys: saving the identity reactor checkpoint failed');
    }
  }

  private sleep(ms: number): Promise<void> {
    return interruptibleSleep(ms, (wake) => (this.wake = wake));
  }
}
