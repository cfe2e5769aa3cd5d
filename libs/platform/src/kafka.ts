import { readFileSync } from 'node:fs';
import type { KafkaConfig } from '@tollgate/config';
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type KafkaConfig as KafkaJsConfig,
  type logCreator,
  type RetryOptions,
} from 'kafkajs';
import type { Logger } from 'pino';
import type { ServiceContext } from './run-service';

export interface KafkaClientOptions {
  /** The client id is `<config.clientId>-<clientSuffix>`; also the log component. */
  clientSuffix: string;
  /** kafkajs's log goes here through `kafkaLogCreator`; undefined: kafkajs logs nothing (CLI commands). */
  logger?: Logger;
  retry?: RetryOptions;
}

/**
 * The one place a kafkajs client of the product is built: brokers, TLS and SASL from the validated
 * configuration (`KAFKA_*`), so every producer, consumer and admin of every service connects alike.
 */
export function createKafka(config: KafkaConfig, options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: `${config.clientId}-${options.clientSuffix}`,
    ...kafkaConnection(config),
    ...(options.logger
      ? {
          logLevel: KafkaLogLevel.WARN,
          logCreator: kafkaLogCreator(options.logger.child({ component: options.clientSuffix })),
        }
      : { logLevel: KafkaLogLevel.NOTHING }),
    ...(options.retry ? { retry: options.retry } : {}),
  });
}

/** kafkajs's `brokers`, `ssl` and `sasl` for the configuration. */
export function kafkaConnection(config: KafkaConfig): Pick<KafkaJsConfig, 'brokers' | 'ssl' | 'sasl'> {
  const connection: Pick<KafkaJsConfig, 'brokers' | 'ssl' | 'sasl'> = { brokers: config.brokers };
  // Node verifies the broker's certificate and host name (rejectUnauthorized defaults to true).
  if (config.ssl) connection.ssl = Object.keys(config.ssl).length ? { ...config.ssl } : true;
  const sasl = config.sasl;
  if (sasl?.mechanism === 'oauthbearer') {
    const { tokenFile } = sasl;
    // Read at every authentication: the file is a mount that something else keeps fresh.
    connection.sasl = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: readFileSync(tokenFile, 'utf8').trim() }),
    };
  } else if (sasl?.mechanism === 'plain') {
    connection.sasl = { mechanism: 'plain', username: sasl.username, password: sasl.password };
  } else if (sasl?.mechanism === 'scram-sha-256') {
    connection.sasl = { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
  } else if (sasl?.mechanism === 'scram-sha-512') {
    connection.sasl = { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  }
  return connection;
}

/**
 * The kafkajs client of one service component: `createKafka` with kafkajs's log written to the service
 * log (as component `clientSuffix`). Only call it when `context.config.kafka` is set.
 */
export function createKafkaClient(context: ServiceContext, clientSuffix: string): Kafka {
  const kafka = context.config.kafka;
  if (!kafka) throw new Error(`createKafkaClient(${clientSuffix}): Kafka is not configured (KAFKA_BROKERS is not set)`);
  return createKafka(kafka, { clientSuffix, logger: context.logger });
}

/** Kafka refused who we are or how we connect: retrying cannot help, start-up stops with this message. */
export class KafkaAccessError extends Error {
  override readonly name = 'KafkaAccessError';
}

const TLS_FAILURE =
  /CERT|SSL|TLS|self[- ]signed|unable to (?:verify|get local issuer)|Hostname\/IP does not match|wrong version number|EPROTO/i;

/**
 * What a failed first connection means. SASL failures (kafkajs gives up at once) and TLS failures
 * (kafkajs would retry them like a network error) are `KafkaAccessError`s naming the variables to check;
 * anything else (a broker not up yet) is `undefined`: the services keep retrying as they do during outages.
 */
export function classifyKafkaConnectError(config: KafkaConfig, error: unknown): KafkaAccessError | undefined {
  const chain: string[] = [];
  let names = '';
  for (
    let e = error as
        { name?: string; message?: string; code?: string; cause?: unknown; originalError?: unknown } | undefined,
      depth = 0;
    e && depth < 5;
    depth++
  ) {
    names += ` ${e.name ?? ''}`;
    chain.push(`${e.message ?? ''} ${e.code ?? ''}`);
    e = (e.originalError ?? e.cause) as typeof e;
  }
  const text = chain.join(' ');
  const brokers = config.brokers.join(',');
  if (/SASLAuthentication|SASL/.test(names) || /SASL .*authentication failed|Authentication failed/i.test(text)) {
    const sasl = config.sasl;
    const who = sasl
      ? sasl.mechanism === 'oauthbearer'
        ? `the token in ${sasl.tokenFile}`
        : `user '${sasl.username}'`
      : 'no SASL credentials';
    return new KafkaAccessError(
      `Kafka at ${brokers} refused ${sasl?.mechanism.toUpperCase() ?? 'SASL'} authentication for ${who}: ${firstLine(text)}. ` +
        'Check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or _FILE).',
    );
  }
  if (TLS_FAILURE.test(text)) {
    return new KafkaAccessError(
      `TLS to Kafka at ${brokers} failed: ${firstLine(text)}. ` +
        (config.ssl
          ? "Check KAFKA_SSL_CA_FILE (the CA that signed the brokers' certificates; their names must match KAFKA_BROKERS) and KAFKA_SSL_CERT_FILE/KAFKA_SSL_KEY_FILE."
          : 'The brokers may expect TLS: set KAFKA_SSL=true or KAFKA_SSL_CA_FILE.'),
    );
  }
  return undefined;
}

const firstLine = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 300);

