// Revocation propagation in the deployed process shape (issue 18 items 3 and 4), for `bench:authz`'s Kafka part.
//
// The in-process version measured the three replicas inside the bench process, on one event loop with the
// Kafka clients, both relays and the 64 writing clients, so one replica's applying (or a writer's GC) delayed
// the others' refusals. Here:
//   - each authz replica (AccessModelRuntime + AuthzChecker, over real Kafka) is a child process, pinned to
//     BENCH_REPLICA_CPUS (default core 0) with taskset;
//   - the writers (both event stores, both relays, and the clients that append) are one `writers` child,
//     pinned to BENCH_WRITER_CPUS (default core 1);
//   - this process only orchestrates (core 1, as the rest of the bench).
// A revoked key's refusal time is taken inside each replica, in the model's listener right after it applied
// the event, by a check that must refuse the key; it is sent over IPC with the time the replica's log source
// delivered the event. Commit time is the event's `recordedAt` (the statement's start in PostgreSQL, same
// machine clock as every Date.now() here). The writers report when each append was answered, when the relay
// read it and when Kafka acknowledged it, so every revocation splits into stages.
//
// Run as a child: `node replicas.js --writers <json>` or `--replica <json>` (spawned by `replicaProcessesPart`).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { AccessModel, AccessModelRuntime, createFreshness, createModelTokenVerifier } from '@tollgate/access-model';
import { AuthzChecker } from '@tollgate/authz';
import { loadConfig } from '@tollgate/config';
import { databaseUrl, ensureDatabase } from '@tollgate/database';
import { KafkaLogSource, type NewEvent } from '@tollgate/event-store';
import { createLogger, type ServiceContext } from '@tollgate/platform';
import { gcLine, type Pauses, pauseTrace } from './pauses';
import { tracePublishes } from './publish-trace';
import { startBenchWriters } from './writers';
import { benchKey, HOST, keyCreated as benchKeyCreated, keyId, PATH, worldEvents } from './world';

// ---- the bench world: bench/parts/world.ts; key i's event with its derived secret ----

const keyCreated = (i: number, now: number): NewEvent => benchKeyCreated(i, benchKey(i), now);

const revokeId = (i: number) => `evt_benchrevoke${String(i).padStart(11, '0')}`;
const revoked = (i: number): NewEvent => ({
  id: revokeId(i),
  type: 'KeyRevoked',
  data: { keyId: keyId(i), reason: 'leaked', revokedAt: new Date().toISOString() },
});

// ---- IPC: requests with ids, answers, and unsolicited reports ----

type Message = { id?: number; op: string; [k: string]: unknown };

