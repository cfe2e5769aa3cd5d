// `npm run chaos`: the fault suite (Jepsen-style, bounded in time). The deployed shape (three brokers,
// PostgreSQL, two keys and two identity writers, three authz replicas: test/cluster/harness.ts) runs a
// workload of key creations and revocations, group changes (IdP webhooks, SCIM) and collaborator changes,
// with checks on every replica (workload.ts), while the nemesis (nemesis.ts) injects one fault per cycle,
// each kind in turn, healing each before the next. The checker (checker.ts) then prints per fault kind:
// acknowledged writes lost, per-stream order violations, checks allowed after removal + bound, replica
// seconds of 503, and recovery time; the last line is the CHAOS line of ../shared/BENCHMARKS.md.
//
//   TOLLGATE_CHAOS_CYCLES   fault cycles (default 20)
//   DATABASE_URL            a PostgreSQL server to use (a fresh database on it, dropped at the end) instead of
//                           an embedded one; PostgreSQL restarts are then skipped (the server is not ours)
//   TOLLGATE_CHAOS_KEEP     1: keep the run's folder (services' logs, history.json) for reading
//   TOLLGATE_CHAOS_FAULTS   only these fault kinds, comma-separated (e.g. kill-broker), to chase one finding
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import pg from 'pg';
import {
  check,
  chaosLine,
  decided,
  formatTable,
  undecidedReasons,
  type FaultWindow,
  type History,
  type PublishedEvent,
} from './checker';
import { FAULT_KINDS, type FaultKind, faultKinds, injectFault, waitHealthy } from './nemesis';
import { Workload } from './workload';
import { startTollgateCluster, type TollgateCluster } from '../cluster/harness';

const TOPICS = ['tollgate.keys.v1', 'tollgate.identity.v1'];
const HEARTBEAT = 'Heartbeat';
const BOUND_MS = 2000;
// Quiet time after each healed fault, so that each window also shows the workload on a healthy cluster.
const QUIET_MS = 3000;

const say = (line: string) => process.stderr.write(`chaos ${new Date().toISOString().slice(11, 19)} ${line}\n`);
const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

function cyclesFromEnv(): number {
  const raw = process.env.TOLLGATE_CHAOS_CYCLES ?? '20';
  const cycles = Number(raw);
  if (!Number.isInteger(cycles) || cycles < 0 || cycles > 1000) {
    process.stderr.write(`TOLLGATE_CHAOS_CYCLES must be a whole number from 0 to 1000, not ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return cycles;
}

/** Every event message of both topics, from the beginning to the end offsets read first. */
async function readTopics(brokers: string[]): Promise<PublishedEvent[]> {
  const kafka = new kafkajs.Kafka({ clientId: 'tollgate-chaos-checker', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  for (const topic of TOPICS) {
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${p.partition}`, Number(p.high));
  }
  await admin.disconnect();
  const remaining = new Set([...ends].filter(([, high]) => high > 0).map(([k]) => k));
  const events: PublishedEvent[] = [];
  const consumer = kafka.consumer({ groupId: `tollgate-chaos-checker-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: TOPICS, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading the topics timed out (${remaining.size} left)`)), 120_000);
    if (remaining.size === 0) {
      clearTimeout(timer);
      resolve();
      return;
    }
    void consumer
      .run({
        eachMessage: async ({ topic, partition, message }) => {
          const h = (name: string) => message.headers?.[name]?.toString();
          if (h('ce_type') !== HEARTBEAT && h('ce_id')) {
            events.push({
              topic,
              partition,
              offset: Number(message.offset),
              streamId: h('ce_subject') ?? '',
              streamVersion: Number(h('ce_streamversion')),
              eventId: h('ce_id')!,
              timestamp: Number(message.timestamp),
            });
          }
          const key = `${topic}/${partition}`;
          if (Number(message.offset) + 1 >= (ends.get(key) ?? 0)) remaining.delete(key);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return events;
}

async function storedEventIds(url: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ event_id: string }>(
      'SELECT event_id FROM keys.events UNION ALL SELECT event_id FROM identity.events',
    );
    return new Set(result.rows.map((r) => r.event_id));
  } finally {
    await client.end();
  }
}

/** TOLLGATE_CHAOS_FAULTS: a subset of the fault kinds, or undefined for all of them. */
function faultsFromEnv(): FaultKind[] | undefined {
  const raw = process.env.TOLLGATE_CHAOS_FAULTS?.trim();
  if (!raw) return undefined;
  const kinds = raw.split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    process.stderr.write(`TOLLGATE_CHAOS_FAULTS: unknown ${unknown.join(', ')} (known: ${FAULT_KINDS.join(', ')})\n`);
    process.exit(2);
  }
  return kinds as FaultKind[];
}

