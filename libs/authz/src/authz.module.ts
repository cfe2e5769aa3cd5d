import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  ACCESS_MODEL,
  type AccessModel,
  createModelTokenVerifier,
  FRESHNESS,
  type Freshness,
  KEY_USAGE,
  type KeyUsage,
} from '@tollgate/access-model';
import { type IssuerConfig, IssuerRegistry } from '@tollgate/authn';
import { ReadinessChecks, serveBeforeFramework, type ServiceContext } from '@tollgate/platform';
import { authzMetrics } from './authz.metrics';
import { AuthzChecker } from './check';
import { DecisionRecorder } from './decision-log';
import { Doors } from './doors/doors';
import { ExtAuthzDoor } from './doors/ext-authz.grpc';
import { forwardAuthRoute } from './doors/forward-auth.route';
import { LoadShedder } from './doors/load-shedder';
import { AuthorizeController, ForwardAuthController } from './doors/http.controller';
import { RevocationConfirmations } from './revocations/confirmations';
import { RevocationsController } from './revocations/revocations.controller';
import { AUTHZ_CHECKER, AUTHZ_DOORS, AUTHZ_GRPC, REVOCATION_CONFIRMATIONS } from './tokens';

export interface AuthzModuleOptions {
  /** Topic of the revocation confirmations (default `tollgate.authz-confirmations.v1`); tests isolate themselves. */
  confirmationsTopic?: string;
  /** Replica heartbeat period on that topic (default 1000 ms). */
  heartbeatMs?: number;
}

const ISSUERS = Symbol('AUTHZ_ISSUERS');
const SHEDDER = Symbol('AUTHZ_SHEDDER');

/**
 * The gRPC door (`envoy.service.auth.v3.Authorization/Check` on a bare grpc-js server),
 * when `config.grpc.port` is not 0.
 */
export class ExtAuthzGrpcDoor {
  constructor(readonly server: ExtAuthzDoor | undefined) {}
  /** The bound port once the application started (useful when configured as an ephemeral port). */
  get port(): number | undefined {
    return this.server?.port;
  }
}

/**
 * Forward-auth reads headers only. A proxy's subrequest may keep the original `Content-Type` (multipart
 * audio for a transcription model, say) with or without a body: the framework must not parse, refuse (415)
 * or wait for it. Node still reads and discards whatever body arrives.
 */
export function ignoreForwardAuthBodies(fastify: {
  addHook(
    name: 'onRequest',
    hook: (request: { url: string; headers: Record<string, unknown> }, reply: unknown, done: () => void) => void,
  ): unknown;
}): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (request.url.startsWith('/v1/forward-auth') && (request.url.length === 16 || request.url[16] === '?')) {
      delete request.headers['content-type'];
      delete request.headers['content-length'];
      delete request.headers['transfer-encoding'];
    }
    done();
  });
}

