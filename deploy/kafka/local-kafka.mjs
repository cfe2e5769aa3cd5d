// A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM) for development and
// integration tests, without Docker: the jars come from Maven Central through ./pom.xml.
//
//   npm run kafka                      starts a broker on 127.0.0.1:19092 with its data in ./.kafka (kept
//                                      between runs), prints its bootstrap address, stops on Ctrl-C;
//                                      `npm run kafka -- --help` for the port, folder and --temp options
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
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
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
// `heap`: the JVM's maximum heap (default 384m); a three-broker cluster on a small machine passes '256m'.
const jvmFlags = (heap = '384m') => ['-Xms128m', `-Xmx${heap}`, '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

/**
 * @typedef {object} KafkaNode
 * @property {number} id           KRaft node id (1..n)
 * @property {string} bootstrap    this node's listener, e.g. '127.0.0.1:40123'
 * @property {string} logFile      its INFO log
 * @property {() => number | undefined} pid
 * @property {() => boolean} running
 * @property {Promise<{ code: number | null, signal: string | null }>} exited  the current JVM's exit
 * @property {(signal?: string) => Promise<void>} kill   SIGKILL by default; SIGSTOP/SIGCONT freeze and thaw
 * @property {() => Promise<void>} restart               same ports and data; resolves once it answers
 */

/**
 * @typedef {object} KafkaHandle
 * @property {string[]} brokers     e.g. ['127.0.0.1:40123'], for kafkajs `brokers`
 * @property {string} bootstrap     the same, comma-separated, for `bootstrap.servers`
 * @property {string} logFile       the (first) broker's INFO log (removed by stop())
 * @property {KafkaNode[]} nodes    one per broker, for fault injection
 * @property {Promise<{ code: number | null, signal: string | null }>} exited  settles when the (first) JVM exits
 * @property {() => Promise<void>} stop  SIGTERM, wait (SIGKILL after 15 s), remove the temp dir
 */

/**
 * Starts a broker in a fresh temp directory (under `dir`, default the OS temp dir).
 * `log` receives progress messages and the broker's WARN/ERROR console lines (default: ignored).
 * @param {{ dir?: string, log?: (line: string) => void }} [options]
 * @returns {Promise<KafkaHandle>}
 */
export async function startKafka(options = {}) {
  return startKafkaCluster({ ...options, nodes: 1 });
}

/**
 * Starts `nodes` brokers (each a combined KRaft broker + controller; three or more: replication factor 3
 * and `min.insync.replicas` 2 for every topic, internal ones included).
 * @param {{ dir?: string, log?: (line: string) => void, nodes?: number }} [options]
 * @returns {Promise<KafkaHandle>}
 */
export async function startKafkaCluster({
  dir,
  log = () => {},
  nodes = 3,
  security,
  home,
  port,
  controllerPort,
  heap,
} = {}) {
  requireTool('java', 'Local Kafka');
  if ((security || home || port || controllerPort) && nodes !== 1)
    throw new Error('startKafkaCluster: security, home and fixed ports are for one node only');
  await ensureJars(log);
  let lastError;
  // Free ports are picked before the JVM binds them; another process may win the race. Retry then
  // (not with fixed ports: the same port would be taken again).
  const attempts = port || controllerPort ? 1 : 3;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const cluster = await startNodes({
        dir: dir ?? tmpdir(),
        log,
        nodes,
        security,
        home,
        port,
        controllerPort,
        heap,
      });
      const first = cluster.nodes[0];
      return {
        ...cluster,
        logFile: first.logFile,
        get exited() {
          return first.exited;
        },
      };
    } catch (error) {
      lastError = error;
      if (!(error instanceof Error) || !/BindException|Address already in use/.test(error.message)) throw error;
      if (attempts === 1) throw new Error(`a port Kafka needs is taken (${port}/${controllerPort}): ${error.message}`);
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
  log(`kafka: fetching jars with Maven into ${LIBS} (first time or pom.xml changed; about 45 files, 43 MB)`);
  const progress = mavenProgress(log, started);
  try {
    // Not -q: Maven's "Downloaded from" lines are the progress shown (one line per jar, and a summary
    // every 5 s while Maven works without downloading, e.g. resolving its own plugins).
    await run(
      'mvn',
      ['-B', 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime', '-f', POM],
      { cwd: KAFKA_DIR, onLine: progress.line },
    );
    await writeFile(join(staging, STAMP), `${hash}\n`);
    await moveIntoPlace(staging, LIBS, () => jarsAreFresh(LIBS, hash));
  } finally {
    progress.stop();
    await rm(staging, { recursive: true, force: true });
  }
  log(`kafka: jars fetched in ${((Date.now() - started) / 1000).toFixed(1)} s (${progress.summary()})`);
}

/** Reads Maven's batch-mode output: counts what it downloaded, says so per jar and every 5 s. */
export function mavenProgress(log, started = Date.now()) {
  let files = 0;
  let bytes = 0;
  let copied = 0;
  const summary = () =>
    `${files} file(s), ${(bytes / 1e6).toFixed(1)} MB downloaded` + (copied ? `, ${copied} jar(s) copied` : '');
  const timer = setInterval(() => log(`kafka: still fetching after ${secs(started)}: ${summary()}`), 5000);
  timer.unref();
  const units = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };
  return {
    summary,
    stop: () => clearInterval(timer),
    line(text) {
      // Jars already in ~/.m2 are only copied: counted, not listed.
      if (/\] Copying \S+\.jar to /.test(text)) copied += 1;
      const match = /Downloaded from \S+: (\S+) \(([\d.]+) (B|kB|KB|MB|GB)/.exec(text);
      if (!match) return;
      files += 1;
      bytes += Number(match[2]) * units[match[3]];
      if (match[1].endsWith('.jar'))
        log(`kafka: downloaded ${match[1].split('/').pop()} (${match[2]} ${match[3]}; ${summary()})`);
    },
  };
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

/** Replication settings: a single node replicates nothing; three or more nodes use RF 3 and min ISR 2. */
function replication(nodes) {
  return nodes >= 3 ? { factor: 3, minIsr: 2 } : { factor: 1, minIsr: 1 };
}

/**
 * The secured listeners' part of server.properties: SASL_SSL (PLAIN users from the JAAS line, SCRAM users
 * added at format time, OAUTHBEARER with Kafka's unsecured-token validator: test use only) and SSL with
 * client certificates required. PEM stores, so no keytool step is needed.
 */
function securityProperties(security) {
  const plainUsers = Object.entries(security.users?.plain ?? {})
    .map(([user, password]) => ` user_${user}="${password}"`)
    .join('');
  return `ssl.keystore.type=PEM
ssl.keystore.location=${security.keystore}
ssl.truststore.type=PEM
ssl.truststore.location=${security.truststore}
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${plainUsers};
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";
`;
}

/** `--add-scram` arguments of kafka-storage format: SCRAM credentials exist from the first start (KRaft). */
function scramArguments(security) {
  const args = [];
  for (const mechanism of ['scram-sha-256', 'scram-sha-512']) {
    for (const [user, password] of Object.entries(security?.users?.[mechanism] ?? {})) {
      args.push('--add-scram', `${mechanism.toUpperCase()}=[name=${user},password=${password}]`);
    }
  }
  return args;
}

function serverProperties({ nodeId, nodes, port, controllerPort, voters, dataDir, security, saslSslPort, sslPort }) {
  const { factor, minIsr } = replication(nodes);
  const secured = security ? `,SASL_SSL://127.0.0.1:${saslSslPort},SSL://127.0.0.1:${sslPort}` : '';
  return `# A combined KRaft node (broker + controller) ${nodeId} of ${nodes}, generated by deploy/kafka/local-kafka.mjs
process.roles=broker,controller
node.id=${nodeId}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${secured}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}${secured}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
${security ? securityProperties(security) : ''}log.dirs=${dataDir}
num.partitions=1
default.replication.factor=${factor}
min.insync.replicas=${minIsr}
offsets.topic.replication.factor=${factor}
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=${factor}
transaction.state.log.min.isr=${minIsr}
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=${factor}
share.coordinator.state.topic.min.isr=${minIsr}
unclean.leader.election.enable=false
# A broker restarted after kill -9 is refused (DuplicateBrokerRegistration) until its previous incarnation's
# session expires: 3 s instead of the default 9 s keeps fault tests short.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
`;
}

/**
 * Starts `nodes` combined KRaft nodes in one fresh temp directory (one sub-folder per node) and waits until
 * every broker is listed. Each node can be killed and restarted on its own data (fault tests).
 */
async function startNodes({
  dir,
  log,
  nodes,
  security,
  home: fixedHome,
  port: fixedPort,
  controllerPort: fixedCport,
  heap,
}) {
  const started = Date.now();
  // A fixed home keeps its data between runs (npm run kafka); otherwise a fresh temp dir, removed by stop().
  const keep = fixedHome !== undefined;
  let home;
  if (keep) {
    home = fixedHome;
    await mkdir(home, { recursive: true });
  } else {
    await mkdir(dir, { recursive: true });
    home = await mkdtemp(join(dir, 'tollgate-kafka-'));
  }
  const log4jFile = join(home, 'log4j2.properties');
  await writeFile(log4jFile, log4jProperties());
  // No archive yet: the broker records one when it exits cleanly; stop() moves it next to the jars.
  const recordArchive = join(home, 'kafka-broker.jsa');
  const cdsFlags = (mainClass) => {
    if (existsSync(CDS_ARCHIVE))
      return [`-XX:SharedArchiveFile=${CDS_ARCHIVE}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'];
    return mainClass === 'kafka.Kafka' && nodes === 1 ? [`-XX:ArchiveClassesAtExit=${recordArchive}`] : [];
  };
  // The storage tool logs to its own file, so that server.log is the broker's alone.
  const javaArgs = (nodeHome, mainClass, ...args) => [
    ...jvmFlags(heap),
    ...cdsFlags(mainClass),
    `-Dlog4j2.configurationFile=${pathToFileURL(log4jFile).href}`,
    `-Dtollgate.kafka.logFile=${join(nodeHome, mainClass === 'kafka.Kafka' ? 'server.log' : 'format.log')}`,
    `-Dkafka.logs.dir=${nodeHome}`,
    '-cp',
    join(LIBS, '*'),
    mainClass,
    ...args,
  ];
  const ids = Array.from({ length: nodes }, (_, i) => i + 1);
  const homes = ids.map((id) => (nodes === 1 ? home : join(home, `node-${id}`)));
  const configFile = (nodeHome) => join(nodeHome, 'server.properties');
  const dataDir = (nodeHome) => join(nodeHome, 'data');
  const writeConfigs = async (ports) => {
    const voters = ids.map((id, i) => `${id}@127.0.0.1:${ports[i].controllerPort}`).join(',');
    for (const [i, id] of ids.entries()) {
      await writeFile(
        configFile(homes[i]),
        serverProperties({ nodeId: id, nodes, voters, dataDir: dataDir(homes[i]), security, ...ports[i] }),
      );
    }
  };
  const removeHome = () => (keep ? Promise.resolve() : rm(home, { recursive: true, force: true }));

  // A kept home formatted by an earlier run starts on its data (same cluster id, topics and offsets).
  const formattedBefore = keep && existsSync(join(dataDir(home), 'meta.properties'));
  try {
    for (const nodeHome of homes) await mkdir(nodeHome, { recursive: true });
    if (formattedBefore) {
      log(`kafka: reusing the data in ${dataDir(home)}`);
    } else {
      // Formatting does not bind or record the listener ports: placeholders now, real ones just before
      // the brokers start, so the window in which another process can take them stays short.
      await writeConfigs(
        ids.map((id) => ({ port: 10 + id, controllerPort: 20 + id, saslSslPort: 30 + id, sslPort: 40 + id })),
      );
      // StorageTool's own `random-uuid` would cost a JVM start; the id format is simple to make here.
      // No --standalone: it refuses to run together with controller.quorum.voters.
      const clusterId = randomClusterId();
      await Promise.all(
        homes.map((nodeHome) =>
          run(
            'java',
            javaArgs(
              nodeHome,
              'kafka.tools.StorageTool',
              'format',
              '-t',
              clusterId,
              '-c',
              configFile(nodeHome),
              ...scramArguments(security),
            ),
            { cwd: nodeHome },
          ),
        ),
      );
    }
  } catch (error) {
    await removeHome();
    throw error;
  }

  const formatted = Date.now();
  const ports = [];
  const taken = new Set();
  while (ports.length < nodes) {
    const [port, controllerPort] =
      fixedPort || fixedCport
        ? [fixedPort ?? (await freeLoopbackPort()), fixedCport ?? (await freeLoopbackPort())]
        : await twoDistinctPorts();
    if (taken.has(port) || taken.has(controllerPort)) continue;
    taken.add(port).add(controllerPort);
    const entry = { port, controllerPort };
    if (security) {
      for (const name of ['saslSslPort', 'sslPort']) {
        let extra;
        do extra = await freeLoopbackPort();
        while (taken.has(extra));
        taken.add(extra);
        entry[name] = extra;
      }
    }
    ports.push(entry);
  }
  await writeConfigs(ports);
  const nodeHandles = ids.map((id, i) =>
    brokerNode({
      id,
      home: homes[i],
      bootstrap: `127.0.0.1:${ports[i].port}`,
      args: javaArgs(homes[i], 'kafka.Kafka', configFile(homes[i])),
      log: nodes === 1 ? log : (line) => log(line.replace(/^kafka: /, `kafka ${id}: `)),
    }),
  );
  for (const node of nodeHandles) node.launch();

  const brokers = nodeHandles.map((n) => n.bootstrap);
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      const stopStarted = Date.now();
      await Promise.all(nodeHandles.map((n) => n.shutdown()));
      if (nodeHandles.some((n) => n.everRan)) {
        log(`kafka: ${nodes === 1 ? 'broker' : `${nodes} brokers`} stopped in ${secs(stopStarted)}`);
      }
      if (nodeHandles.every((n) => n.lastExit?.signal !== 'SIGKILL')) await keepArchive(recordArchive);
      await removeHome();
    })());

  try {
    await waitUntilReady({
      bootstrap: brokers.join(','),
      brokers: nodes,
      exited: Promise.race(nodeHandles.map((n) => n.exited)),
      deadline: started + READY_DEADLINE_MS,
    });
  } catch (error) {
    const tails = [];
    for (const node of nodeHandles) tails.push(await node.describeFailure());
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n${tails.join('\n')}`);
  }
  const listed = Date.now();
  await warmUpCoordinators(brokers.join(',')).catch((error) =>
    log(`kafka: coordinator warm-up failed (clients will retry): ${error instanceof Error ? error.message : error}`),
  );
  log(
    `kafka: ${nodes === 1 ? 'broker' : `${nodes} brokers`} ready at ${brokers.join(',')} in ${secs(started)} ` +
      `(format ${secs(started, formatted)}, start ${secs(formatted, listed)}, coordinators ${secs(listed)}; ` +
      `pid ${nodeHandles.map((n) => n.pid()).join(',')})`,
  );
  const secured = security
    ? {
        saslSslBrokers: ports.map((p) => `127.0.0.1:${p.saslSslPort}`),
        sslBrokers: ports.map((p) => `127.0.0.1:${p.sslPort}`),
      }
    : {};
  return { brokers, bootstrap: brokers.join(','), nodes: nodeHandles, stop, home, ...secured };
}

function secs(from, to = Date.now()) {
  return `${((to - from) / 1000).toFixed(1)} s`;
}

/**
 * One broker JVM that can be launched again on the same configuration and data: `kill` (SIGKILL by default;
 * SIGSTOP/SIGCONT freeze and thaw it) and `restart` (same ports, same log.dirs) for fault tests.
 */
function brokerNode({ id, home, bootstrap, args, log }) {
  const logFile = join(home, 'server.log');
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child;
  let consoleTail = '';
  /** @type {Promise<{ code: number | null, signal: string | null }>} */
  let exited = Promise.resolve({ code: null, signal: null });
  const node = {
    id,
    bootstrap,
    logFile,
    everRan: false,
    /** @type {{ code: number | null, signal: string | null } | undefined} */
    lastExit: undefined,
    get exited() {
      return exited;
    },
    pid: () => child?.pid,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    launch() {
      const current = spawn('java', args, { cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
      child = current;
      node.everRan = true;
      node.lastExit = undefined;
      const onOutput = (chunk) => {
        const text = chunk.toString('utf8');
        consoleTail = tail(consoleTail + text, 80);
        for (const line of text.split('\n')) if (line.trim()) log(`kafka: ${line}`);
      };
      current.stdout.on('data', onOutput);
      current.stderr.on('data', onOutput);
      // If this Node process exits without calling stop(), do not leave an orphaned JVM behind.
      const killOnExit = () => current.kill('SIGKILL');
      process.once('exit', killOnExit);
      exited = new Promise((resolvePromise) => {
        const done = (result) => {
          process.removeListener('exit', killOnExit);
          node.lastExit = result;
          resolvePromise(result);
        };
        current.on('exit', (code, signal) => done({ code, signal }));
        current.on('error', (error) => {
          consoleTail += `\n${error.message}`;
          done({ code: null, signal: null });
        });
      });
    },
    /** Sends a signal; for a terminating one, resolves once the JVM has exited. */
    async kill(signal = 'SIGKILL') {
      if (!node.running()) return;
      child.kill(signal);
      if (signal !== 'SIGSTOP' && signal !== 'SIGCONT') await exited;
    },
    /** Starts the JVM again on the same ports and data (after kill), and waits until it answers. */
    async restart() {
      if (node.running()) throw new Error(`kafka node ${id} is still running`);
      node.launch();
      await waitUntilReady({ bootstrap, brokers: 1, exited, deadline: Date.now() + READY_DEADLINE_MS, only: id });
    },
    /** SIGCONT (a frozen JVM ignores SIGTERM), SIGTERM, SIGKILL after the grace period. */
    async shutdown() {
      if (!node.running()) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
    async describeFailure() {
      const fileTail = await readFile(logFile, 'utf8').then(
        (text) => tail(text),
        () => '',
      );
      return `--- broker ${id} console (tail) ---\n${consoleTail || '(empty)'}\n--- ${logFile} (tail) ---\n${fileTail || '(empty)'}`;
    },
  };
  return node;
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

/**
 * Polls a Metadata request (kafkajs describeCluster) until `brokers` brokers are listed (or, with `only`,
 * until that node id is listed by the node at `bootstrap` itself).
 */
async function waitUntilReady({ bootstrap, brokers = 1, only, exited, deadline }) {
  let processExit;
  exited.then((result) => (processExit = result));
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (processExit) {
      throw new Error(`Kafka broker exited during startup (${processExit.signal ?? `exit code ${processExit.code}`})`);
    }
    const admin = new Kafka({
      clientId: 'tollgate-local-kafka-probe',
      brokers: bootstrap.split(','),
      logLevel: KafkaLogLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      const listed =
        only === undefined ? cluster.brokers.length >= brokers : cluster.brokers.some((b) => b.nodeId === only);
      if (listed) return;
      lastError = `metadata lists ${cluster.brokers.length} of ${brokers} broker(s)`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 250));
  }
  throw new Error(`Kafka at ${bootstrap} was not ready within ${READY_DEADLINE_MS / 1000} s (last: ${lastError})`);
}

/**
 * A fresh cluster creates __consumer_offsets and __transaction_state on the first FindCoordinator
 * request, and kafkajs logs "coordinator is not available" as an ERROR while it retries. Asking once
 * here, quietly, spares every first consumer group and transactional producer that noise and delay.
 */
async function warmUpCoordinators(bootstrap) {
  const kafka = new Kafka({
    clientId: 'tollgate-local-kafka-warmup',
    brokers: bootstrap.split(','),
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

/** `npm run kafka` defaults: the same address and data every run, so KAFKA_BROKERS can stay in a shell profile. */
export const DEFAULT_PORT = 19092;
const DEFAULT_HOME = join(KAFKA_DIR, '..', '..', '.kafka');
const USAGE = `usage: npm run kafka [-- [--port N] [--controller-port N] [--data-dir DIR] [--fresh] [--temp]]
  --port N             broker port on 127.0.0.1 (default ${DEFAULT_PORT}, or KAFKA_PORT)
  --controller-port N  KRaft controller port (default: the broker port + 1)
  --data-dir DIR       broker folder, kept between runs (default ./.kafka, or KAFKA_DATA_DIR)
  --fresh              delete that folder first (new cluster, no topics)
  --temp               a free port and a temporary folder removed at exit (what the tests use)`;

/** The options of `npm run kafka`; throws a usage error (message starting with "usage") when one is wrong. */
export function parseKafkaArgs(argv, env = process.env) {
  const parse = (config) => {
    try {
      return parseArgs(config);
    } catch (error) {
      throw new Error(`${USAGE}\n${error instanceof Error ? error.message : error}`);
    }
  };
  const { values } = parse({
    args: argv,
    options: {
      port: { type: 'string' },
      'controller-port': { type: 'string' },
      'data-dir': { type: 'string' },
      fresh: { type: 'boolean', default: false },
      temp: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const portOf = (name, text) => {
    const port = Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`${USAGE}\n--${name}: not a port: ${text}`);
    return port;
  };
  if (values.temp && (values.port || values['controller-port'] || values['data-dir'] || values.fresh))
    throw new Error(`${USAGE}\n--temp picks its own port and folder: give it alone`);
  if (values.temp) return { help: values.help, temp: true };
  const port = portOf('port', values.port ?? env.KAFKA_PORT ?? String(DEFAULT_PORT));
  const controllerPort = portOf('controller-port', values['controller-port'] ?? String(port + 1));
  if (controllerPort === port) throw new Error(`${USAGE}\n--controller-port must differ from --port`);
  const home = resolve(values['data-dir'] ?? env.KAFKA_DATA_DIR ?? DEFAULT_HOME);
  return { help: values.help, temp: false, port, controllerPort, home, fresh: values.fresh };
}

async function main() {
  let options;
  try {
    options = parseKafkaArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  // Ctrl-C while it starts: exit, which SIGKILLs the JVM (its 'exit' hook) instead of leaving it holding the port.
  const early = (signal) => {
    console.error(`kafka: ${signal} received while starting, stopping`);
    process.exit(130);
  };
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  const started = Date.now();
  if (options.fresh) await rm(options.home, { recursive: true, force: true });
  const kafka = await startKafka({
    log: (line) => console.error(line),
    ...(options.temp ? {} : { home: options.home, port: options.port, controllerPort: options.controllerPort }),
  });
  console.log(kafka.bootstrap);
  console.error(
    `Kafka ready in ${((Date.now() - started) / 1000).toFixed(1)} s. Use KAFKA_BROKERS=${kafka.bootstrap}. ` +
      `Broker log: ${kafka.logFile}${options.temp ? '' : ` (data kept in ${options.home}; --fresh starts over)`}. ` +
      'Ctrl-C stops it.',
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
  process.removeListener('SIGINT', early);
  process.removeListener('SIGTERM', early);
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
