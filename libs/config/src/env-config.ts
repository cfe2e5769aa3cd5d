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
  TOLLGATE_MAX_STALENESS_MS: positiveInt.default(2000),
  TOLLGATE_HEARTBEAT_MS: positiveInt.default(250),
  TOLLGATE_BOOTSTRAP_ADMIN_KEY: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  TOLLGATE_CONFIG: optionalString,
  TOLLGATE_REPLICA_ID: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type EnvConfig = z.infer<typeof envSchema>;
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);
