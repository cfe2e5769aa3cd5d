import { parseKeyEncryptionKey, type KeyEncryptionKey, SealingError } from '@tollgate/authn';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { envSchema } from './env-config';
import { fileConfigSchema, type FileConfig, gatewayUrlSchema } from './file-config';

/** The whole validated configuration of a Tollgate process. */
export interface TollgateConfig {
  http: { port: number; host: string };
  grpc: { port: number };
  /** undefined: start an embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** undefined: embedded mode, no Kafka; the authorizer tails the event tables. */
  kafka: KafkaConfig | undefined;
  maxStalenessMs: number;
  heartbeatMs: number;
  /** How often an authz replica publishes its key usage (`TOLLGATE_KEY_USAGE_INTERVAL_MS`). */
  keyUsageIntervalMs: number;
  bootstrapAdminKey: string | undefined;
  /**
   * Seals private signing keys at rest (`TOLLGATE_KEY_ENCRYPTION_KEY` or `_FILE`). undefined: embedded mode
   * keeps one in the data directory; deployed mode refuses to start the keys and identity services.
   */
  keyEncryptionKey: KeyEncryptionKey | undefined;
  replicaId: string;
  logLevel: string;
  trustedIssuers: FileConfig['trustedIssuers'];
  idpConnectors: FileConfig['idpConnectors'];
  /**
   * The operator's gateway origin (`TOLLGATE_GATEWAY_URL` or the file's `gatewayUrl`), the only place the
   * deployment probe connects to. undefined: no probe (409 `probe-not-configured`).
   */
  gatewayUrl: string | undefined;
}

/** How every Kafka client of the process connects (`createKafka` in @tollgate/platform builds them). */
export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  /** Of the topics Tollgate creates; replication and min ISR undefined: the broker's defaults. */
  partitions: number;
  replicationFactor?: number;
  minInsyncReplicas?: number;
  /** TLS; the PEM texts are read at start-up (undefined `ca`: Node's public CAs). */
  ssl?: { ca?: string; cert?: string; key?: string };
  sasl?: KafkaSaslConfig;
}

export type KafkaSaslConfig =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  /** The token file is read again at every authentication, so a refreshed mount is picked up. */
  | { mechanism: 'oauthbearer'; tokenFile: string };

/** Invalid configuration. The message names the field; a process prints it and exits 1. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const describeIssues = (source: string, error: z.ZodError): string =>
  error.issues
    .map((issue) => {
      const field = issue.path.length
        ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.')
        : '(root)';
      return `${source}: ${field.replace(/\.\[/g, '[')}: ${issue.message}`;
    })
    .join('\n');

function readFileConfig(path: string | undefined): FileConfig {
  if (!path) return fileConfigSchema.parse({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`TOLLGATE_CONFIG: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parseFileConfig(text, path);
}

/** Parses the text of a configuration file (YAML, or JSON when the name ends in .json). */
export function parseFileConfig(text: string, path: string): FileConfig {
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`TOLLGATE_CONFIG: ${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  const parsed = fileConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(describeIssues(path, parsed.error));
  return parsed.data;
}

function readKeyEncryptionKey(value: string | undefined, file: string | undefined): KeyEncryptionKey | undefined {
  if (value !== undefined && file !== undefined) {
    throw new ConfigError(
      'environment: TOLLGATE_KEY_ENCRYPTION_KEY: set either it or TOLLGATE_KEY_ENCRYPTION_KEY_FILE, not both',
    );
  }
  const field = file !== undefined ? 'TOLLGATE_KEY_ENCRYPTION_KEY_FILE' : 'TOLLGATE_KEY_ENCRYPTION_KEY';
  let text = value;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `environment: ${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
  }
  if (text === undefined) return undefined;
  try {
    return parseKeyEncryptionKey(text);
  } catch (err) {
    if (err instanceof SealingError) throw new ConfigError(`environment: ${field}: ${err.message}`);
    throw err;
  }
}