/**
 * Start-up check: one admin connection and a metadata request, bounded in time. Wrong credentials or TLS
 * settings throw a `KafkaAccessError` (the process exits 1 saying so) instead of every client retrying
 * forever; an unreachable broker only returns its message (the services retry, as during an outage).
 */
export async function checkKafkaAccess(
  config: KafkaConfig,
  timeoutMs = 15_000,
): Promise<{ reachable: boolean; detail?: string }> {
  const admin = createKafka(config, {
    clientSuffix: 'startup-check',
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  }).admin();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await admin.connect();
        await admin.describeCluster();
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ]);
    return { reachable: true };
  } catch (error) {
    const refused = classifyKafkaConnectError(config, error);
    if (refused) throw refused;
    return { reachable: false, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * What kafkajs says while a broker is away: one line per connection attempt, per retry and per crash, in
 * every client of the process (66-178 error lines per service per outage were counted). The service says
 * what matters itself (a replica going stale and fresh, a writer answering 503), so these go to debug.
 */
const RECONNECT_NOISE =
  /Connection error|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection timeout|Request .* timed out|Failed to connect|not connected|Closed connection|Crash|Restarting the consumer|rebalanc|coordinator is (?:loading|not available)|leader is not available|There is no leader|NOT_LEADER|not the leader|retrying|Retrying|Broker .* disconnected|Connection closed/;

/** Other kafkajs warnings and errors: at most one line per message per window, with the number held back. */
export const KAFKA_LOG_WINDOW_MS = 60_000;

/**
 * kafkajs's log into the service's pino logger (kafkajs's own fields under `kafkajs`): reconnect noise at
 * debug, everything else at its own level but at most once per message per minute.
 */
export function kafkaLogCreator(logger: Logger, now: () => number = Date.now): logCreator {
  const limiter = new LogRateLimiter(KAFKA_LOG_WINDOW_MS, now);
  return () =>
    ({ level, namespace, log }) => {
      const { message, ...extra } = log;
      const noisy = level <= KafkaLogLevel.WARN && RECONNECT_NOISE.test(`${message} ${String(extra.error ?? '')}`);
      if (level > KafkaLogLevel.WARN || noisy) {
        logger.debug({ kafkajs: { namespace, ...extra } }, message);
        return;
      }
      const verdict = limiter.admit(`${level}|${namespace}|${message}`);
      if (!verdict.log) return;
      const fields = {
        kafkajs: { namespace, ...extra },
        ...(verdict.suppressed ? { suppressed: verdict.suppressed } : {}),
      };
      if (level === KafkaLogLevel.ERROR) logger.error(fields, message);
      else logger.warn(fields, message);
    };
}

/** Admits a key at most once per window; says how many were held back since the last admitted one. */
export class LogRateLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  admit(key: string): { log: boolean; suppressed: number } {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry && t - entry.at < this.windowMs) {
      entry.suppressed += 1;
      return { log: false, suppressed: 0 };
    }
    const suppressed = entry?.suppressed ?? 0;
    if (this.last.size > 1000) this.last.clear(); // bounded: messages with ids in them must not grow it forever
    this.last.set(key, { at: t, suppressed: 0 });
    return { log: true, suppressed };
  }
}