async function main(): Promise<void> {
  const cycles = cyclesFromEnv();
  const onlyFaults = faultsFromEnv();
  const started = Date.now();
  const loads: string[] = [`start: ${load()}`];
  say(`starting the cluster (3 brokers, PostgreSQL, 2 keys, 2 identity, 3 authz); load ${load()}`);
  let tg: TollgateCluster | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await tg?.stop().catch((error: unknown) => say(`stop failed: ${(error as Error).message}`));
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(130));
  process.once('SIGTERM', () => void shutdown(143));

  try {
    tg = await startTollgateCluster({
      databaseUrl: process.env.DATABASE_URL?.trim() || undefined,
      keep: process.env.TOLLGATE_CHAOS_KEEP === '1',
      log: (line) => {
        if (/\b(ERROR|FATAL)\b/.test(line) || !/^kafka/.test(line)) say(line.slice(0, 300));
      },
    });
    const cluster = tg.cluster;
    say(`cluster ready in ${((Date.now() - started) / 1000).toFixed(0)} s; services' logs in ${tg.dataDir}/logs`);
    const workload = new Workload({
      keys: tg.urls('keys'),
      identity: tg.urls('identity'),
      authz: cluster.of('authz').map((s) => ({ name: s.name, url: s.url })),
      admin: tg.admin,
      scimToken: tg.scimToken,
      webhookSecret: tg.webhookSecret,
    });
    await workload.setup();
    workload.start();
    // A baseline before the first fault ('none' in the table).
    await new Promise((resolve) => setTimeout(resolve, 10_000));

    const kinds = faultKinds(cluster).filter((k) => !onlyFaults || onlyFaults.includes(k));
    if (!cluster.database.embedded) say('DATABASE_URL given: PostgreSQL restarts are skipped (the server is not ours)');
    if (kinds.length === 0) throw new Error('TOLLGATE_CHAOS_FAULTS leaves no fault kind this cluster can suffer');
    const faults: FaultWindow[] = [];
    for (let cycle = 0; cycle < cycles; cycle++) {
      const kind = kinds[cycle % kinds.length]!;
      const round = Math.floor(cycle / kinds.length);
      if (faults.length > 0) faults[faults.length - 1]!.untilAt = Date.now();
      const fault = await injectFault(cluster, kind, round, { log: say });
      const healed = await waitHealthy(cluster);
      say(
        `cycle ${cycle + 1}/${cycles} ${kind} (${fault.target}): ${((fault.endAt - fault.startAt) / 1000).toFixed(1)} s` +
          `, healthy ${healed ? `${((Date.now() - fault.endAt) / 1000).toFixed(1)} s after` : 'NOT within 120 s'}` +
          `; load ${load()}`,
      );
      loads.push(`cycle ${cycle + 1}: ${load()}`);
      faults.push({ kind, startAt: fault.startAt, endAt: fault.endAt, untilAt: Infinity });
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    }
    if (faults.length > 0) faults[faults.length - 1]!.untilAt = Date.now();
    await workload.stop();
    say(`workload stopped: ${workload.writes.length} writes, ${workload.checks.length} checks; final checks`);
    await waitHealthy(cluster);
    const final = await workload.finalChecks();
    const published = await readTopics(cluster.kafka.brokers);
    const stored = await storedEventIds(cluster.database.url);
    const unexpected = cluster.services
      .filter((s) => s.process.events.unexpectedExits > 0)
      .map((s) => `${s.name} ×${s.process.events.unexpectedExits}`);
    loads.push(`end: ${load()}`);

    const history: History = {
      boundMs: BOUND_MS,
      writes: workload.writes,
      checks: workload.checks,
      published,
      stored,
      faults,
      final,
    };
    const report = check(history);
    if (process.env.TOLLGATE_CHAOS_KEEP === '1') {
      const file = join(tg.dataDir, 'history.json');
      await writeFile(file, JSON.stringify({ ...history, stored: [...stored] }));
      say(`history kept in ${file}`);
    }
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    process.stdout.write(
      [
        '',
        `Fault suite: ${cycles} cycles in ${minutes} min; ${workload.subjects.length} subjects, ` +
          `${workload.writes.length} writes, ${workload.checks.length} checks, ${published.length} events read back.`,
        `Load averages (1, 5, 15 min; 2 cores, shared with other work): ${loads.join('; ')}`,
        `Services that exited unasked (restarted with backoff): ${unexpected.length ? unexpected.join(', ') : 'none'}`,
        // A replica that never decided again (halted on a gap, stale) leaves the end state unverified.
        `Final checks without a decision (end state unverified there): ${
          final.filter((f) => !decided(f.status)).length
        } of ${final.length}`,
        '',
        formatTable(report),
        '',
        `Undecided checks by reason: ${
          undecidedReasons(workload.checks)
            .map(([reason, n]) => `${reason} ×${n}`)
            .join(', ') || 'none'
        }`,
        ...report.lost.slice(0, 10).map((l) => `LOST ${l.subject} ${l.op}: ${l.why}`),
        ...report.orderViolations.slice(0, 10).map((o) => `ORDER ${o.streamId} @${o.offset}: ${o.why}`),
        ...report.lateAllows
          .slice(0, 10)
          .map((l) => `LATE ${l.subject} on ${l.replica}: allowed ${l.lateByMs} ms after removal + bound`),
        chaosLine(report),
        '',
      ].join('\n'),
    );
    await shutdown(0);
  } catch (error) {
    say(`failed: ${(error as Error).stack ?? error}`);
    await shutdown(1);
  }
}

await main();
