// One supervised child process (a built Tollgate service) for `npm run start:cluster`, the cluster test tier
// and the fault suite: start it, wait until it is ready, kill it (any signal, kill -9 included) and start it
// again, and restart it with backoff when it exits on its own. Plain Node ESM: it runs without a build.
import { spawn } from 'node:child_process';

const STOP_GRACE_MS = 10_000;
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
// A child that stayed up this long is healthy again: its next crash restarts after the shortest backoff.
const HEALTHY_AFTER_MS = 30_000;

// This process exiting without stop() (an uncaught error in a test) must not leave a child behind: one
// listener for all of them (one per child would trip Node's listener-leak warning in a cluster of ten).
const live = new Set();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The backoff before restart number `attempt` (1, 2, ...): doubling from 500 ms, at most 30 s. */
export function restartBackoffMs(attempt, min = MIN_BACKOFF_MS, max = MAX_BACKOFF_MS) {
  return Math.min(max, min * 2 ** Math.max(0, attempt - 1));
}

/**
 * @param {object} options
 * @param {string} options.name          for log lines, e.g. 'keys-1'
 * @param {string[]} options.command     e.g. [process.execPath, 'dist/apps/keys/src/main.js']
 * @param {Record<string, string | undefined>} options.env
 * @param {string} [options.cwd]
 * @param {string} [options.readyUrl]    polled until it answers 200 (start() and restarts wait for it)
 * @param {boolean} [options.autoRestart] restart with backoff when the child exits unasked (default true)
 * @param {(line: string) => void} [options.log]     supervisor messages
 * @param {(name: string, line: string) => void} [options.output]  the child's stdout and stderr lines
 *                                                   (default: written to this process's stderr, prefixed)
 */
export function supervise({ name, command, env, cwd, readyUrl, autoRestart = true, log = () => {}, output }) {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child;
  let exited = Promise.resolve({ code: null, signal: null });
  // Exits the supervisor caused (kill(), stop()) are not crashes: no restart, no backoff.
  let expectedExit = false;
  let stopped = false;
  let crashes = 0;
  let restartTimer;
  let startedAt = 0;
  const events = { unexpectedExits: 0, restarts: 0 };
  const write = output ?? ((n, line) => process.stderr.write(`[${n}] ${line}\n`));
  // The last lines of output, for the error when the child dies while starting.
  let recent = [];

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  function launch() {
    expectedExit = false;
    startedAt = Date.now();
    const current = spawn(command[0], command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = current;
    for (const stream of [current.stdout, current.stderr]) {
      let partial = '';
      stream.on('data', (chunk) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          write(name, line);
          recent.push(line);
          if (recent.length > 20) recent = recent.slice(-20);
        }
      });
    }
    live.add(current);
    exited = new Promise((resolve) => {
      current.once('exit', (code, signal) => {
        live.delete(current);
        resolve({ code, signal });
        if (expectedExit || stopped) return;
        events.unexpectedExits += 1;
        if (Date.now() - startedAt > HEALTHY_AFTER_MS) crashes = 0;
        crashes += 1;
        if (!autoRestart) {
          log(`${name} exited (${signal ?? `code ${code}`}); not restarted`);
          return;
        }
        const delay = restartBackoffMs(crashes);
        log(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms (crash ${crashes})`);
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          if (stopped || running()) return;
          events.restarts += 1;
          launch();
        }, delay);
      });
      current.once('error', (error) => {
        log(`${name}: ${error.message}`);
      });
    });
  }

  async function waitReady(deadlineMs) {
    if (!readyUrl) return;
    const deadline = Date.now() + deadlineMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!running()) throw new Error(`${name} exited while starting (${last}); its last lines:\n${recent.join('\n')}`);
      try {
        const res = await fetch(readyUrl, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
        last = `${res.status} ${(await res.text()).slice(0, 300)}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${name} was not ready within ${deadlineMs / 1000} s (last: ${last})`);
  }

  return {
    name,
    events,
    pid: () => child?.pid,
    running,
    get exited() {
      return exited;
    },
    /** Starts the child (if it is not running) and waits until readyUrl answers 200. */
    async start({ readyWithinMs = 120_000, waitForReady = true } = {}) {
      stopped = false;
      clearTimeout(restartTimer);
      if (!running()) launch();
      if (waitForReady) await waitReady(readyWithinMs);
    },
    waitReady: (deadlineMs = 120_000) => waitReady(deadlineMs),
    /**
     * Sends a signal without auto-restart: SIGKILL (default) and SIGTERM resolve once the child exited;
     * SIGSTOP and SIGCONT freeze and thaw it.
     */
    async kill(signal = 'SIGKILL') {
      if (!running()) return;
      if (signal !== 'SIGSTOP' && signal !== 'SIGCONT') expectedExit = true;
      child.kill(signal);
      if (signal !== 'SIGSTOP' && signal !== 'SIGCONT') await exited;
    },
    /** SIGCONT, SIGTERM, SIGKILL after the grace period; no restart afterwards. */
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      if (!running()) return;
      expectedExit = true;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
