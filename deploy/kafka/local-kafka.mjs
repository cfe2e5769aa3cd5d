// A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM) for development and
// integration tests, without Docker: the jars come from Maven Central through ./pom.xml.
//
//   npm run kafka                      starts a broker, prints its bootstrap address, stops on Ctrl-C
//   import { startKafka } from '.../deploy/kafka/local-kafka.mjs'
//   const kafka = await startKafka(); ... await kafka.stop();
//
// Plain Node ESM on purpose: it runs without a build step. See /work/shared/RECIPES.md for the facts
// this script relies on.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import { moveIntoPlace, requireTool, run, tail } from '../tools.mjs';

const { Kafka, logLevel: KafkaLogLevel } = kafkajs;

const KAFKA_DIR = dirname(fileURLToPath(import.meta.url));
const POM = join(KAFKA_DIR, 'pom.xml');
const LIBS = join(KAFKA_DIR, 'libs');
const STAMP = '.pom.sha256';
// Class-data sharing archive of the broker's classes (Java 13+ dynamic AppCDS), kept beside the jars
// so that a new download drops it: about a third off the JVM start of the storage tool and broker.
const CDS_ARCHIVE = join(LIBS, 'kafka-broker.jsa');

export { INSTALL_HINT } from '../tools.mjs';
const READY_DEADLINE_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const JVM_FLAGS = ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

/**
 * @typedef {object} KafkaHandle
 * @property {string[]} brokers     e.g. ['127.0.0.1:40123'], for kafkajs `brokers`
 * @property {string} bootstrap     the same, comma-separated, for `bootstrap.servers`
 * @property {string} logFile       the broker's INFO log (removed by stop())
 * @property {Promise<{ code: number | null, signal: string | null }>} exited  settles when the JVM exits
 * @property {() => Promise<void>} stop  SIGTERM, wait (SIGKILL after 15 s), remove the temp dir
 */

/**
 * Starts a broker in a fresh temp directory (under `dir`, default the OS temp dir).
 * `log` receives progress messages and the broker's WARN/ERROR console lines (default: ignored).
 * @param {{ dir?: string, log?: (line: string) => void }} [options]
 * @returns {Promise<KafkaHandle>}
 */
export async function startKafka({ dir, log = () => {} } = {}) {
  requireTool('java', 'Local Kafka');
  await ensureJars(log);
  let lastError;
  // Free ports are picked before the JVM binds them; another process may win the race. Retry then.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startBroker({ dir: dir ?? tmpdir(), log });
    } catch (error) {
      lastError = error;
      if (!(error instanceof Error) || !/BindException|Address already in use/.test(error.message)) throw error;
      log(`kafka: port taken while starting (attempt ${attempt}), retrying with new ports`);
    }
  }
  throw lastError;
}

function pomHash() {
  return createHash('sha256').update(readFileSync(POM)).digest('hex');
}

function jarsAreFresh(folder, hash) {
  try {
    if (readFileSync(join(folder, STAMP), 'utf8').trim() !== hash) return false;
    return readdirSync(folder).some((name) => name.endsWith('.jar'));
  } catch {
    return false;
  }
}

/**
 * Fetches the broker's jars into deploy/kafka/libs unless they are there and match pom.xml.
 * Downloads into a private folder first and renames it into place, so two processes starting at
 * once never see half a classpath, and a changed pom.xml never leaves old jars beside new ones.
 */
