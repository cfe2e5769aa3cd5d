import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from '../support';

const root = join(import.meta.dirname, '..', '..');

/** A built Tollgate app (`dist/apps/<app>/src/main.js`) running as its own process, as a user runs it. */
export interface ProductProcess {
  url: string;
  dataDir: string;
  stdout: () => string;
  stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** `from`: the folder holding dist/ (the repository, or a reproduced image layout). */
export function entryPoint(app: string, from = root): string {
  const entry = join(from, 'dist', 'apps', app, 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (npm run test:e2e does)`);
  return entry;
}

/** Runs an app to completion (for start-up failures) and returns its exit code and output. */
export function runToExit(
  app: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
  { from = root, args = [] }: { from?: string; args?: string[] } = {},
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [entryPoint(app, from), ...args], {
      env: { PATH: process.env.PATH, ...env },
      cwd: from,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${app} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts an app on a free port with a fresh data directory and waits until `/health/ready` answers 200. */
export async function startProduct(
  app: string,
  env: Record<string, string> = {},
  readyTimeoutMs = 60_000,
  from = root,
  /** the Node.js binary (default: the one running the tests) */
  node = process.execPath,
): Promise<ProductProcess> {
  // A caller that must know the URL before the start (a redirect URI registered at an IdP) passes PORT.
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-e2e-'));
  let stdout = '';
  let stderr = '';
  const child: ChildProcess = spawn(node, [entryPoint(app, from)], {
    cwd: from,
    env: { PATH: process.env.PATH, PORT: String(port), GRPC_PORT: '0', TOLLGATE_DATA_DIR: dataDir, ...env },
  });
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const code = await exited;
    // PostgreSQL's last WAL writes may still be landing as the process exits: retry on ENOTEMPTY.
    await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    return code;
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${stderr}`);
        const res = await fetch(`${url}/health/ready`);
        expect(res.status).toBe(200);
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    await stop();
    throw new Error(`${app} did not become ready: ${(err as Error).message}\nstderr:\n${stderr.slice(-3000)}`);
  }
  return { url, dataDir, stdout: () => stdout, stderr: () => stderr, stop };
}
