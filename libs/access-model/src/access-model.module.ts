import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { IssuerRegistry, type IssuerConfig } from '@tollgate/authn';
import {
  CALLER_AUTHENTICATOR,
  IN_PROCESS_BUS,
  type InProcessBus,
  ReadinessChecks,
  type ServiceContext,
  settleWithin,
} from '@tollgate/platform';
import { Counter, Gauge, type Registry } from 'prom-client';
import { AccessModel } from './access-model';
import type { WaiverNotice } from './model/waivers';
import { AccessModelCallerAuthenticator, createModelTokenVerifier } from './caller-authenticator';
import { createFreshness, type Freshness } from './freshness';
import { AccessModelRuntime, type AccessModelRuntimeOptions } from './runtime';
import { ACCESS_MODEL, ACCESS_MODEL_RUNTIME, FRESHNESS, KEY_USAGE } from './tokens';
import { KeyUsagePublisher, KeyUsageTally } from './usage/key-usage';
import { BusKeyUsageSink, KafkaKeyUsageSink } from './usage/key-usage-sinks';

export interface AccessModelModuleOptions extends AccessModelRuntimeOptions {
  /** Topic of the key usage (default `tollgate.key-usage.v1`); tests isolate themselves. */
  keyUsageTopic?: string;
}

/**
 * "Last used" of this process: the tally the authorizer's doors and the management APIs' caller
 * authentication count into, and its publisher (every `TOLLGATE_KEY_USAGE_INTERVAL_MS`, `KeysUsed` on
 * `tollgate.key-usage.v1`, or over the in-process bus without Kafka). One per process, like the model.
 */
export class KeyUsage {
  constructor(
    readonly tally: KeyUsageTally,
    readonly publisher: KeyUsagePublisher,
  ) {}
}

/** Publishes key usage from start-up to shutdown; the last interval once more at a clean stop (bounded). */
@Injectable()
class KeyUsageLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(KEY_USAGE) private readonly usage: KeyUsage) {}

  onApplicationBootstrap(): void {
    this.usage.publisher.start();
  }

  async onApplicationShutdown(): Promise<void> {
    // Best effort: a stop never waits long on an unreachable broker (losing an interval is acceptable).
    await settleWithin(this.usage.publisher.stop(), 2000);
  }
}

const ISSUERS = Symbol('ACCESS_MODEL_ISSUERS');

/** Starts the runtime after the module graph is built; registers readiness; stops everything on shutdown. */
@Injectable()
class AccessModelLifecycle implements OnModuleInit, OnModuleDestroy {
  constructor(
    @Inject(ACCESS_MODEL_RUNTIME) private readonly runtime: AccessModelRuntime,
    @Inject(FRESHNESS) private readonly freshness: Freshness,
    @Inject(ISSUERS) private readonly issuers: IssuerRegistry,
    private readonly readiness: ReadinessChecks,
  ) {}

  onModuleInit(): void {
    this.readiness.register('access-model', () => {
      const now = Date.now();
      const status = this.runtime.status();
      return {
        ready: this.freshness.isFresh(now),
        detail: {
          phase: status.phase,
          projection: status.health?.status ?? 'not-started',
          watermarkAgeMs: this.freshness.watermarkAgeMs(now),
          maxStalenessMs: this.freshness.maxStalenessMs,
          ...(status.health?.reason ? { reason: status.health.reason } : {}),
          // Structured, for `tollgate projection status`: the event the projection halted on, and its waiver search.
          ...(status.health?.poison ? { poison: status.health.poison } : {}),
          ...(status.health?.poison && status.waiverLookup?.eventId === status.health.poison.eventId
            ? {
                waiver: {
                  found: status.waiverLookup.waiver
                    ? {
                        waiverEventId: status.waiverLookup.waiver.waiverEventId,
                        waivedBy: status.waiverLookup.waiver.waivedBy,
                      }
                    : null,
                  lastCheckAt: status.waiverLookup.lastCheckAt,
                  ...(status.waiverLookup.error ? { error: status.waiverLookup.error } : {}),
                },
              }
            : {}),
          ...(status.lastError ? { lastError: status.lastError } : {}),
        },
      };
    });
    this.issuers.start();
    // In the background: the application starts even while the writers' tables or Kafka are not there yet.
    this.runtime.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.issuers.stop();
    await this.runtime.stop();
  }
}