async function ensureJars(log) {
  const hash = pomHash();
  if (jarsAreFresh(LIBS, hash)) return;
  requireTool('mvn', 'Local Kafka');
  const staging = `${LIBS}.fetch-${process.pid}-${randomBytes(3).toString('hex')}`;
  const started = Date.now();
  log(`kafka: fetching jars with Maven into ${LIBS} (first time or pom.xml changed)`);
  try {
    await run(
      'mvn',
      ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime', '-f', POM],
      { cwd: KAFKA_DIR },
    );
    await writeFile(join(staging, STAMP), `${hash}\n`);
    await moveIntoPlace(staging, LIBS, () => jarsAreFresh(LIBS, hash));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  log(`kafka: jars fetched in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** A free TCP port on 127.0.0.1 (never 9092, the port a developer's own Kafka likely uses). */
export async function freeLoopbackPort() {
  for (;;) {
    const port = await new Promise((resolvePromise, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolvePromise(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port !== 9092 && port !== 0) return port;
  }
}

/** Kafka's cluster id format: 16 random bytes, URL-safe base64 without padding, not starting with '-'. */
function randomClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function log4jProperties() {
  return `status = warn
shutdownHook = disable
appender.console.type = Console
appender.console.name = CONSOLE
appender.console.target = SYSTEM_OUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = WARN
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = \${sys:tollgate.kafka.logFile}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = CONSOLE
rootLogger.appenderRef.file.ref = FILE
`;
}

function serverProperties({ port, controllerPort, dataDir }) {
  return `# One combined KRaft node (broker + controller), generated by deploy/kafka/local-kafka.mjs
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dataDir}
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
`;
}

async function startBroker({ dir, log }) {
  const started = Date.now();
  await mkdir(dir, { recursive: true });
  const home = await mkdtemp(join(dir, 'tollgate-kafka-'));
  const logFile = join(home, 'server.log');
  const configFile = join(home, 'server.properties');
  const log4jFile = join(home, 'log4j2.properties');
  const dataDir = join(home, 'data');
  await writeFile(log4jFile, log4jProperties());
  // Formatting does not bind or record the listener ports: placeholders now, real ones just before
  // the broker starts, so the window in which another process can take them stays short.
  await writeFile(configFile, serverProperties({ port: 1, controllerPort: 2, dataDir }));

  // No archive yet: the broker records one when it exits cleanly; stop() moves it next to the jars.
  const recordArchive = join(home, 'kafka-broker.jsa');
  const cdsFlags = (mainClass) => {
    if (existsSync(CDS_ARCHIVE))
      return [`-XX:SharedArchiveFile=${CDS_ARCHIVE}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'];
    return mainClass === 'kafka.Kafka' ? [`-XX:ArchiveClassesAtExit=${recordArchive}`] : [];
  };
  // The storage tool logs to its own file, so that server.log is the broker's alone.
  const javaArgs = (mainClass, ...args) => [
    ...JVM_FLAGS,
    ...cdsFlags(mainClass),
    `-Dlog4j2.configurationFile=${pathToFileURL(log4jFile).href}`,
    `-Dtollgate.kafka.logFile=${mainClass === 'kafka.Kafka' ? logFile : join(home, 'format.log')}`,
    `-Dkafka.logs.dir=${home}`,
    '-cp',
    join(LIBS, '*'),
    mainClass,
    ...args,
  ];

  try {
    // StorageTool's own `random-uuid` would cost a JVM start; the id format is simple to make here.
    // No --standalone: it refuses to run together with controller.quorum.voters.
    await run('java', javaArgs('kafka.tools.StorageTool', 'format', '-t', randomClusterId(), '-c', configFile), {
      cwd: home,
    });
  } catch (error) {
    await rm(home, { recursive: true, force: true });
    throw error;
  }

  const formatted = Date.now();
  const [port, controllerPort] = await twoDistinctPorts();
  await writeFile(configFile, serverProperties({ port, controllerPort, dataDir }));
  const child = spawn('java', javaArgs('kafka.Kafka', configFile), {
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let consoleTail = '';
  const onOutput = (chunk) => {
    const text = chunk.toString('utf8');
    consoleTail = tail(consoleTail + text, 80);
    for (const line of text.split('\n')) if (line.trim()) log(`kafka: ${line}`);
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  /** @type {Promise<{ code: number | null, signal: string | null }>} */
  const exited = new Promise((resolvePromise) => {
    child.on('exit', (code, signal) => resolvePromise({ code, signal }));
    child.on('error', (error) => {
      consoleTail += `\n${error.message}`;
      resolvePromise({ code: null, signal: null });
    });
  });
  // If this Node process exits without calling stop(), do not leave an orphaned JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const stopStarted = Date.now();
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        const { code, signal } = await exited;
        clearTimeout(timer);
        log(
          `kafka: broker stopped (${signal ?? `exit code ${code}`}) in ${((Date.now() - stopStarted) / 1000).toFixed(1)} s`,
        );
      }
      process.removeListener('exit', killOnExit);
      if (child.signalCode !== 'SIGKILL') await keepArchive(recordArchive);
      await rm(home, { recursive: true, force: true });
    })());

  const bootstrap = `127.0.0.1:${port}`;
  try {
    await waitUntilReady({ bootstrap, exited, deadline: started + READY_DEADLINE_MS });
  } catch (error) {
    const fileTail = await readFile(logFile, 'utf8').then(
      (text) => tail(text),
      () => '',
    );
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}\n--- broker console (tail) ---\n${consoleTail || '(empty)'}\n--- ${logFile} (tail) ---\n${fileTail || '(empty)'}`,
    );
  }
  const listed = Date.now();
  await warmUpCoordinators(bootstrap).catch((error) =>
    log(`kafka: coordinator warm-up failed (clients will retry): ${error instanceof Error ? error.message : error}`),
  );
  const secs = (from, to = Date.now()) => `${((to - from) / 1000).toFixed(1)} s`;
  log(
    `kafka: broker ready at ${bootstrap} in ${secs(started)} (format ${secs(started, formatted)}, ` +
      `start ${secs(formatted, listed)}, coordinators ${secs(listed)}; pid ${child.pid})`,
  );
  return { brokers: [bootstrap], bootstrap, logFile, exited, stop };
}

/** Moves a freshly recorded class-data archive into place (copy + rename: /tmp may be another disk). */
async function keepArchive(recorded) {
  if (!existsSync(recorded) || existsSync(CDS_ARCHIVE) || !jarsAreFresh(LIBS, pomHash())) return;
  const staging = `${CDS_ARCHIVE}.${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    await copyFile(recorded, staging);
    await rename(staging, CDS_ARCHIVE);
  } catch {
    // Only a speed-up: without it the next start is as slow as this one was.
  } finally {
    await rm(staging, { force: true });
  }
}

