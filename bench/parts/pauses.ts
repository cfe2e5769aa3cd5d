// What stopped a process's event loop during a bench phase: its garbage collections by kind (V8's `gc`
// performance entries) and its event-loop delay (`perf_hooks`). Used by the product server of the HTTP part
// and by the writer and replica processes of the Kafka part; a phase's tail is often one of these.
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface GcKind {
  count: number;
  totalMs: number;
  maxMs: number;
}

/** Garbage collections in a phase: scavenges, and mark-compacts with every other full collection. */
export interface GcTrace {
  minor: GcKind;
  major: GcKind;
}

export interface Pauses {
  gc: GcTrace;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

const emptyGcTrace = (): GcTrace => ({
  minor: { count: 0, totalMs: 0, maxMs: 0 },
  major: { count: 0, totalMs: 0, maxMs: 0 },
});

/** Traces between `start()` and `stop()` only, so it costs nothing while a phase does not ask for it. */
export function pauseTrace(): { start(): void; stop(): Pauses } {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let gc = emptyGcTrace();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as { detail?: { kind?: number } }).detail;
      const kind = gc[detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : 'major'];
      kind.count += 1;
      kind.totalMs += entry.duration;
      kind.maxMs = Math.max(kind.maxMs, entry.duration);
    }
  });
  return {
    start() {
      gc = emptyGcTrace();
      loop.reset();
      loop.enable();
      observer.observe({ entryTypes: ['gc'] });
    },
    stop() {
      loop.disable();
      observer.disconnect();
      return { gc, loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6 };
    },
  };
}

/** `GC: n scavenges (… ms in all, max … ms), m mark-compacts and others (…)`. */
export function gcLine(gc: GcTrace): string {
  const round = (n: number, digits: number) => Number(n.toFixed(digits));
  const part = (name: string, k: GcKind) =>
    `${k.count} ${name} (${round(k.totalMs, 1)} ms in all, max ${round(k.maxMs, 2)} ms)`;
  return `GC: ${part('scavenges', gc.minor)}, ${part('mark-compacts and others', gc.major)}`;
}
