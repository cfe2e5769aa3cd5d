import type { DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { parseKeyEncryptionKey } from '@tollgate/authn';
import { loadConfig, type TollgateConfig } from '@tollgate/config';
import {
  configureHttpApp,
  coreModule,
  createFastifyAdapter,
  createLogger,
  createMetricsRegistry,
  type ServiceContext,
} from '@tollgate/platform';
import { pino } from 'pino';
import { createTestDatabase, testKafkaBrokers } from './index';

/**
 * The key-encryption key of test apps without `TOLLGATE_KEY_ENCRYPTION_KEY` in their env: fixed, so an app
 * restarted on the same database opens the keys it sealed (as a deployment would, with its configured KEK).
 */
export const TEST_KEY_ENCRYPTION_KEY = 'dGVzdC1rZWstMDEyMzQ1Njc4OWFiY2RlZmdoaWprbG0=';

export interface TestApp {
  url: string;
  app: NestFastifyApplication;
  context: ServiceContext;
  /** Every JSON log line the app wrote (decision logs, errors…), for assertions such as "no secret logged". */
  logLines: () => string[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Extra environment (e.g. TOLLGATE_MAX_STALENESS_MS); validated like production configuration. */
  env?: Record<string, string>;
  /** Run on the global setup's Kafka (deployed mode) instead of embedded mode. */
  kafka?: boolean;
  /** Reuse a database (e.g. to restart an app on the same data); default: a fresh one, dropped at close. */
  databaseUrl?: string;
  /** Override parts of the loaded configuration (e.g. trusted issuers built in the test). */
  configure?: (config: TollgateConfig) => TollgateConfig;
}

/**
 * Boots feature modules exactly as `runService` does (same core module, same HTTP configuration) on a fresh
 * database of the test PostgreSQL server, listening on a free loopback port.
 */
export async function startTestApp(
  modules: (context: ServiceContext) => DynamicModule[] | Promise<DynamicModule[]>,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const database = options.databaseUrl ? undefined : await createTestDatabase();
  const env: Record<string, string> = {
    LOG_LEVEL: 'info',
    ...(options.kafka ? { KAFKA_BROKERS: testKafkaBrokers().join(',') } : {}),
    ...options.env,
  };
  let config = loadConfig(env);
  if (options.configure) config = options.configure(config);
  const lines: string[] = [];
  const destination = { write: (line: string) => void lines.push(line) };
  const logger = createLogger(config.logLevel, destination as unknown as pino.DestinationStream);
  const metrics = createMetricsRegistry();
  const context: ServiceContext = {
    config,
    logger,
    metrics,
    databaseUrl: options.databaseUrl ?? database!.url,
    keyEncryptionKey: config.keyEncryptionKey ?? parseKeyEncryptionKey(TEST_KEY_ENCRYPTION_KEY),
  };
  const moduleRef = await Test.createTestingModule({
    imports: [coreModule(context, await modules(context))],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createFastifyAdapter(), { logger: false });
  configureHttpApp(app, { logger, metrics, openApiTitle: 'Tollgate', openApiUi: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return {
    url,
    app,
    context,
    logLines: () => lines.slice(),
    close: async () => {
      await app.close();
      await database?.drop();
    },
  };
}
