// Helpers every integration test uses. The infrastructure itself comes from test/setup/global-setup.ts.
import { randomBytes } from 'node:crypto';
import { databaseUrl, dropDatabase, ensureDatabase } from '@tollgate/database';

const RUN_THROUGH =
  'run integration tests with `npm run test:integration` (its global setup starts Kafka and PostgreSQL)';

/** The brokers of the run's Kafka (kafkajs `brokers`). */
export function testKafkaBrokers(): string[] {
  const value = process.env.TOLLGATE_TEST_KAFKA_BROKERS?.trim();
  if (!value) throw new Error(`TOLLGATE_TEST_KAFKA_BROKERS is not set: ${RUN_THROUGH}`);
  return value
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
}

/** The URL of the run's PostgreSQL server (a maintenance database; create your own with createTestDatabase). */
export function testDatabaseServerUrl(): string {
  const value = process.env.TOLLGATE_TEST_DATABASE_URL?.trim();
  if (!value) throw new Error(`TOLLGATE_TEST_DATABASE_URL is not set: ${RUN_THROUGH}`);
  return value;
}

export interface TestDatabase {
  /** URL of a fresh, empty database of its own */
  url: string;
  name: string;
  /** Drops it WITH (FORCE): open connections are terminated. Idempotent. */
  drop(): Promise<void>;
}

/** A fresh, uniquely named database on the run's PostgreSQL server; `drop()` it in `afterAll`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = testDatabaseServerUrl();
  const name = uniqueName('test');
  await ensureDatabase(server, name);
  let dropping: Promise<void> | undefined;
  return { url: databaseUrl(server, name), name, drop: () => (dropping ??= dropDatabase(server, name)) };
}

let counter = 0;

/**
 * `<prefix>_<pid>_<counter><random>`: lower-case letters, digits and `_`, so the result is valid as a
 * topic, consumer group, schema or database name (keep the prefix that way too; at most 40 characters).
 */
export function uniqueName(prefix: string): string {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(prefix)) {
    throw new Error(`uniqueName prefix "${prefix}" must match [a-z][a-z0-9_]{0,39}`);
  }
  counter += 1;
  return `${prefix}_${process.pid}_${counter.toString(36)}${randomBytes(4).toString('hex')}`;
}

export interface EventuallyOptions {
  /** default 10 000 */
  timeoutMs?: number;
  /** default 50 */
  intervalMs?: number;
}

/**
 * Calls `fn` until it returns without throwing (its value is returned) or the deadline passes (the
 * last error is thrown, so a failed `expect` shows its usual diff). Instead of sleeping in tests.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() + intervalMs > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (prefer listening on port 0 when you can). */
export { freeLoopbackPort as freePort } from '@tollgate/database';