/** Starts the gRPC server, the revocation confirmations and the JWKS refresh with the application. */
@Injectable()
class AuthzLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(AUTHZ_GRPC) private readonly grpc: ExtAuthzGrpcDoor,
    @Inject(REVOCATION_CONFIRMATIONS) private readonly confirmations: RevocationConfirmations,
    @Inject(ISSUERS) private readonly issuers: IssuerRegistry,
    @Inject('AUTHZ_CONTEXT') private readonly context: ServiceContext,
    @Inject(AUTHZ_DOORS) private readonly doors: Doors,
    @Inject(SHEDDER) private readonly shedder: LoadShedder,
    @Inject(FRESHNESS) private readonly freshness: Freshness,
    private readonly readiness: ReadinessChecks,
  ) {}

  private grpcError: string | undefined;

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.();
    if (fastify && typeof fastify.addHook === 'function') ignoreForwardAuthBodies(fastify);
    const server = this.adapterHost.httpAdapter?.getHttpServer?.();
    if (server && typeof server.listeners === 'function') {
      const metrics = authzMetrics(this.context.metrics, () => this.freshness.watermarkAgeMs());
      const shed = metrics.shed.labels('forward-auth');
      serveBeforeFramework(
        server,
        forwardAuthRoute({
          doors: this.doors,
          shedder: this.shedder,
          onShed: () => shed.inc(),
          logger: this.context.logger,
        }),
      );
    }
    if (this.grpc.server) {
      // A configured gRPC door that is not listening makes the replica unready: Envoy fails closed, visibly.
      this.readiness.register('ext-authz-grpc', () => ({
        ready: this.grpc.port !== undefined,
        detail: { port: this.grpc.port ?? null, ...(this.grpcError ? { error: this.grpcError } : {}) },
      }));
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    this.issuers.start();
    await this.confirmations.start();
    if (this.grpc.server) {
      try {
        const port = await this.grpc.server.start();
        this.context.logger.info({ port }, 'authz: ext_authz gRPC door listening');
      } catch (err) {
        // The HTTP doors keep serving; /health/ready says why the gRPC one does not.
        this.grpcError = (err as Error).message;
        this.context.logger.error(
          { err, grpcPort: this.context.config.grpc.port },
          'authz: the ext_authz gRPC door could not start (GRPC_PORT=0 turns it off)',
        );
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.grpc.server?.stop();
    await this.confirmations.stop();
    this.issuers.stop();
  }
}

/**
 * The authorizer's three doors over one check (CONTRACT.md section 2): `POST /v1/authorize`,
 * `GET /v1/forward-auth` and gRPC ext_authz on `config.grpc.port`; the decision log and metrics; and
 * revocation confirmation (`GET /v1/revocations/{eventId}`). Needs `AccessModelModule` in the same process.
 */
@Module({})
export class AuthzModule {
  static forRoot(context: ServiceContext, options: AuthzModuleOptions = {}): DynamicModule {
    const { config, logger } = context;
    const issuers = new IssuerRegistry(config.trustedIssuers as IssuerConfig[], {
      onJwksError: (issuer, err) =>
        logger.warn({ issuer, err: err.message }, 'authz: trusted issuer JWKS refresh failed'),
    });
    return {
      module: AuthzModule,
      controllers: [AuthorizeController, ForwardAuthController, RevocationsController],
      providers: [
        { provide: 'AUTHZ_CONTEXT', useValue: context },
        { provide: ISSUERS, useValue: issuers },
        { provide: SHEDDER, useValue: new LoadShedder() },
        {
          provide: AUTHZ_CHECKER,
          inject: [ACCESS_MODEL, FRESHNESS],
          useFactory: (model: AccessModel, freshness: Freshness) =>
            new AuthzChecker({ model, freshness, verifier: createModelTokenVerifier(model, { issuers }) }),
        },
        {
          provide: REVOCATION_CONFIRMATIONS,
          inject: [ACCESS_MODEL, FRESHNESS],
          useFactory: (model: AccessModel, freshness: Freshness) => {
            const metrics = authzMetrics(context.metrics, () => freshness.watermarkAgeMs());
            return new RevocationConfirmations({
              model,
              replicaId: config.replicaId,
              kafka: config.kafka,
              topic: options.confirmationsTopic,
              heartbeatMs: options.heartbeatMs,
              logger,
              // Catching up after an outage is measured too, labelled apart from live propagation.
              onApplied: ({ type, lagMs }) => {
                if (lagMs === null) return;
                const phase = freshness.isFresh() ? 'live' : 'catch-up';
                metrics.propagationSeconds.observe({ type, phase }, lagMs / 1000);
              },
            });
          },
        },
        {
          provide: AUTHZ_DOORS,
          inject: [AUTHZ_CHECKER, FRESHNESS, KEY_USAGE],
          useFactory: (checker: AuthzChecker, freshness: Freshness, usage: KeyUsage) =>
            new Doors(
              checker,
              new DecisionRecorder(
                logger,
                authzMetrics(context.metrics, () => freshness.watermarkAgeMs()),
              ),
              usage.tally,
            ),
        },
        {
          provide: AUTHZ_GRPC,
          inject: [AUTHZ_DOORS],
          useFactory: (doors: Doors) =>
            new ExtAuthzGrpcDoor(
              config.grpc.port === 0
                ? undefined
                : new ExtAuthzDoor({
                    host: config.http.host,
                    port: config.grpc.port,
                    handler: (request) => doors.extAuthz(request),
                    onError: (err) => logger.error({ err }, 'authz: ext_authz check failed'),
                  }),
            ),
        },
        AuthzLifecycle,
      ],
      exports: [AUTHZ_CHECKER, AUTHZ_DOORS, AUTHZ_GRPC, REVOCATION_CONFIRMATIONS],
    };
  }
}
