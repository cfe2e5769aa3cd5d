// Types for supervisor.mjs (plain JavaScript so that it runs without a build).
export interface SupervisedProcess {
  name: string;
  /** exits nobody asked for, and the automatic restarts that followed */
  events: { unexpectedExits: number; restarts: number };
  pid(): number | undefined;
  running(): boolean;
  /** settles when the current child exits */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** starts it (if not running) and waits until its ready URL answers 200 */
  start(options?: { readyWithinMs?: number; waitForReady?: boolean }): Promise<void>;
  waitReady(deadlineMs?: number): Promise<void>;
  /** SIGKILL by default, without auto-restart; SIGSTOP/SIGCONT freeze and thaw */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGCONT, SIGTERM, SIGKILL after 10 s; no restart afterwards */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  name: string;
  command: string[];
  env: Record<string, string | undefined>;
  cwd?: string;
  readyUrl?: string;
  autoRestart?: boolean;
  log?: (line: string) => void;
  output?: (name: string, line: string) => void;
}

export function supervise(options: SuperviseOptions): SupervisedProcess;
/** The backoff before restart number `attempt`: doubling from `min` (500 ms), at most `max` (30 s). */
export function restartBackoffMs(attempt: number, min?: number, max?: number): number;
