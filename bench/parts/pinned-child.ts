// One request, one answer, in a child process of its own pinned to given cores: for bench parts that must not
// share the bench process's event loop and heap (the open-loop generator, the stall meter).
import { execFileSync, fork } from 'node:child_process';
import { setPriority } from 'node:os';

export interface PinnedChildOptions {
  /** `taskset -c` list of the child's cores; unpinned when undefined. */
  cpus?: string;
  /** Its nice value (default 0). */
  nice?: number;
}

/**
 * Forks `script` with `flag`, pins and nices it, sends `request`, and resolves with the child's one answer
 * (`answerParent` on the child's side), after which the child is killed.
 */
export function askPinnedChild<T>(
  script: string,
  flag: string,
  request: unknown,
  options: PinnedChildOptions = {},
): Promise<T> {
  const child = fork(script, [flag], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} ${flag} exited with ${code}`)));
    child.once('message', (answer) => {
      resolve(answer as T);
      child.kill();
    });
    child.once('spawn', () => {
      if (options.cpus !== undefined) {
        try {
          execFileSync('taskset', ['-a', '-cp', options.cpus, String(child.pid)], { stdio: 'ignore' });
        } catch {
          process.stderr.write(`warning: taskset failed; ${script} ${flag} not pinned\n`);
        }
      }
      if (options.nice) setPriority(child.pid!, options.nice);
      child.send(request as object);
    });
  });
}

/** In a child started with `flag`: answers the parent's one request with `handle`'s result. */
export function answerParent(flag: string, handle: (request: unknown) => unknown): void {
  if (process.argv[2] !== flag) return;
  process.once('message', (request) => {
    void Promise.resolve(handle(request)).then((answer) => process.send!(answer as object));
  });
}