/**
 * Global module hosting the process's access model: builds it, restores the latest snapshot, follows the
 * log (Kafka topics when `config.kafka` is set, else the writers' event tables), and provides
 * `ACCESS_MODEL`, `FRESHNESS` and `CALLER_AUTHENTICATOR`; registers readiness and metrics.
 */
@Module({})
export class AccessModelModule {
  static forRoot(context: ServiceContext, options: AccessModelModuleOptions = {}): DynamicModule {
    const model = new AccessModel({
      onListenerError: (err) => context.logger.error({ err }, 'access model: revocation listener failed'),
      onWaiverNotice: (notice) => logWaiverNotice(context.logger, notice),
    });
    const runtime = new AccessModelRuntime(model, context, options);
    const freshness = createFreshness(runtime, { maxStalenessMs: context.config.maxStalenessMs });
    const issuers = new IssuerRegistry(context.config.trustedIssuers as IssuerConfig[], {
      onJwksError: (issuer, err) =>
        context.logger.warn({ issuer, err: err.message }, 'trusted issuer JWKS refresh failed'),
    });
    const tally = new KeyUsageTally();
    const authenticator = new AccessModelCallerAuthenticator({
      model,
      verifier: createModelTokenVerifier(model, { issuers }),
      bootstrapAdminKey: context.config.bootstrapAdminKey,
      freshness,
      // A management key (or a token exchanged for one) calling a management API is a use of that key.
      onKeyUsed: (keyId) => tally.used(keyId),
    });
    registerMetrics(context.metrics, model, runtime, freshness);
    return {
      module: AccessModelModule,
      global: true,
      providers: [
        { provide: ACCESS_MODEL, useValue: model },
        { provide: ACCESS_MODEL_RUNTIME, useValue: runtime },
        { provide: FRESHNESS, useValue: freshness },
        { provide: CALLER_AUTHENTICATOR, useValue: authenticator },
        { provide: ISSUERS, useValue: issuers },
        {
          provide: KEY_USAGE,
          inject: [IN_PROCESS_BUS],
          useFactory: (bus: InProcessBus) => {
            const { config, logger } = context;
            // With Kafka, the topic; without (embedded mode), the keys service of this process through the bus.
            const sink = config.kafka
              ? new KafkaKeyUsageSink({ kafka: config.kafka, topic: options.keyUsageTopic, logger })
              : new BusKeyUsageSink(bus, options.keyUsageTopic);
            return new KeyUsage(
              tally,
              new KeyUsagePublisher({
                tally,
                sink,
                replicaId: config.replicaId,
                intervalMs: config.keyUsageIntervalMs,
                logger,
              }),
            );
          },
        },
        AccessModelLifecycle,
        KeyUsageLifecycle,
      ],
      exports: [ACCESS_MODEL, ACCESS_MODEL_RUNTIME, FRESHNESS, CALLER_AUTHENTICATOR, KEY_USAGE],
    };
  }
}

