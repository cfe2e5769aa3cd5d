import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/**
 * Every environment variable the product reads (CONTRACT.md section 5 plus operational knobs).
 * docker-compose.yml and the README's configuration table are checked against `ENV_VARIABLES` by a test.
 */
export const envSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  GRPC_PORT: port.default(50051),
  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  TOLLGATE_DATA_DIR: z.string().min(1).default('./.data'),
  KAFKA_BROKERS: optionalString.transform((v) =>
    v
      ? v
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean)
      : undefined,
  ),
  KAFKA_CLIENT_ID: z.string().min(1).default('tollgate'),
  TOLLGATE_KAFKA_PARTITIONS: positiveInt.max(1000).default(6),
  /** Replication factor of the topics Tollgate creates; unset: the broker's `default.replication.factor`. */
  TOLLGATE_KAFKA_REPLICATION_FACTOR: optionalString.pipe(z.coerce.number<string>().int().min(1).max(32).optional()),
  /** `min.insync.replicas` of the topics Tollgate creates; unset: the broker's default. */
  TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS: optionalString.pipe(z.coerce.number<string>().int().min(1).max(32).optional()),
  /** TLS to the brokers: `true`, or implied by a CA or client certificate file. */
  KAFKA_SSL: optionalString.pipe(z.enum(['true', 'false'], "must be 'true' or 'false'").optional()),
  /** PEM file of the CA(s) that signed the brokers' certificates (default: Node's public CAs). */
  KAFKA_SSL_CA_FILE: optionalString,
  /** PEM client certificate and its (unencrypted) key, for brokers that require TLS client authentication. */
  KAFKA_SSL_CERT_FILE: optionalString,
  KAFKA_SSL_KEY_FILE: optionalString,
  KAFKA_SASL_MECHANISM: optionalString
    .transform((v) => v?.toLowerCase())
    .pipe(
      z
        .enum(
          ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'],
          'must be one of plain, scram-sha-256, scram-sha-512, oauthbearer',
        )
        .optional(),
    ),
  KAFKA_SASL_USERNAME: optionalString,
  KAFKA_SASL_PASSWORD: optionalString,
  /** Or a file holding the password (a mounted secret). */
  KAFKA_SASL_PASSWORD_FILE: optionalString,
  /** OAUTHBEARER: a file holding the bearer token, read again at every authentication (a refreshed mount). */
  KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: optionalString,
  TOLLGATE_MAX_STALENESS_MS: positiveInt.default(2000),
  TOLLGATE_HEARTBEAT_MS: positiveInt.default(250),
  /**
   * How often an authz replica publishes the keys it saw in use (`KeysUsed` on tollgate.key-usage.v1): the
   * delay before a key's `lastUsedAt` shows a use. 1 s to 1 h.
   */
  TOLLGATE_KEY_USAGE_INTERVAL_MS: positiveInt.min(1000).max(3_600_000).default(60_000),
  TOLLGATE_BOOTSTRAP_ADMIN_KEY: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  TOLLGATE_CONFIG: optionalString,
  /** The key-encryption key sealing private signing keys at rest: 32 bytes, base64 or hex. */
  TOLLGATE_KEY_ENCRYPTION_KEY: optionalString,
  /** Or a file holding it (e.g. a mounted secret). */
  TOLLGATE_KEY_ENCRYPTION_KEY_FILE: optionalString,
  TOLLGATE_REPLICA_ID: optionalString,
  /** Where the operator's gateway (nginx, Envoy, …) listens, for the console's Test panel probe (`gatewayUrlSchema`). */
  TOLLGATE_GATEWAY_URL: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type EnvConfig = z.infer<typeof envSchema>;
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);