/** Request/answer over a child's IPC channel; `on` receives the child's unsolicited messages. */
class Peer {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    on: (m: Message) => void,
  ) {
    child.on('message', (m: Message & { error?: string; result?: unknown }) => {
      if (m.op === 'answer') {
        const w = this.waiting.get(m.id!);
        this.waiting.delete(m.id!);
        if (m.error) w?.reject(new Error(`${name}: ${m.error}`));
        else w?.resolve(m.result);
      } else on(m);
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (${code})`));
        this.waiting.clear();
        resolve(code);
      }),
    );
  }

  ask<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, ...args });
    });
  }
}

/** Serves requests from the parent; a handler's result (or error) is the answer. */
function serveParent(handlers: Record<string, (m: Message) => Promise<unknown> | unknown>): void {
  process.on('message', (m: Message) => {
    const handler = handlers[m.op];
    void Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown op ${m.op}`);
        return handler(m);
      })
      .then(
        (result) => process.send!({ op: 'answer', id: m.id, result }),
        (error: Error) => process.send!({ op: 'answer', id: m.id, error: error?.stack ?? String(error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

function spawnPinned(name: string, cpus: string, args: string[], on: (m: Message) => void): Peer {
  const script = fileURLToPath(import.meta.url);
  // BENCH_REPLICA_NODE_FLAGS: V8/Node flags for these children (e.g. `--max-semi-space-size=4`), to try GC
  // settings on the deployed shape without changing the product (docs/performance.md).
  const flags = (process.env.BENCH_REPLICA_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn('taskset', ['-c', cpus, process.execPath, ...flags, script, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Peer(name, child, on);
}

// ---- the writers child: both event stores, both relays, the appending clients ----

interface WritersArgs {
  url: string;
  brokers: string[];
}

/** Per event: when its append was answered, when the relay read it (handed to Kafka) and Kafka acked it. */
interface WriterTrace {
  answered?: number;
  read?: number;
  acked?: number;
}

async function writersChild(args: WritersArgs): Promise<void> {
  const traces = new Map<string, WriterTrace>();
  const at = (id: string) => {
    let t = traces.get(id);
    if (!t) traces.set(id, (t = {}));
    return t;
  };
  // Note when each benchmarked revocation was handed to Kafka and acknowledged.
  tracePublishes((id) => (id.startsWith('evt_benchrevoke') ? at(id) : undefined));
  const { sources, stores, relays } = await startBenchWriters(args.url, args.brokers);
  const metadata = { actor: 'system', channel: 'bench' };
  const pauses = pauseTrace();
  const revoke = async (i: number) => {
    const result = await stores.keys.append(`key-${keyId(i)}`, 'any', [revoked(i)], { metadata });
    const event = result.events[0]!;
    at(event.id).answered = Date.now();
    return { i, committedAt: event.recordedAt.getTime() };
  };

  serveParent({
    /** The world and keys [from, to), in streams of 1,000 keys (one transaction each, 8 at a time). */
    async setup(m) {
      const now = Date.now();
      if (m.world)
        for (const s of worldEvents(now)) await stores.identity.append(s.streamId, 'any', s.events, { metadata });
      const [from, to] = m.keys as [number, number];
      const batches: Promise<unknown>[] = [];
      for (let b = from; b < to; b += 1000) {
        const events: NewEvent[] = [];
        for (let i = b; i < Math.min(to, b + 1000); i++) events.push(keyCreated(i, now));
        batches.push(stores.keys.append(`bench-keys-${b}`, 'any', events, { metadata }));
        if (batches.length >= 8) await Promise.all(batches.splice(0));
      }
      await Promise.all(batches);
      return null;
    },
    /** One revocation (one DELETE): its commit time. */
    revoke: (m) => revoke(m.i as number),
    /**
     * `clients` concurrent clients revoking keys [from, from + count), each sending its next revocation when
     * the previous one was answered (as separate DELETE callers do).
     */
    async burst(m) {
      const [from, count, clients] = [m.from, m.count, m.clients] as number[];
      let next = from!;
      const out: { i: number; committedAt: number }[] = [];
      await Promise.all(
        Array.from({ length: clients! }, async () => {
          while (next < from! + count!) out.push(await revoke(next++));
        }),
      );
      return out;
    },
    /** One bulk revocation of keys [from, from + count): one transaction, as `POST /v1/revocations`. */
    async bulk(m) {
      const [from, count] = [m.from, m.count] as number[];
      const appends = Array.from({ length: count! }, (_, n) => ({
        streamId: `key-${keyId(from! + n)}`,
        expectedVersion: 'any' as const,
        events: [revoked(from! + n)],
      }));
      const result = await stores.keys.appendMany(appends, { metadata });
      const answered = Date.now();
      for (const e of result.events) at(e.id).answered = answered;
      return result.events.map((e, n) => ({ i: from! + n, committedAt: e.recordedAt.getTime() }));
    },
    traceStart: () => pauses.start(),
    traceStop: () => pauses.stop(),
    /** The writer-side stages of these revocations. */
    trace: (m) => (m.is as number[]).map((i) => traces.get(revokeId(i)) ?? {}),
    async stop() {
      for (const relay of relays) await relay.stop();
      for (const ds of Object.values(sources)) await ds.destroy();
      return null;
    },
  });
  process.send!({ op: 'ready' });
}

// ---- a replica child: the access model over Kafka, a checker, refusal times ----

interface ReplicaArgs {
  name: string;
  url: string;
  brokers: string[];
}

async function replicaChild(args: ReplicaArgs): Promise<void> {
  const fetched = new Map<string, number>();
  /** eventId → the key index whose check must refuse once the event is applied. */
  const watched = new Map<string, number>();
  // Bench only: when this replica's log source delivered each watched event.
  const start = KafkaLogSource.prototype.start;
  KafkaLogSource.prototype.start = function (this: KafkaLogSource, from, handler) {
    return start.call(this, from, async (items) => {
      const now = Date.now();
      for (const item of items)
        if (item.kind === 'event' && watched.has(item.event.id)) fetched.set(item.event.id, now);
      return handler(items);
    });
  };
  const config = loadConfig({
    KAFKA_BROKERS: args.brokers.join(','),
    TOLLGATE_REPLICA_ID: args.name,
    LOG_LEVEL: 'silent',
    TOLLGATE_MAX_STALENESS_MS: '5000',
  });
  const context: ServiceContext = {
    config,
    logger: createLogger('silent'),
    metrics: new Registry(),
    databaseUrl: args.url,
  };
  const model = new AccessModel();
  const runtime = new AccessModelRuntime(model, context, {
    loadSnapshot: false,
    snapshotOnStop: false,
    snapshotIntervalMs: 3_600_000,
    snapshotEveryEvents: 10_000_000,
  });
  const freshness = createFreshness(runtime, { maxStalenessMs: config.maxStalenessMs });
  const checker = new AuthzChecker({ model, freshness, verifier: createModelTokenVerifier(model) });
  const secrets = new Map<number, string>();
  // Refusals are sent in one message a turn: the time is taken before, in the listener.
  let outbox: { eventId: string; at: number; fetched: number; reason: string }[] = [];
  const flush = () => {
    if (outbox.length) process.send!({ op: 'refused', replica: args.name, items: outbox });
    outbox = [];
  };
  model.onAccessReduced((applied) => {
    const i = watched.get(applied.eventId);
    if (i === undefined) return;
    const d = checker.check({ host: HOST, path: PATH, authorization: `Bearer ${secrets.get(i)}` }) as {
      allowed: boolean;
      reason: string;
    };
    const at = Date.now();
    if (d.allowed) {
      process.send!({ op: 'failed', replica: args.name, error: `revoked key ${keyId(i)} allowed (${d.reason})` });
      return;
    }
    // Refused. Anything but `key-revoked` (a replica turned stale on a loaded machine refuses with 503) is
    // counted and printed: the revocation is applied, the key refused either way.
    if (outbox.length === 0) setImmediate(flush);
    outbox.push({ eventId: applied.eventId, at, fetched: fetched.get(applied.eventId) ?? NaN, reason: d.reason });
  });
  runtime.start();
  const pauses = pauseTrace();
  serveParent({
    /** Starts timing this process's GC pauses and event-loop delay (a phase's tail is often one of them). */
    traceStart: () => pauses.start(),
    traceStop: () => pauses.stop(),
    /** Resolves once the model is fresh and holds `keys` keys. */
    async caughtUp(m) {
      const deadline = Date.now() + 300_000;
      while (!(freshness.isFresh() && model.counts().keys >= (m.keys as number))) {
        if (Date.now() > deadline) throw new Error(`${args.name}: not caught up to ${m.keys as number} keys`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return null;
    },
    /** Watches the revocations of keys [from, from + count): each must refuse its key once applied. */
    watch(m) {
      const [from, count] = [m.from, m.count] as number[];
      for (let i = from!; i < from! + count!; i++) {
        secrets.set(i, benchKey(i));
        watched.set(revokeId(i), i);
      }
      return null;
    },
    async stop() {
      await runtime.stop();
      return null;
    },
  });
  process.send!({ op: 'ready' });
}

// ---- the part itself, run by the bench process ----

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const ms3 = (s: number[]) =>
  s.length === 0 ? 'n/a' : `${round(percentile(s, 50))}/${round(percentile(s, 99))}/${round(s[s.length - 1]!)}`;

export interface ProcessesOptions {
  brokers: string[];
  /** PostgreSQL server URL; the part uses its own database `bench_authz_procs`. */
  serverUrl: string;
  keys: number;
  revocations: number;
  burst: number;
  burstClients: number;
  bulk: number;
  say: (line: string) => void;
}

type Row = [string, string];

/**
 * revocation_p50/p99/max_ms, burst_5k_ms and bulk_5k_ms with the replicas and the writers in processes of
 * their own: commit (recordedAt) → the key refused on all 3 replicas, as each replica timed it.
 */
export async function replicaProcessesPart(
  o: ProcessesOptions,
): Promise<{ rows: Row[]; fields: Record<string, number> }> {
  await ensureDatabase(o.serverUrl, 'bench_authz_procs');
  const url = databaseUrl(o.serverUrl, 'bench_authz_procs');
  const replicaCpus = process.env.BENCH_REPLICA_CPUS ?? '0';
  const writerCpus = process.env.BENCH_WRITER_CPUS ?? '1';
  const names = ['bench-a', 'bench-b', 'bench-c'];
  /** eventId → per replica: refused at, fetched at. */
  const refusals = new Map<string, { at: number; fetched: number }[]>();
  const waiters = new Map<string, () => void>();
  const failures: string[] = [];
  /** Refusals with another reason than `key-revoked`, by reason. */
  const otherReasons = new Map<string, number>();
  const onMessage = (m: Message) => {
    if (m.op === 'failed') {
      failures.push(`${m.replica as string}: ${m.error as string}`);
      for (const fail of waiters.values()) fail(); // the waits end now and the part throws below
    }
    if (m.op !== 'refused') return;
    for (const r of m.items as { eventId: string; at: number; fetched: number; reason: string }[]) {
      if (r.reason !== 'key-revoked') otherReasons.set(r.reason, (otherReasons.get(r.reason) ?? 0) + 1);
      const list = refusals.get(r.eventId) ?? [];
      list.push({ at: r.at, fetched: r.fetched });
      refusals.set(r.eventId, list);
      if (list.length === names.length) waiters.get(r.eventId)?.();
    }
  };
  const ready = (p: Peer) =>
    new Promise<void>((resolve, reject) => {
      p.child.on('message', (m: Message) => m.op === 'ready' && resolve());
      void p.exited.then((code) => reject(new Error(`${p.name} exited (${code}) before it was ready`)));
    });
  const writers = spawnPinned(
    'writers',
    writerCpus,
    ['--writers', JSON.stringify({ url, brokers: o.brokers })],
    onMessage,
  );
  const replicas: Peer[] = [];
  try {
    await ready(writers);
    const first = o.keys;
    const total = o.keys + o.revocations + o.burst + o.bulk;
    o.say(`processes: writers on cpu ${writerCpus}; creating ${total} keys`);
    await writers.ask('setup', { world: true, keys: [0, total] });
    for (const name of names) {
      const args: ReplicaArgs = { name, url, brokers: o.brokers };
      replicas.push(spawnPinned(name, replicaCpus, ['--replica', JSON.stringify(args)], onMessage));
    }
    await Promise.all(replicas.map(ready));
    o.say(`processes: 3 replicas on cpu ${replicaCpus} replaying ${total} keys`);
    await Promise.all(replicas.map((r) => r.ask('caughtUp', { keys: total })));
    await Promise.all(replicas.map((r) => r.ask('watch', { from: first, count: total - first })));

    const allRefused = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const id = revokeId(i);
        if ((refusals.get(id)?.length ?? 0) === names.length) return resolve();
        const timer = setTimeout(() => reject(new Error(`${id} not refused by all replicas in 60 s`)), 60_000);
        waiters.set(id, () => {
          clearTimeout(timer);
          waiters.delete(id);
          if (failures.length) reject(new Error(`a replica allowed a revoked key: ${failures[0]!}`));
          else resolve();
        });
      });
    const lastRefusal = (i: number) => Math.max(...refusals.get(revokeId(i))!.map((r) => r.at));

    // Sequential: one revocation at a time, the next once all three refused the previous.
    o.say(`processes: ${o.revocations} revocations one at a time`);
    const sequential: { i: number; committedAt: number }[] = [];
    const traced = [...replicas, writers];
    await Promise.all(traced.map((r) => r.ask('traceStart')));
    for (let i = first; i < first + o.revocations; i++) {
      const r = await writers.ask<{ i: number; committedAt: number }>('revoke', { i });
      await allRefused(i);
      sequential.push(r);
    }
    const seqPauses = await Promise.all(traced.map((r) => r.ask<Pauses>('traceStop')));
    const latencies = sequential.map((r) => lastRefusal(r.i) - r.committedAt).sort((a, b) => a - b);
    const seqStages = await stages(writers, refusals, sequential);

    o.say(`processes: burst of ${o.burst} revocations from ${o.burstClients} clients`);
    const burstFrom = first + o.revocations;
    const burstDone = Promise.all(Array.from({ length: o.burst }, (_, n) => allRefused(burstFrom + n)));
    const burst = await writers.ask<{ i: number; committedAt: number }[]>('burst', {
      from: burstFrom,
      count: o.burst,
      clients: o.burstClients,
    });
    await burstDone;
    const burstFirst = Math.min(...burst.map((b) => b.committedAt));
    const burstMs = Math.max(...burst.map((b) => lastRefusal(b.i))) - burstFirst;
    const burstCommitMs = Math.max(...burst.map((b) => b.committedAt)) - burstFirst;
    const burstStages = await stages(writers, refusals, burst);

    o.say(`processes: one bulk revocation of ${o.bulk} keys`);
    const bulkFrom = burstFrom + o.burst;
    const bulkDone = Promise.all(Array.from({ length: o.bulk }, (_, n) => allRefused(bulkFrom + n)));
    const bulk = await writers.ask<{ i: number; committedAt: number }[]>('bulk', { from: bulkFrom, count: o.bulk });
    await bulkDone;
    const bulkCommit = Math.min(...bulk.map((b) => b.committedAt));
    const bulkMs = Math.max(...bulk.map((b) => lastRefusal(b.i))) - bulkCommit;
    const bulkStages = await stages(writers, refusals, bulk);
    if (failures.length) throw new Error(`a replica allowed a revoked key: ${failures.slice(0, 3).join('; ')}`);
    const reasons = [...otherReasons].map(([reason, n]) => `${reason} ${n}`).join(', ');

    const layout = `writers (2 event stores, 2 relays, the clients) on cpu ${writerCpus}; each replica its own process on cpu ${replicaCpus}`;
    return {
      rows: [
        ['revocation propagation, process layout', layout],
        [
          `revocation commit → refused on 3 replicas (${latencies.length})`,
          `p50 ${round(percentile(latencies, 50))} ms, p99 ${round(percentile(latencies, 99))} ms, max ${round(latencies[latencies.length - 1]!)} ms (target 5 / 20 / 50)`,
        ],
        ['  revocations, stage p50/p99/max (ms)', seqStages.summary],
        ['  the slowest revocation, by stage (ms)', seqStages.slowest],
        [
          '  GC and loop delay in that phase',
          seqPauses
            .map((p, n) => `${traced[n]!.name}: ${gcLine(p.gc)}, loop delay max ${round(p.loopDelayMaxMs)} ms`)
            .join('; '),
        ],
        [
          `burst of ${o.burst} revocations`,
          `${o.burstClients} concurrent clients; first commit → all refused on 3 replicas: ${burstMs} ms (of which committing all: ${burstCommitMs} ms; target 1,000)`,
        ],
        ['  burst, stage p50/p99/max (ms)', burstStages.summary],
        [
          `one bulk revocation of ${o.bulk} keys (one transaction)`,
          `commit → all refused on 3 replicas: ${bulkMs} ms (target 1,000)`,
        ],
        ['  bulk, stage p50/p99/max (ms)', bulkStages.summary],
        ['  refusals other than key-revoked (all phases)', reasons || 'none'],
      ],
      fields: {
        revocation_p50_ms: round(percentile(latencies, 50), 2),
        revocation_p99_ms: round(percentile(latencies, 99), 2),
        revocation_max_ms: round(latencies[latencies.length - 1]!, 2),
        burst_5k_ms: burstMs,
        bulk_5k_ms: bulkMs,
      },
    };
  } finally {
    for (const r of replicas) await r.ask('stop').catch(() => undefined);
    await writers.ask('stop').catch(() => undefined);
    for (const p of [...replicas, writers]) {
      p.child.disconnect();
      const exited = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
      if (exited === 'timeout') p.child.kill('SIGKILL');
    }
  }
}

/** A revocation's stages, commit to the last replica's refusal, each with no samples yet. */
export function emptyStages(): Record<string, number[]> {
  return {
    'commit→append answered': [],
    'answered→relay read': [],
    'relay read→Kafka ack': [],
    'Kafka ack→first replica fetch': [],
    'first→last replica fetch': [],
    'last fetch→last refused': [],
  };
}

/**
 * Stage increments p50/p99/max of these revocations (commit → answered → relay read → Kafka ack → fetches →
 * refused), and the stages of the slowest one: a max is one revocation, and its split says where it waited.
 */
async function stages(
  writers: Peer,
  refusals: Map<string, { at: number; fetched: number }[]>,
  items: { i: number; committedAt: number }[],
): Promise<{ summary: string; slowest: string }> {
  const traces = await writers.ask<WriterTrace[]>('trace', { is: items.map((x) => x.i) });
  const out = emptyStages();
  let slowest = { total: -Infinity, split: 'n/a' };
  items.forEach((x, n) => {
    const t = traces[n]!;
    const r = refusals.get(revokeId(x.i)) ?? [];
    if (t.answered === undefined || t.read === undefined || t.acked === undefined || r.length === 0) return;
    const fetches = r.map((f) => f.fetched);
    const firstFetch = Math.min(...fetches);
    const lastFetch = Math.max(...fetches);
    out['commit→append answered']!.push(t.answered - x.committedAt);
    out['answered→relay read']!.push(t.read - t.answered);
    out['relay read→Kafka ack']!.push(t.acked - t.read);
    out['Kafka ack→first replica fetch']!.push(firstFetch - t.acked);
    out['first→last replica fetch']!.push(lastFetch - firstFetch);
    const lastRefused = Math.max(...r.map((f) => f.at));
    out['last fetch→last refused']!.push(lastRefused - lastFetch);
    const total = lastRefused - x.committedAt;
    if (total > slowest.total)
      slowest = {
        total,
        split: `${total} in all: ${Object.entries(out)
          .map(([name, list]) => `${name} ${list[list.length - 1]!}`)
          .join('; ')}`,
      };
  });
  const summary = Object.entries(out)
    .map(([name, list]) => `${name} ${ms3(list.sort((a, b) => a - b))}`)
    .join('; ');
  return { summary, slowest: slowest.split };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [, , mode, json] = process.argv;
  if (mode === '--writers') await writersChild(JSON.parse(json!) as WritersArgs);
  else if (mode === '--replica') await replicaChild(JSON.parse(json!) as ReplicaArgs);
}
