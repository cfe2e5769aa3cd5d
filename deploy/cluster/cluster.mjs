// The deployed shape on one machine, as a library: Kafka brokers from Maven Central's jars, one PostgreSQL
// (embedded, or a fresh database on a server you name), and each service as its own supervised process
// (built `dist/apps/*/src/main.js`): keys and identity writers (the first of each active, the others
// standbys: the relay's advisory lock decides, docs/event-store.md section 5) and authz replicas.
// Used by `npm run start:cluster`, the cluster test tier (`npm run test:cluster`) and the fault suite
// (`npm run chaos`). Plain Node ESM: it runs without a build step of its own (the services must be built).
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort, startKafkaCluster } from '../kafka/local-kafka.mjs';
import { supervise } from './supervisor.mjs';

export const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');

/** Ports in start:cluster's historical order first (keys, identity, authz-1, authz-2), then the rest. */
function portOrder(names) {
  const first = ['keys-1', 'identity-1', 'authz-1', 'authz-2'].filter((n) => names.includes(n));
  return [...first, ...names.filter((n) => !first.includes(n))];
}

async function importBuilt(path) {
  const file = join(ROOT, 'dist', path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return import(file);
}

/**
 * PostgreSQL for the cluster: an embedded server on `dataDir` (restartable on the same port and data), or
 * `databaseUrl` as given, or, with `freshDatabase`, a new database on that server, dropped by stop().
 */
async function startDatabase({ dataDir, databaseUrl, freshDatabase, log }) {
  const database = await importBuilt('libs/database/src/index.js');
  if (databaseUrl) {
    if (!freshDatabase) return { url: databaseUrl, embedded: false, stop: async () => {} };
    const name = `tollgate_cluster_${randomBytes(5).toString('hex')}`;
    const url = await database.ensureDatabase(databaseUrl, name);
    log(`database ${name} created on the given server (dropped at stop)`);
    return {
      url,
      embedded: false,
      stop: () => database.dropDatabase(databaseUrl, name),
    };
  }
  // As root, the server runs as the OS user postgres, which must be able to enter the folder (mkdtemp: 0700).
  await chmod(dataDir, 0o711);
  let server = await database.startEmbeddedPostgres({ dataDir });
  const port = server.port;
  log(`embedded PostgreSQL on port ${port} (data in ${join(dataDir, 'postgres')})`);
  return {
    url: server.url,
    embedded: true,
    port,
    /** A fast shutdown (open sessions end), then a start on the same data and port. */
    async stopServer() {
      await server.stop();
    },
    async startServer() {
      server = await database.startEmbeddedPostgres({ dataDir, port });
    },
    stop: () => server.stop(),
  };
}

/**
 * @param {object} options
 * @param {string} options.dataDir          PostgreSQL data, the services' logs, the config file
 * @param {number} [options.brokers]        Kafka brokers (default 3: replication factor 3, min.insync.replicas 2)
 * @param {number} [options.keys]           keys processes (default 2)
 * @param {number} [options.identity]       identity processes (default 2)
 * @param {number} [options.authz]          authz replicas (default 3)
 * @param {string} [options.databaseUrl]    use this server instead of an embedded one
 * @param {boolean} [options.freshDatabase] with databaseUrl: a new database on it, dropped at stop
 * @param {number} [options.basePort]       fixed HTTP ports from here (default: free ports)
 * @param {object} [options.config]         TOLLGATE_CONFIG content (written as JSON into dataDir)
 * @param {Record<string, string | undefined>} [options.env]  environment of every service (PATH is added)
 * @param {boolean} [options.autoRestart]   restart a service that exits on its own, with backoff (default true)
 * @param {string} [options.kafkaHeap]      each broker's maximum heap (default '256m')
 * @param {(line: string) => void} [options.log]
 * @param {(name: string, line: string) => void} [options.output]  service output (default: dataDir/logs/<name>.log)
 */
export async function startCluster(options) {
  const {
    dataDir,
    brokers = 3,
    keys = 2,
    identity = 2,
    authz = 3,
    databaseUrl,
    freshDatabase = false,
    basePort,
    config,
    env = {},
    autoRestart = true,
    kafkaHeap = '256m',
    log = () => {},
  } = options;
  await mkdir(join(dataDir, 'logs'), { recursive: true });
  const files = new Map();
  const output =
    options.output ??
    ((name, line) => {
      if (!files.has(name)) files.set(name, createWriteStream(join(dataDir, 'logs', `${name}.log`), { flags: 'a' }));
      files.get(name).write(`${line}\n`);
    });

  const stops = [];
  const services = [];
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(services.map((s) => s.process.stop()));
      for (const step of stops.reverse()) await step().catch((error) => log(`stop failed: ${error.message}`));
      await Promise.all([...files.values()].map((f) => new Promise((resolve) => f.end(resolve))));
    })());

  try {
    // allSettled: when one fails, the other must have finished starting before stop() runs.
    const [kafkaResult, databaseResult] = await Promise.allSettled([
      startKafkaCluster({ nodes: brokers, dir: dataDir, heap: kafkaHeap, log: (line) => log(line) }),
      startDatabase({ dataDir, databaseUrl, freshDatabase, log }),
    ]);
    if (kafkaResult.status === 'fulfilled') stops.push(() => kafkaResult.value.stop());
    if (databaseResult.status === 'fulfilled') stops.push(() => databaseResult.value.stop());
    if (kafkaResult.status === 'rejected') throw kafkaResult.reason;
    if (databaseResult.status === 'rejected') throw databaseResult.reason;
    const kafka = kafkaResult.value;
    const database = databaseResult.value;
    log(`kafka: ${brokers} broker(s) at ${kafka.bootstrap}`);

    const replication =
      brokers >= 3
        ? { TOLLGATE_KAFKA_REPLICATION_FACTOR: '3', TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS: '2' }
        : { TOLLGATE_KAFKA_REPLICATION_FACTOR: '1', TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS: '1' };
    const configEnv = {};
    if (config) {
      const file = join(dataDir, 'tollgate-config.json');
      await writeFile(file, JSON.stringify(config, null, 2), { mode: 0o600 });
      configEnv.TOLLGATE_CONFIG = file;
    }

    const layout = [
      ...Array.from({ length: identity }, (_, i) => ({ kind: 'identity', name: `identity-${i + 1}` })),
      ...Array.from({ length: keys }, (_, i) => ({ kind: 'keys', name: `keys-${i + 1}` })),
      ...Array.from({ length: authz }, (_, i) => ({ kind: 'authz', name: `authz-${i + 1}` })),
    ];
    const order = portOrder(layout.map((s) => s.name));
    for (const entry of layout) {
      const port = basePort === undefined ? await freeLoopbackPort() : basePort + order.indexOf(entry.name);
      const grpcPort = entry.kind === 'authz' ? await freeLoopbackPort() : 0;
      const url = `http://127.0.0.1:${port}`;
      const supervised = supervise({
        name: entry.name,
        command: [process.execPath, join(ROOT, 'dist/apps', entry.kind, 'src/main.js')],
        cwd: ROOT,
        readyUrl: `${url}/health/ready`,
        autoRestart,
        log,
        output,
        env: {
          PATH: process.env.PATH,
          ...env,
          ...configEnv,
          ...replication,
          HOST: '127.0.0.1',
          PORT: String(port),
          GRPC_PORT: String(grpcPort),
          DATABASE_URL: database.url,
          KAFKA_BROKERS: kafka.bootstrap,
          TOLLGATE_REPLICA_ID: entry.name,
        },
      });
      services.push({ ...entry, url, port, grpcPort, process: supervised });
    }

    // The first writer of each kind alone first: it runs the migrations and the first-start bootstrap
    // (admin user, signing keys), and its relay becomes the active one. Then the standbys and replicas.
    const first = services.filter((s) => s.name === 'identity-1' || s.name === 'keys-1');
    await Promise.all(first.map((s) => s.process.start()));
    await Promise.all(services.filter((s) => !first.includes(s)).map((s) => s.process.start()));
    log(`ready: ${services.map((s) => `${s.name} ${s.url}`).join(', ')}`);

    return {
      kafka,
      database,
      services,
      /** The services of one kind, in order. */
      of: (kind) => services.filter((s) => s.kind === kind),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A random TOLLGATE_BOOTSTRAP_ADMIN_KEY (at least 32 characters, and no `tg?_` key prefix or `_`, which would
 * parse as a malformed key) and a KEK (32 bytes, base64).
 */
export function clusterSecrets() {
  return {
    TOLLGATE_BOOTSTRAP_ADMIN_KEY: `cluster-bootstrap-admin-${randomBytes(20).toString('hex')}`,
    TOLLGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  };
}
