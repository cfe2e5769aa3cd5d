// `npm run start:cluster`: the deployed shape on one machine, without Docker. Local Kafka (from Maven
// Central's jars; `-- --brokers 3` for three brokers with replication factor 3 and min.insync.replicas 2), one
// PostgreSQL (DATABASE_URL, or an embedded one under TOLLGATE_DATA_DIR/cluster), and each service as its own
// process: two keys and two identity writers (the first of each runs the relay, the second is its standby
// and serves writes too) and two authz replicas (`-- --authz N`), each on its own port from PORT (8080).
// A service that exits on its own is restarted with backoff (0.5 s doubling to 30 s) while the others keep
// running; Ctrl-C stops all. Runs the built code (`npm run start:cluster` builds first).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, startCluster } from './cluster.mjs';

const env = process.env;
const say = (line) => process.stderr.write(`[cluster] ${line}\n`);
const USAGE = 'usage: npm run start:cluster [-- [--brokers N] [--authz N]]';

let args;
try {
  args = parseArgs({
    args: process.argv.slice(2),
    options: { brokers: { type: 'string', default: '1' }, authz: { type: 'string', default: '2' } },
    strict: true,
  }).values;
} catch (error) {
  say(`${error.message}\n${USAGE}`);
  process.exit(2);
}
const count = (name, min) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min || n > 9) {
    say(`--${name} must be a whole number from ${min} to 9\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const brokers = count('brokers', 1);
const authz = count('authz', 1);

const dataDir = join(env.TOLLGATE_DATA_DIR ?? join(ROOT, '.data'), 'cluster');
const { dataDirKeyEncryptionKey, DATA_DIR_KEK_FILE } = await import(join(ROOT, 'dist/libs/platform/src/index.js'));

/** The cluster's key-encryption key file (created on the first start, mode 0600), as embedded mode keeps one. */
function clusterKek(dir) {
  dataDirKeyEncryptionKey(dir, {
    info: () => undefined,
    warn: (_f, msg) => say(`${msg} (${join(dir, DATA_DIR_KEK_FILE)})`),
  });
  return join(dir, DATA_DIR_KEK_FILE);
}

let cluster;
let stopping = false;
async function stopAll(code = 0) {
  // Once: a second SIGTERM would kill a service mid-shutdown (its handler is installed once).
  if (stopping) return;
  stopping = true;
  await cluster?.stop().catch((error) => say(`stop failed: ${error.message}`));
  process.exit(code);
}
process.once('SIGINT', () => void stopAll());
process.once('SIGTERM', () => void stopAll());

try {
  // The keys and identity services seal their signing keys with a KEK: kept next to the cluster's data.
  const kek = env.TOLLGATE_KEY_ENCRYPTION_KEY ? {} : { TOLLGATE_KEY_ENCRYPTION_KEY_FILE: clusterKek(dataDir) };
  cluster = await startCluster({
    dataDir,
    brokers,
    keys: 2,
    identity: 2,
    authz,
    databaseUrl: env.DATABASE_URL,
    basePort: Number(env.PORT ?? 8080),
    env: { ...env, ...kek },
    // Services log JSON lines on stdout, as when run alone; the cluster's own messages go to stderr.
    output: (_name, line) => process.stdout.write(`${line}\n`),
    log: (line) => {
      // The brokers' WARN lines (reconnects while a peer starts) are noise here; errors are kept.
      if (/^kafka \d+: \[/.test(line) && !/\b(ERROR|FATAL)\b/.test(line)) return;
      say(line);
    },
  });
  say(`kafka at ${cluster.kafka.bootstrap}`);
  for (const s of cluster.services) {
    const role = s.kind === 'authz' ? 'replica' : s.name.endsWith('-1') ? 'relay active at start' : 'standby relay';
    say(`${s.name}: http://127.0.0.1:${s.port}${s.grpcPort ? `, gRPC 127.0.0.1:${s.grpcPort}` : ''} (${role})`);
  }
  // Same prefix, two services: a bulk revocation is a keys write, its confirmation an authz read.
  const [keys] = cluster.of('keys');
  const replicas = cluster.of('authz').map((s) => `:${s.port}`);
  say(`POST /v1/revocations (bulk revocation) → keys on :${keys.port}`);
  say(`GET  /v1/revocations/{eventId} (confirmation) → authz on ${replicas.join(' or ')}`);
  say('a service that exits is restarted with backoff; Ctrl-C stops everything');
} catch (err) {
  say(`failed: ${err instanceof Error ? err.message : err}`);
  await stopAll(1);
}
