import { type DynamicModule, Module } from '@nestjs/common';
import type { KeyEncryptionKey } from '@tollgate/authn';
import { ConfigError, loadConfig, type TollgateConfig } from '@tollgate/config';
import { startEmbeddedPostgres } from '@tollgate/database';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { HealthModule } from './health';
import { dataDirKeyEncryptionKey } from './key-encryption';
import { createHttpApp } from './http-app';
import { checkKafkaAccess, KafkaAccessError } from './kafka';
import { createLogger } from './logger';
import { createMetricsRegistry, MetricsModule } from './metrics';
import { InProcessBus } from './in-process-bus';
import { CONFIG, DATABASE_URL, IN_PROCESS_BUS, LOGGER } from './tokens';

/** How long a stop waits for the app to close before stopping the rest anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

/** What every service module is built from. */
export interface ServiceContext {
  config: TollgateConfig;
  logger: Logger;
  metrics: Registry;
  databaseUrl: string;
  /** Seals private signing keys at rest; undefined in deployed mode without one (see `keySealerOf`). */
  keyEncryptionKey?: KeyEncryptionKey;
}

export interface ServiceDefinition {
  /** e.g. `tollgate` (embedded, all services), `keys`, `identity`, `authz`. */
  name: string;
  openApiTitle?: string;
  /** This process serves the web console (`ConsoleModule`): the banner says where. */
  console?: boolean;
  /** The feature modules this process hosts. */
  modules(context: ServiceContext): DynamicModule[] | Promise<DynamicModule[]>;
  /** Lines printed once the process listens (URL, OpenAPI, the bootstrap credential…). */
  banner?(app: NestFastifyApplication, context: ServiceContext): Promise<string[]> | string[];
}

/** The module that gives every feature module the shared providers (config, logger, metrics, health). */
export function coreModule(context: ServiceContext, features: DynamicModule[]): DynamicModule {
  @Module({})
  class TollgateRootModule {}
  return {
    module: TollgateRootModule,
    global: true,
    imports: [MetricsModule.forRoot(context.metrics), HealthModule, ...features],
    providers: [
      { provide: CONFIG, useValue: context.config },
      { provide: LOGGER, useValue: context.logger },
      { provide: DATABASE_URL, useValue: context.databaseUrl },
      // One per process: the services of an embedded process exchange key usage through it.
      { provide: IN_PROCESS_BUS, useValue: new InProcessBus() },
    ],
    exports: [CONFIG, LOGGER, DATABASE_URL, IN_PROCESS_BUS],
  };
}

/**
 * Starts one Tollgate process: validated configuration (exit 1 naming the field when invalid), JSON logs,
 * PostgreSQL (embedded under TOLLGATE_DATA_DIR when DATABASE_URL is unset), the HTTP app, graceful stop.
 */
export async function runService(definition: ServiceDefinition, env = process.env): Promise<void> {
  let config: TollgateConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tollgate: invalid configuration\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel).child({ service: definition.name });
  const metrics = createMetricsRegistry();
  const stops: (() => Promise<void>)[] = [];
  let app: NestFastifyApplication | undefined;
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    // Bounded: with Kafka unreachable, clients retry on close; the process must still stop, and stop its
    // embedded PostgreSQL, within a predictable time.
    const closed = app?.close().catch((err: unknown) => logger.error({ err }, 'error while closing the app'));
    const timedOut = await Promise.race([
      closed?.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), SHUTDOWN_GRACE_MS).unref()),
    ]);
    if (timedOut) logger.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'the app did not close in time; stopping anyway');
    for (const s of stops.reverse()) await s().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    logger.flush();
    process.exit(0);
  };
  // runService owns the signals (not Nest's enableShutdownHooks, which re-raises the signal after closing
  // the app and so kills the process before the embedded PostgreSQL has stopped).
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  try {
    if (config.kafka) {
      // Wrong credentials or TLS settings stop start-up here, clearly, instead of every client retrying.
      const kafka = await checkKafkaAccess(config.kafka);
      if (!kafka.reachable)
        logger.warn(
          { brokers: config.kafka.brokers, err: kafka.detail },
          'Kafka is not reachable yet; the services retry',
        );
    }
    let databaseUrl = config.databaseUrl;
    let keyEncryptionKey = config.keyEncryptionKey;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres({ dataDir: config.dataDir });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
      logger.info({ port: pg.port, dataDir: config.dataDir }, 'embedded PostgreSQL started');
      keyEncryptionKey ??= dataDirKeyEncryptionKey(config.dataDir, logger);
    }
    const context: ServiceContext = { config, logger, metrics, databaseUrl, keyEncryptionKey };
    const root = coreModule(context, await definition.modules(context));
    app = await createHttpApp(root, { logger, metrics, openApiTitle: definition.openApiTitle });
    await app.listen(config.http.port, config.http.host);
    const url = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`;
    const lines = [
      `Tollgate ${definition.name} listening on ${url}`,
      ...(definition.openApiTitle ? [`OpenAPI: ${url}/docs (JSON: ${url}/docs-json)`] : []),
      ...(definition.console ? [`Console: ${url}/console/`] : []),
      ...((await definition.banner?.(app, context)) ?? []),
    ];
    // Human-facing banner on stderr: stdout carries only JSON log lines.
    process.stderr.write(`${lines.join('\n')}\n`);
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`tollgate: invalid configuration\n${err.message}\n`);
    if (err instanceof KafkaAccessError) process.stderr.write(`tollgate: cannot use Kafka\n${err.message}\n`);
    logger.fatal({ err }, 'start-up failed');
    for (const s of stops.reverse()) await s().catch(() => undefined);
    logger.flush();
    process.exit(1);
  }
}