async function twoDistinctPorts() {
  const first = await freeLoopbackPort();
  for (;;) {
    const second = await freeLoopbackPort();
    if (second !== first) return [first, second];
  }
}

/** Polls a Metadata request (kafkajs describeCluster) until a broker is listed. */
async function waitUntilReady({ bootstrap, exited, deadline }) {
  let processExit;
  exited.then((result) => (processExit = result));
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (processExit) {
      throw new Error(`Kafka broker exited during startup (${processExit.signal ?? `exit code ${processExit.code}`})`);
    }
    const admin = new Kafka({
      clientId: 'tollgate-local-kafka-probe',
      brokers: [bootstrap],
      logLevel: KafkaLogLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) return;
      lastError = 'metadata lists no broker yet';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 250));
  }
  throw new Error(
    `Kafka broker at ${bootstrap} was not ready within ${READY_DEADLINE_MS / 1000} s (last: ${lastError})`,
  );
}

/**
 * A fresh cluster creates __consumer_offsets and __transaction_state on the first FindCoordinator
 * request, and kafkajs logs "coordinator is not available" as an ERROR while it retries. Asking once
 * here, quietly, spares every first consumer group and transactional producer that noise and delay.
 */
async function warmUpCoordinators(bootstrap) {
  const kafka = new Kafka({
    clientId: 'tollgate-local-kafka-warmup',
    brokers: [bootstrap],
    logLevel: KafkaLogLevel.NOTHING,
    retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 30 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({
    transactionalId: 'tollgate-local-kafka-warmup',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  try {
    await admin.connect();
    await admin.describeGroups(['tollgate-local-kafka-warmup']);
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.abort();
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

async function main() {
  const started = Date.now();
  const kafka = await startKafka({ log: (line) => console.error(line) });
  console.log(kafka.bootstrap);
  console.error(
    `Kafka ready in ${((Date.now() - started) / 1000).toFixed(1)} s. Use KAFKA_BROKERS=${kafka.bootstrap}. ` +
      `Broker log: ${kafka.logFile}. Ctrl-C stops it.`,
  );
  let stopping = false;
  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    console.error(`kafka: ${signal} received, stopping the broker`);
    await kafka.stop();
    process.exit(0);
  };
  void kafka.exited.then(({ code, signal }) => {
    if (stopping) return;
    console.error(`kafka: the broker exited on its own (${signal ?? `exit code ${code}`})`);
    process.exit(1);
  });
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

const invokedDirectly = (() => {
  try {
    return (
      process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
