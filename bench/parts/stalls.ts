// How often the machine itself stops a process (issue 18 item 2): a busy loop pinned to a core reads the clock
// as fast as it can, and every gap of more than 0.2 ms between two readings is time the process was not
// running (the kernel or the hypervisor ran something else). No server can answer faster than its core runs
// it, so these gaps are the floor under any tail latency measured on that core. On this project's 2-core VM
// (2026-12-06) a loop on core 0 with nothing else running lost 1.2% of 5 s in 71 gaps, the longest 9.4 ms.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { answerParent, askPinnedChild } from './pinned-child';

export interface Stalls {
  /** Gaps of more than `thresholdMs` between two clock readings of a busy loop. */
  count: number;
  /** Their sum per second of the run. */
  msPerS: number;
  maxMs: number;
  thresholdMs: number;
}

export function measureStalls(durationMs: number, thresholdMs = 0.2): Stalls {
  const end = performance.now() + durationMs;
  let last = performance.now();
  let count = 0;
  let total = 0;
  let maxMs = 0;
  for (;;) {
    const now = performance.now();
    const gap = now - last;
    if (gap > thresholdMs) {
      count += 1;
      total += gap;
      maxMs = Math.max(maxMs, gap);
    }
    last = now;
    if (now > end) break;
  }
  return { count, msPerS: total / (durationMs / 1000), maxMs, thresholdMs };
}

/** `measureStalls` in a child process pinned to `cpus` (taskset). */
export function measureStallsOn(cpus: string, durationMs: number): Promise<Stalls> {
  return askPinnedChild(fileURLToPath(import.meta.url), '--stalls', durationMs, { cpus });
}

answerParent('--stalls', (durationMs) => measureStalls(durationMs as number));
