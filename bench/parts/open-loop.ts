// An open-loop HTTP load generator for `bench:authz`'s latency at half load (issue 18 item 2).
//
// autocannon's `overallRate` is a per-second quota: each connection sends back to back, as fast as its answers
// come, until its share of the second is used, then waits for the next second. "Half load" through it was the
// server saturated by 8 closed-loop connections for about half of each second and idle for the rest, so its
// p99 measured queueing at saturation, not the tail at half load (measured 2026-12-06: the bare node:http
// floor had p99 0.60 ms that way, Doors 1.40 ms, at the same quota).
//
// Here request k is due at t0 + k / rate and is sent when due on an idle keep-alive connection, one request in
// flight per connection as a proxy's connection pool sends them (nginx and Envoy do not pipeline); when every
// connection waits for an answer, it queues in the generator. Its latency is counted from when it was due,
// not from when it was written, so a queue or a generator that falls behind adds to the figures instead of
// hiding them (coordinated omission, as wrk2 avoids it). Pipelining instead (tried first) let one 40 ms stall
// of the server pile hundreds of requests onto each connection, which the load shedder rightly treats as a
// flood. The scheduler runs on `setImmediate`, so it spins on its own core and sends each request within a
// few µs of its time rather than in 1 ms timer batches. It runs in a child process of its own
// (`openLoopProcess`): in the bench process, whose heap holds the other parts' fixtures and results, its own
// lag was p99 1.0-1.3 ms, as large as the figure it measures.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { answerParent, askPinnedChild } from './pinned-child';

export interface OpenLoopOptions {
  host: string;
  port: number;
  /** Requests per second, spread evenly over the run. */
  ratePerS: number;
  durationS: number;
  connections: number;
  /** Header lines of each request after the request line and Host (`name: value`), cycled through. */
  headers: readonly (readonly [string, string])[][];
  /** How long to wait for the last answers after the last request is due. */
  drainMs?: number;
}

export interface OpenLoopResult {
  /** Answers a second over the run. */
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Answers received (each a latency sample). */
  samples: number;
  /** Requests without an answer when the run ended, or lost to a connection error. */
  unanswered: number;
  /** Answers by status, and a refusal's reason (`x-ext-auth-reason`) after it: `{"200": n, "503 authorizer-stale": m}`. */
  statuses: Record<string, number>;
  /** The gap between a request's due time and its write, p99 and max: the generator's own lag. */
  sendLagP99Ms: number;
  maxSendLagMs: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('\r\ncontent-length:');
const REASON = Buffer.from('\r\nx-ext-auth-reason:');

/** Sends `ratePerS` requests a second on `connections` keep-alive connections and times every answer. */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { host, port, ratePerS, durationS, connections } = options;
  const requests = options.headers.map((lines) =>
    Buffer.from(
      `GET /v1/forward-auth HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
        lines.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
        '\r\n',
      'latin1',
    ),
  );
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(host, port)));
  const total = Math.round(ratePerS * durationS);
  const latencies = new Float64Array(total);
  const statuses: Record<string, number> = {};
  let samples = 0;
  let lost = 0;
  const lags = new Float64Array(total);
  // One request in flight per connection, as a proxy's connection pool sends them: a request that comes due
  // while every connection waits for an answer queues here, and its wait counts in its latency.
  const inFlight: (number | undefined)[] = sockets.map(() => undefined);
  const idle = sockets.map((_, c) => c).reverse();
  const waiting = new Float64Array(total);
  let waitingHead = 0;
  let waitingTail = 0;
  let sent = 0;
  const send = (c: number, due: number) => {
    inFlight[c] = due;
    sockets[c]!.write(requests[sent++ % requests.length]!);
  };
  sockets.forEach((socket, c) => {
    const reader = responseReader((answer) => {
      const due = inFlight[c];
      if (due === undefined) return;
      latencies[samples++] = performance.now() - due;
      statuses[answer] = (statuses[answer] ?? 0) + 1;
      if (waitingHead < waitingTail) send(c, waiting[waitingHead++]!);
      else {
        inFlight[c] = undefined;
        idle.push(c);
      }
    });
    socket.on('data', reader);
    socket.on('error', () => {
      if (inFlight[c] !== undefined) lost += 1;
      inFlight[c] = undefined;
    });
  });

  const intervalMs = 1000 / ratePerS;
  const t0 = performance.now() + 5;
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (k < total && t0 + k * intervalMs <= now) {
        const due = t0 + k * intervalMs;
        lags[k] = now - due;
        const c = idle.pop();
        if (c === undefined) waiting[waitingTail++] = due;
        else send(c, due);
        k += 1;
      }
      if (k < total) setImmediate(tick);
      else resolve();
    };
    setImmediate(tick);
  });
  const deadline = performance.now() + (options.drainMs ?? 5000);
  while (samples + lost < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const elapsedS = (performance.now() - t0) / 1000;
  for (const socket of sockets) socket.destroy();

  const sorted = latencies.subarray(0, samples).sort();
  lags.sort();
  const at = (p: number) => (samples === 0 ? 0 : sorted[Math.min(samples - 1, Math.ceil((p / 100) * samples) - 1)]!);
  return {
    rps: samples / elapsedS,
    p50: at(50),
    p99: at(99),
    p999: at(99.9),
    max: samples === 0 ? 0 : sorted[samples - 1]!,
    samples,
    unanswered: total - samples,
    statuses,
    sendLagP99Ms: lags[Math.ceil(0.99 * total) - 1] ?? 0,
    maxSendLagMs: lags[total - 1] ?? 0,
  };
}

/** `openLoop` in a child process of its own, pinned to `cpus` when given (taskset). */
export function openLoopProcess(options: OpenLoopOptions, cpus?: string): Promise<OpenLoopResult> {
  // The scheduler spins: at the default priority it starved the embedded PostgreSQL on the same core, and the
  // product, idle meanwhile, saw its watermark age reach 3.3 s (its log source polls PostgreSQL). Niced, it
  // takes only what the core has left; a late send still shows as generator lag.
  return askPinnedChild(fileURLToPath(import.meta.url), '--open-loop', options, { cpus, nice: 10 });
}

answerParent('--open-loop', (options) => openLoop(options as OpenLoopOptions));

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Splits a connection's bytes into answers and calls `onAnswer` for each with its status, followed by its
 * `x-ext-auth-reason` when it has one. Only what these servers send is understood: a status line, headers
 * (lower case, as all three servers write them), a `content-length` and that many bytes of body; anything
 * else is an error of the bench, thrown.
 */
function responseReader(onAnswer: (answer: string) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    for (;;) {
      const end = buf.indexOf(HEADER_END, offset);
      if (end === -1) break;
      const at = buf.indexOf(CONTENT_LENGTH, offset);
      if (at === -1 || at > end) throw new Error('open-loop: an answer without content-length');
      const length = Number.parseInt(
        buf.toString('latin1', at + CONTENT_LENGTH.length, buf.indexOf('\r\n', at + 2)),
        10,
      );
      const next = end + HEADER_END.length + length;
      if (next > buf.length) break;
      const status = buf.toString('latin1', offset + 9, offset + 12);
      const reason = buf.indexOf(REASON, offset);
      onAnswer(
        reason === -1 || reason > end
          ? status
          : `${status} ${buf.toString('latin1', reason + REASON.length, buf.indexOf('\r\n', reason + 2)).trim()}`,
      );
      offset = next;
    }
    pending = offset === buf.length ? Buffer.alloc(0) : buf.subarray(offset);
  };
}
