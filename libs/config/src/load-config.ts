import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { envSchema } from './env-config';
import { fileConfigSchema, type FileConfig } from './file-config';

/** The whole validated configuration of a Tollgate process. */
export interface TollgateConfig {
  http: { port: number; host: string };
  grpc: { port: number };
  /** undefined: start an embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** undefined: embedded mode, no Kafka; the authorizer tails the event tables. */
  kafka: { brokers: string[]; clientId: string; partitions: number } | undefined;
  maxStalenessMs: number;
  heartbeatMs: number;
  bootstrapAdminKey: string | undefined;
  replicaId: string;
  logLevel: string;
  trustedIssuers: FileConfig['trustedIssuers'];
  idpConnectors: FileConfig['idpConnectors'];
}

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
    kafka: e.KAFKA_BROKERS?.length
      ? { brokers: e.KAFKA_BROKERS, clientId: e.KAFKA_CLIENT_ID, partitions: e.TOLLGATE_KAFKA_PARTITIONS }
      : undefined,
    maxStalenessMs: e.TOLLGATE_MAX_STALENESS_MS,
    heartbeatMs: e.TOLLGATE_HEARTBEAT_MS,
    bootstrapAdminKey: e.TOLLGATE_BOOTSTRAP_ADMIN_KEY,
    replicaId: e.TOLLGATE_REPLICA_ID ?? `${hostname()}-${process.pid}`,
    logLevel: e.LOG_LEVEL,
    trustedIssuers: file.trustedIssuers,
    idpConnectors: file.idpConnectors,
  };
}
