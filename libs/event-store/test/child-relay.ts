// Spawning relays as separate processes: compiles the library once with swc (the child runs plain
// Node on the output), then starts test/relay-child.mjs with the given environment.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

/** Compiles libs/event-store/src to a folder under node_modules/.cache (so the child resolves packages). */
export function compileLibrary(): { dist: string; cleanup(): void } {
  const out = join(root, 'node_modules', '.cache', `event-store-child-${process.pid}-${Date.now()}`);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  execFileSync(
    join(root, 'node_modules', '.bin', 'swc'),
    [
      'libs/event-store/src',
      '-d',
      out,
      '--strip-leading-paths',
      '--quiet',
      '--ignore',
      '**/*.spec.ts',
      '--ignore',
      '**/*.integration-spec.ts',
    ],
    { cwd: root, stdio: 'pipe' },
  );
  return { dist: join(out, 'event-store', 'src'), cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

export interface ChildRelay {
  process: ChildProcess;
  /** Every JSON line the child printed, in order. */
  lines: Record<string, unknown>[];
  states(): string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnRelay(env: Record<string, string>): ChildRelay {
  // settings travel as one JSON argument (the child inherits the environment untouched)
  const child = spawn(process.execPath, [join(here, 'relay-child.mjs'), JSON.stringify(env)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ text: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      if (code && stderr) lines.push({ stderr });
      resolve({ code, signal });
    }),
  );
  return {
    process: child,
    lines,
    states: () => lines.flatMap((l) => (typeof l.state === 'string' ? [l.state] : [])),
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