/** One log line per waiver recorded, per waived event skipped, per mismatch, per invalid `EventWaived`. */
function logWaiverNotice(logger: ServiceContext['logger'], notice: WaiverNotice): void {
  switch (notice.kind) {
    case 'recorded':
      logger.info(
        { ...notice.waiver },
        'access model: waiver recorded (an operator decided this event is applied without effect)',
      );
      return;
    case 'skipped':
      logger.warn(
        {
          ...notice.event,
          waiverEventId: notice.waiver.waiverEventId,
          waivedBy: notice.waiver.waivedBy,
          reason: notice.waiver.reason,
        },
        'access model: waived event applied without effect (operator decision, not an automatic skip)',
      );
      return;
    case 'mismatch':
      logger.error(
        {
          ...notice.event,
          waivers: notice.waivers.map((w) => ({
            waiverEventId: w.waiverEventId,
            streamId: w.streamId,
            eventVersion: w.eventVersion,
          })),
        },
        'access model: a waiver names this event id but another stream or version; the event is applied as usual',
      );
      return;
    case 'invalid':
      logger.error(
        { waiverEventId: notice.waiverEventId, error: notice.error },
        'access model: EventWaived with invalid data ignored (it waives nothing)',
      );
      return;
  }
}

/**
 * The model's own metrics (the runner adds `tollgate_projection_*{projection="access-model"}`). Values are
 * read at scrape time. Registered once per registry.
 */
function registerMetrics(
  registry: Registry,
  model: AccessModel,
  runtime: AccessModelRuntime,
  freshness: Freshness,
): void {
  if (registry.getSingleMetric('tollgate_access_model_fresh')) return;
  const registers = [registry];
  new Gauge({
    name: 'tollgate_access_model_watermark_age_seconds',
    help: 'Now minus the access model watermark (it serves only within the staleness bound); absent before the first watermark',
    registers,
    collect() {
      this.reset();
      const age = freshness.watermarkAgeMs();
      if (age !== null) this.set(age / 1000);
    },
  });
  new Gauge({
    name: 'tollgate_access_model_max_staleness_seconds',
    help: 'The freshness bound (TOLLGATE_MAX_STALENESS_MS): alert rules compare the watermark age and propagation with it',
    registers,
    collect() {
      this.set(freshness.maxStalenessMs / 1000);
    },
  });
  new Gauge({
    name: 'tollgate_access_model_fresh',
    help: '1 when the access model is caught up within the staleness bound and not halted',
    registers,
    collect() {
      this.set(freshness.isFresh() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tollgate_access_model_halted',
    help: '1 when the access model stopped on a poison event (fail closed)',
    registers,
    collect() {
      this.set(runtime.halted() ? 1 : 0);
    },
  });
  new Counter({
    name: 'tollgate_access_model_applied_events_total',
    help: 'Events applied to the access model by this process (a restored snapshot not included)',
    registers,
    collect() {
      this.reset();
      this.inc(model.counts().appliedEvents);
    },
  });
  new Counter({
    name: 'tollgate_access_model_waived_events_total',
    help: 'Events applied without effect because an operator waived them (EventWaived), by this process',
    registers,
    collect() {
      this.reset();
      this.inc(model.counts().waivedEvents);
    },
  });
  new Gauge({
    name: 'tollgate_access_model_waivers',
    help: 'Waivers (operator decisions EventWaived) held by the access model',
    registers,
    collect() {
      this.set(model.counts().waivers);
    },
  });
  new Gauge({
    name: 'tollgate_access_model_entities',
    help: 'Entities held by the access model',
    labelNames: ['kind'],
    registers,
    collect() {
      const c = model.counts();
      this.set({ kind: 'keys' }, c.keys);
      this.set({ kind: 'revoked_keys' }, c.revokedKeys);
      this.set({ kind: 'users' }, c.users);
      this.set({ kind: 'projects' }, c.projects);
      this.set({ kind: 'deployments' }, c.deployments);
      this.set({ kind: 'signing_keys' }, c.signingKeys);
    },
  });
  new Gauge({
    name: 'tollgate_access_model_snapshot_bytes',
    help: 'Compressed size of the last snapshot this process saved',
    registers,
    collect() {
      this.reset();
      const last = runtime.status().lastSnapshot;
      if (last) this.set(last.payloadBytes);
    },
  });
}
