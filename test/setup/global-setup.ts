// Jest global setup: one real Kafka broker and one PostgreSQL server for the whole run (see
// docs/CONVENTIONS.md). Workers find them through TOLLGATE_TEST_KAFKA_BROKERS and
// TOLLGATE_TEST_DATABASE_URL; test/support's helpers read those variables.
//
// Jest loads this file through a require hook (so @swc/jest compiles it to CommonJS): no import.meta
// here, and the heavy modules are imported lazily so a unit-only run loads nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INFRA_KEY, type TestInfrastructure } from './infrastructure';

interface GlobalConfigSubset {
  selectProjects?: string[] | null;
  ignoreProjects?: string[] | null;
}

export default async function globalSetup(globalConfig: GlobalConfigSubset): Promise<void> {
  if (!needsInfrastructure(globalConfig)) return;

  const started = Date.now();
  const infra: TestInfrastructure = { stops: [] };
  (globalThis as Record<string, unknown>)[INFRA_KEY] = infra;
  try {
    // allSettled, not all: when one fails, the other must have finished starting before stopAll().
    const [kafkaResult, postgresResult] = await Promise.allSettled([startTestKafka(infra), startTestPostgres(infra)]);
    if (kafkaResult.status === 'rejected') throw kafkaResult.reason;
    if (postgresResult.status === 'rejected') throw postgresResult.reason;
    const [kafka, postgres] = [kafkaResult.value, postgresResult.value];
    hookSignals(infra);
    process.env.TOLLGATE_TEST_KAFKA_BROKERS = kafka.join(',');
    process.env.TOLLGATE_TEST_DATABASE_URL = postgres;
    process.stderr.write(
      `\ntest infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
        `kafka ${kafka.join(',')} (${seconds(infra.kafkaStartMs)}), ` +
        `postgres ${redact(postgres)} (${infra.postgresStartMs === undefined ? 'TEST_DATABASE_URL' : seconds(infra.postgresStartMs)})\n`,
    );
  } catch (error) {
    await stopAll(infra);
    throw error;
  }
}

/**
 * Everything but a unit-only run needs Kafka and PostgreSQL. Jest 30 does not pass `selectProjects`
 * or `ignoreProjects` in the global config, so they are read from this (jest's main) process's argv.
 * Only the projects that need infrastructure count: `--selectProjects` takes several values, so
 * `jest --selectProjects unit some/path` selects ['unit', 'some/path'], still a unit-only run.
 */
export function needsInfrastructure(globalConfig: GlobalConfigSubset, argv: string[] = process.argv): boolean {
  const needing = ['integration', 'e2e'];
  const selected = globalConfig.selectProjects ?? optionValues(argv, '--selectProjects');
  const ignored = globalConfig.ignoreProjects ?? optionValues(argv, '--ignoreProjects') ?? [];
  const candidates = selected && selected.length > 0 ? needing.filter((p) => selected.includes(p)) : needing;
  return candidates.some((project) => !ignored.includes(project));
}

/** The values of a yargs array option: `--name a b` or `--name=a b`, up to the next flag. */
function optionValues(argv: string[], name: string): string[] | undefined {
  let values: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg !== name && !arg.startsWith(`${name}=`)) continue;
    values ??= [];
    if (arg.startsWith(`${name}=`)) values.push(...arg.slice(name.length + 1).split(','));
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) values.push(argv[++i]!);
  }
  return values;
}

async function startTestKafka(infra: TestInfrastructure): Promise<string[]> {
  const started = Date.now();
  // Throws with the apt-get install command when java or mvn is missing: the run fails, loudly.
  const { startKafka } = await import('../../deploy/kafka/local-kafka.mjs');
  const kafka = await startKafka({
    // The broker's console carries WARN and up; only errors are worth a line in the test output
    // (a failed start reports the tail of the broker's log anyway).
    log: (line) => {
      if (/\b(ERROR|FATAL)\b/.test(line)) process.stderr.write(`${line}\n`);
    },
  });
  infra.stops.push({ name: 'kafka', stop: kafka.stop });
  infra.kafkaStartMs = Date.now() - started;
  return kafka.brokers;
}

async function startTestPostgres(infra: TestInfrastructure): Promise<string> {
  const given = process.env.TEST_DATABASE_URL?.trim();
  if (given) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: given });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (error) {
      throw new Error(`TEST_DATABASE_URL (${redact(given)}) cannot be reached: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      await client.end().catch(() => undefined);
    }
    return given;
  }
  const started = Date.now();
  const { startEmbeddedPostgres } = await import('../../libs/database/src/embedded-postgres');
  const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-test-pg-'));
  infra.stops.push({ name: 'postgres data dir', stop: () => rm(dataDir, { recursive: true, force: true }) });
  const postgres = await startEmbeddedPostgres({ dataDir, persistent: false });
  infra.stops.push({ name: 'postgres', stop: postgres.stop });
  infra.postgresStartMs = Date.now() - started;
  return postgres.url;
}

/**
 * If the run is killed (CI timeout, `kill <jest pid>`), jest exits without its global teardown: stop
 * the broker and the database first, so no JVM or postgres outlives the run.
 */
function hookSignals(infra: TestInfrastructure): void {
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the test infrastructure\n`);
    void stopAll(infra)
      .catch((error: unknown) => process.stderr.write(`${(error as Error).message}\n`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  infra.unhookSignals = () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}

/** Stops in reverse order of start; reports every failure, not just the first. */
export async function stopAll(infra: TestInfrastructure): Promise<void> {
  infra.unhookSignals?.();
  const failures: string[] = [];
  for (const { name, stop } of infra.stops.splice(0).reverse()) {
    try {
      await stop();
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(`stopping test infrastructure failed:\n${failures.join('\n')}`);
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
