// `npm run start:cluster`: the deployed shape on one machine, without Docker. A local Kafka broker (from Maven
// Central's jars), one PostgreSQL (DATABASE_URL, or an embedded one under TOLLGATE_DATA_DIR/cluster), and each
// service as its own process: keys, identity and two authz replicas, each on its own port. Ctrl-C stops all.
// Runs the built code (`npm run start:cluster` builds first).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort, startKafka } from '../kafka/local-kafka.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const { startEmbeddedPostgres } = await import(join(root, 'dist/libs/database/src/index.js'));

const env = process.env;
const basePort = Number(env.PORT ?? 8080);
const dataDir = join(env.TOLLGATE_DATA_DIR ?? join(root, '.data'), 'cluster');
const stops = [];
const children = [];
const say = (line) => process.stderr.write(`[cluster] ${line}\n`);

let stopping = false;
async function stopAll(code = 0) {
  // Once: a second SIGTERM would kill a service mid-shutdown (its handler is installed once).
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const stop of stops.reverse()) await stop().catch((err) => say(`stop failed: ${err.message}`));
  process.exit(code);
}
process.once('SIGINT', () => void stopAll());
process.once('SIGTERM', () => void stopAll());

try {
  const kafka = await startKafka({ log: (l) => say(l) });
  stops.push(() => kafka.stop());
  say(`kafka at ${kafka.bootstrap}`);

  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    const pg = await startEmbeddedPostgres({ dataDir });
    stops.push(() => pg.stop());
    databaseUrl = pg.url;
    say(`embedded PostgreSQL on port ${pg.port} (data in ${dataDir})`);
  }

  const services = [
    { name: 'keys', app: 'keys', port: basePort },
    { name: 'identity', app: 'identity', port: basePort + 1 },
    { name: 'authz-1', app: 'authz', port: basePort + 2, grpc: await freeLoopbackPort() },
    { name: 'authz-2', app: 'authz', port: basePort + 3, grpc: await freeLoopbackPort() },
  ];
  for (const service of services) {
    const child = spawn(process.execPath, [join(root, 'dist/apps', service.app, 'src/main.js')], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...env,
        PORT: String(service.port),
        GRPC_PORT: String(service.grpc ?? 0),
        DATABASE_URL: databaseUrl,
        KAFKA_BROKERS: kafka.bootstrap,
        TOLLGATE_REPLICA_ID: service.name,
      },
    });
    child.once('exit', (code) => {
      say(`${service.name} exited with ${code}`);
      void stopAll(code ?? 1);
    });
    children.push(child);
    say(`${service.name}: http://127.0.0.1:${service.port}${service.grpc ? `, gRPC 127.0.0.1:${service.grpc}` : ''}`);
  }
} catch (err) {
  say(`failed: ${err instanceof Error ? err.message : err}`);
  await stopAll(1);
}