function readSecretFile(field: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`environment: ${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

function readPemFile(field: string, file: string | undefined, label: RegExp): string | undefined {
  if (file === undefined) return undefined;
  const text = readSecretFile(field, file);
  if (!label.test(text)) throw new ConfigError(`environment: ${field}: ${file} holds no PEM ${label.source} block`);
  return text;
}

/**
 * Kafka's connection settings. Everything that can be checked without a broker is checked here, so a
 * half-configured TLS or SASL stops start-up naming the variable instead of failing at the first connect.
 */
function readKafkaConfig(e: z.infer<typeof envSchema>): KafkaConfig | undefined {
  const securityVariables = (
    [
      'KAFKA_SSL',
      'KAFKA_SSL_CA_FILE',
      'KAFKA_SSL_CERT_FILE',
      'KAFKA_SSL_KEY_FILE',
      'KAFKA_SASL_MECHANISM',
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
      'KAFKA_SASL_PASSWORD_FILE',
      'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
      'TOLLGATE_KAFKA_REPLICATION_FACTOR',
      'TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS',
    ] as const
  ).filter((name) => e[name] !== undefined);
  if (!e.KAFKA_BROKERS?.length) {
    // Embedded mode has no Kafka: settings for one are a mistake worth naming, not something to ignore.
    if (securityVariables.length)
      throw new ConfigError(`environment: ${securityVariables[0]}: is set but KAFKA_BROKERS is not (embedded mode)`);
    return undefined;
  }
  const config: KafkaConfig = {
    brokers: e.KAFKA_BROKERS,
    clientId: e.KAFKA_CLIENT_ID,
    partitions: e.TOLLGATE_KAFKA_PARTITIONS,
  };
  if (e.TOLLGATE_KAFKA_REPLICATION_FACTOR !== undefined) config.replicationFactor = e.TOLLGATE_KAFKA_REPLICATION_FACTOR;
  if (e.TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS !== undefined) {
    if (
      e.TOLLGATE_KAFKA_REPLICATION_FACTOR !== undefined &&
      e.TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS > e.TOLLGATE_KAFKA_REPLICATION_FACTOR
    )
      throw new ConfigError(
        'environment: TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS: must not exceed TOLLGATE_KAFKA_REPLICATION_FACTOR (no write could succeed)',
      );
    config.minInsyncReplicas = e.TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS;
  }

  const tlsFiles = e.KAFKA_SSL_CA_FILE ?? e.KAFKA_SSL_CERT_FILE ?? e.KAFKA_SSL_KEY_FILE;
  if (e.KAFKA_SSL === 'false' && tlsFiles !== undefined)
    throw new ConfigError('environment: KAFKA_SSL: is false but a KAFKA_SSL_*_FILE is set');
  if ((e.KAFKA_SSL_CERT_FILE === undefined) !== (e.KAFKA_SSL_KEY_FILE === undefined))
    throw new ConfigError(
      `environment: ${e.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE'}: ` +
        'a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    );
  if (e.KAFKA_SSL === 'true' || tlsFiles !== undefined) {
    const ssl: NonNullable<KafkaConfig['ssl']> = {};
    const ca = readPemFile('KAFKA_SSL_CA_FILE', e.KAFKA_SSL_CA_FILE, /CERTIFICATE/);
    const cert = readPemFile('KAFKA_SSL_CERT_FILE', e.KAFKA_SSL_CERT_FILE, /CERTIFICATE/);
    const key = readPemFile('KAFKA_SSL_KEY_FILE', e.KAFKA_SSL_KEY_FILE, /PRIVATE KEY/);
    if (key !== undefined && /ENCRYPTED/.test(key))
      throw new ConfigError('environment: KAFKA_SSL_KEY_FILE: the key is encrypted; give an unencrypted PEM key');
    if (ca !== undefined) ssl.ca = ca;
    if (cert !== undefined) ssl.cert = cert;
    if (key !== undefined) ssl.key = key;
    config.ssl = ssl;
  }

  const mechanism = e.KAFKA_SASL_MECHANISM;
  const credentials = (['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE'] as const).filter(
    (name) => e[name] !== undefined,
  );
  if (mechanism === undefined) {
    const stray =
      credentials[0] ??
      (e.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE !== undefined ? 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE' : undefined);
    if (stray) throw new ConfigError(`environment: ${stray}: is set but KAFKA_SASL_MECHANISM is not`);
  } else if (mechanism === 'oauthbearer') {
    if (credentials.length)
      throw new ConfigError(`environment: ${credentials[0]}: not used with KAFKA_SASL_MECHANISM=oauthbearer`);
    const tokenFile = e.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE;
    if (tokenFile === undefined)
      throw new ConfigError(
        'environment: KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: required with KAFKA_SASL_MECHANISM=oauthbearer',
      );
    if (!readSecretFile('KAFKA_SASL_OAUTHBEARER_TOKEN_FILE', tokenFile).trim())
      throw new ConfigError(`environment: KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: ${tokenFile} is empty`);
    config.sasl = { mechanism, tokenFile };
  } else {
    if (e.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE !== undefined)
      throw new ConfigError(
        `environment: KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: only used with KAFKA_SASL_MECHANISM=oauthbearer`,
      );
    if (e.KAFKA_SASL_USERNAME === undefined)
      throw new ConfigError(`environment: KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=${mechanism}`);
    if (e.KAFKA_SASL_PASSWORD !== undefined && e.KAFKA_SASL_PASSWORD_FILE !== undefined)
      throw new ConfigError('environment: KAFKA_SASL_PASSWORD: set either it or KAFKA_SASL_PASSWORD_FILE, not both');
    const password =
      e.KAFKA_SASL_PASSWORD_FILE !== undefined
        ? readSecretFile('KAFKA_SASL_PASSWORD_FILE', e.KAFKA_SASL_PASSWORD_FILE).replace(/\r?\n$/, '')
        : e.KAFKA_SASL_PASSWORD;
    if (!password)
      throw new ConfigError(
        `environment: KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM=${mechanism} (or KAFKA_SASL_PASSWORD_FILE)`,
      );
    config.sasl = { mechanism, username: e.KAFKA_SASL_USERNAME, password };
  }
  return config;
}

/** The gateway origin from the environment or the file (one of them: two places could silently disagree). */
function readGatewayUrl(fromEnv: string | undefined, fromFile: string | undefined): string | undefined {
  if (fromEnv !== undefined && fromFile !== undefined)
    throw new ConfigError(
      'environment: TOLLGATE_GATEWAY_URL: set either it or gatewayUrl in TOLLGATE_CONFIG, not both',
    );
  if (fromEnv === undefined) return fromFile;
  const parsed = gatewayUrlSchema.safeParse(fromEnv);
  if (!parsed.success)
    throw new ConfigError(describeIssues('environment', parsed.error).replaceAll('(root)', 'TOLLGATE_GATEWAY_URL'));
  return parsed.data;
}

/** Reads and validates the environment and the `TOLLGATE_CONFIG` file. The only reader of process.env. */
export function loadConfig(env: Record<string, string | undefined> = process.env): TollgateConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(describeIssues('environment', parsed.error));
  const e = parsed.data;
  const file = readFileConfig(e.TOLLGATE_CONFIG);
  return {
    http: { port: e.PORT, host: e.HOST },
    grpc: { port: e.GRPC_PORT },
    databaseUrl: e.DATABASE_URL,
    dataDir: e.TOLLGATE_DATA_DIR,
    kafka: readKafkaConfig(e),
    maxStalenessMs: e.TOLLGATE_MAX_STALENESS_MS,
    heartbeatMs: e.TOLLGATE_HEARTBEAT_MS,
    keyUsageIntervalMs: e.TOLLGATE_KEY_USAGE_INTERVAL_MS,
    bootstrapAdminKey: e.TOLLGATE_BOOTSTRAP_ADMIN_KEY,
    keyEncryptionKey: readKeyEncryptionKey(e.TOLLGATE_KEY_ENCRYPTION_KEY, e.TOLLGATE_KEY_ENCRYPTION_KEY_FILE),
    replicaId: e.TOLLGATE_REPLICA_ID ?? `${hostname()}-${process.pid}`,
    logLevel: e.LOG_LEVEL,
    trustedIssuers: file.trustedIssuers,
    idpConnectors: file.idpConnectors,
    gatewayUrl: readGatewayUrl(e.TOLLGATE_GATEWAY_URL, file.gatewayUrl),
  };
}
