// The fault suite's checker: pure functions from a recorded history (what the workload sent and was
// answered, what Kafka and the store hold at the end, when each fault ran) to the per-fault table and the
// CHAOS line (../shared/BENCHMARKS.md). No I/O, so its judgements are unit-tested (checker.spec.ts).

/** A write the workload sent; `ackAt` is set when a 2xx answer arrived (the write is acknowledged). */
export interface WriteRecord {
  subject: string;
  op: string;
  /** 'grant' writes give the subject access; 'remove' takes it away */
  effect: 'grant' | 'remove';
  sentAt: number;
  ackAt?: number;
  /** Tollgate-Event-Id of the acknowledged answer */
  eventIds: string[];
}

/** One check of a subject's key on one replica. status 0: no answer (refused, reset, timed out). */
export interface CheckRecord {
  subject: string;
  replica: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  /** X-Ext-Auth-Reason of an undecided answer (e.g. authorizer-stale), for the breakdown */
  reason?: string;
}

/** One message read back from a topic at the end, in partition order. */
export interface PublishedEvent {
  topic: string;
  partition: number;
  offset: number;
  streamId: string;
  streamVersion: number;
  eventId: string;
  /** the message's timestamp (epoch ms): which fault window it belongs to */
  timestamp: number;
}

export interface FaultWindow {
  kind: string;
  /** the fault began */
  startAt: number;
  /** the fault ended: the process respawned, the broker answered, SIGCONT, PostgreSQL up, COMMIT */
  endAt: number;
  /** the next window's start (or the end of the run) */
  untilAt: number;
}

/** A subject's final answer on one replica, after the faults, once it was serving again. */
export interface FinalCheck {
  subject: string;
  replica: string;
  status: number;
}

export interface History {
  /** TOLLGATE_MAX_STALENESS_MS */
  boundMs: number;
  writes: WriteRecord[];
  checks: CheckRecord[];
  /** every message of both topics (heartbeats left out) */
  published: PublishedEvent[];
  /** every event id in the writers' events tables */
  stored: Set<string>;
  faults: FaultWindow[];
  final: FinalCheck[];
}

export interface LostWrite {
  subject: string;
  op: string;
  ackAt: number;
  why: string;
}

export interface LateAllow {
  subject: string;
  replica: string;
  sentAt: number;
  /** how long after the removal's acknowledgement + bound the check was sent */
  lateByMs: number;
}

export interface OrderViolation {
  streamId: string;
  offset: number;
  /** the offending message's timestamp */
  timestamp: number;
  why: string;
}

export interface FaultRow {
  kind: string;
  cycles: number;
  acknowledgedWrites: number;
  lost: number;
  orderViolations: number;
  lateAllows: number;
  /** replica-seconds of no decision (503 or no answer) */
  unavailableS: number;
  /** the longest time, over this kind's cycles, from the fault's end until every replica served again */
  maxRecoveryS: number;
  checks: number;
}

export interface Report {
  rows: FaultRow[];
  total: FaultRow;
  lost: LostWrite[];
  lateAllows: LateAllow[];
  orderViolations: OrderViolation[];
}

const DECIDED = new Set([200, 401, 403]);
/** A check answered with a decision; anything else (503 stale, 5xx, no answer) counts as unavailable. */
export const decided = (status: number) => DECIDED.has(status);

/**
 * Acknowledged writes whose effect is not there at the end: an event id the store does not hold or Kafka
 * never carried, a removal still allowed on a replica, or a grant (the subject's access complete and never
 * taken away) refused by one.
 */
export function lostWrites(history: History): LostWrite[] {
  const published = new Set(history.published.map((e) => e.eventId));
  const lost: LostWrite[] = [];
  const finals = new Map<string, FinalCheck[]>();
  for (const f of history.final) finals.set(f.subject, [...(finals.get(f.subject) ?? []), f]);
  // A removal sent but never acknowledged may have committed: such a subject's final answer proves nothing.
  const removalSent = new Set(history.writes.filter((w) => w.effect === 'remove').map((w) => w.subject));
  for (const write of history.writes) {
    if (write.ackAt === undefined) continue;
    const lose = (why: string) => lost.push({ subject: write.subject, op: write.op, ackAt: write.ackAt!, why });
    const missingStore = write.eventIds.find((id) => !history.stored.has(id));
    if (missingStore) {
      lose(`event ${missingStore} is not in the store`);
      continue;
    }
    const missingKafka = write.eventIds.find((id) => !published.has(id));
    if (missingKafka) {
      lose(`event ${missingKafka} was never published`);
      continue;
    }
    const answers = finals.get(write.subject) ?? [];
    if (write.effect === 'remove') {
      const allowed = answers.find((f) => f.status === 200);
      if (allowed) lose(`still allowed on ${allowed.replica} at the end`);
    } else if (!removalSent.has(write.subject) && write.op === 'create-key') {
      const refused = answers.find((f) => f.status !== 200);
      if (refused) lose(`answered ${refused.status} on ${refused.replica} at the end, expected 200`);
    }
  }
  return lost;
}

/** Checks answered 200 although they were sent more than the bound after a removal was acknowledged. */
export function lateAllows(history: History): LateAllow[] {
  const removedAt = new Map<string, number>();
  for (const w of history.writes) {
    if (w.effect !== 'remove' || w.ackAt === undefined) continue;
    removedAt.set(w.subject, Math.min(removedAt.get(w.subject) ?? Infinity, w.ackAt));
  }
  const late: LateAllow[] = [];
  for (const check of history.checks) {
    const at = removedAt.get(check.subject);
    if (at === undefined || check.status !== 200) continue;
    const lateByMs = check.sentAt - (at + history.boundMs);
    if (lateByMs > 0) late.push({ subject: check.subject, replica: check.replica, sentAt: check.sentAt, lateByMs });
  }
  return late;
}

/**
 * Per stream, in partition order, each new version must be the next one (a version seen before is a
 * duplicate, which at-least-once delivery allows, if it is the same event); and every stream must hold,
 * in Kafka, each version up to its highest without a hole.
 */
export function orderViolations(published: PublishedEvent[]): OrderViolation[] {
  const ordered = [...published].sort((a, b) =>
    a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.partition - b.partition || a.offset - b.offset,
  );
  const seen = new Map<string, Map<number, string>>();
  const highest = new Map<string, number>();
  const violations: OrderViolation[] = [];
  for (const e of ordered) {
    const key = `${e.topic}/${e.streamId}`;
    const versions = seen.get(key) ?? new Map<number, string>();
    seen.set(key, versions);
    const top = highest.get(key) ?? 0;
    const earlier = versions.get(e.streamVersion);
    if (earlier !== undefined) {
      if (earlier !== e.eventId)
        violations.push({
          streamId: e.streamId,
          offset: e.offset,
          timestamp: e.timestamp,
          why: `version ${e.streamVersion} is two events`,
        });
      continue;
    }
    if (e.streamVersion !== top + 1) {
      violations.push({
        streamId: e.streamId,
        offset: e.offset,
        timestamp: e.timestamp,
        why: `version ${e.streamVersion} after ${top}${e.streamVersion < top ? ' (out of order)' : ' (a gap)'}`,
      });
    }
    versions.set(e.streamVersion, e.eventId);
    highest.set(key, Math.max(top, e.streamVersion));
  }
  return violations;
}

/** Replica-seconds without a decision: per replica and 1-second bucket, the share of checks undecided. */
export function unavailableSeconds(checks: CheckRecord[]): number {
  const buckets = new Map<string, { all: number; failed: number }>();
  for (const c of checks) {
    const key = `${c.replica}@${Math.floor(c.sentAt / 1000)}`;
    const bucket = buckets.get(key) ?? { all: 0, failed: 0 };
    bucket.all += 1;
    if (!decided(c.status)) bucket.failed += 1;
    buckets.set(key, bucket);
  }
  let seconds = 0;
  for (const b of buckets.values()) seconds += b.failed / b.all;
  return seconds;
}

/**
 * From the fault's end until every replica served again: per replica, the first decided answer after its
 * last undecided one in the window (0 when it never failed after the fault ended); the slowest replica.
 * A replica still failing at the window's end counts the whole rest of the window.
 */
export function recoverySeconds(checks: CheckRecord[], window: FaultWindow): number {
  const byReplica = new Map<string, CheckRecord[]>();
  for (const c of checks) {
    if (c.sentAt < window.startAt || c.sentAt >= window.untilAt) continue;
    byReplica.set(c.replica, [...(byReplica.get(c.replica) ?? []), c]);
  }
  let worst = 0;
  for (const list of byReplica.values()) {
    list.sort((a, b) => a.sentAt - b.sentAt);
    let lastFailure = -1;
    list.forEach((c, i) => {
      if (!decided(c.status)) lastFailure = i;
    });
    if (lastFailure < 0 || list[lastFailure]!.sentAt < window.endAt) continue;
    const next = list.slice(lastFailure + 1).find((c) => decided(c.status));
    const servedAt = next ? next.answeredAt : window.untilAt;
    worst = Math.max(worst, servedAt - window.endAt);
  }
  return worst / 1000;
}

function windowOf(faults: FaultWindow[], at: number): FaultWindow | undefined {
  return faults.find((f) => at >= f.startAt && at < f.untilAt);
}

/** The whole judgement: per fault kind (plus 'none' before the first fault), and in total. */
export function check(history: History): Report {
  const lost = lostWrites(history);
  const late = lateAllows(history);
  const order = orderViolations(history.published);
  const kinds = ['none', ...new Set(history.faults.map((f) => f.kind))];
  const kindAt = (at: number) => windowOf(history.faults, at)?.kind ?? 'none';
  const rows = kinds.map((kind): FaultRow => {
    const windows = history.faults.filter((f) => f.kind === kind);
    const checks = history.checks.filter((c) => kindAt(c.sentAt) === kind);
    return {
      kind,
      cycles: windows.length,
      acknowledgedWrites: history.writes.filter((w) => w.ackAt !== undefined && kindAt(w.ackAt) === kind).length,
      lost: lost.filter((l) => kindAt(l.ackAt) === kind).length,
      orderViolations: order.filter((o) => kindAt(o.timestamp) === kind).length,
      lateAllows: late.filter((l) => kindAt(l.sentAt) === kind).length,
      unavailableS: unavailableSeconds(checks),
      maxRecoveryS: Math.max(0, ...windows.map((w) => recoverySeconds(history.checks, w))),
      checks: checks.length,
    };
  });
  const total: FaultRow = {
    kind: 'all',
    cycles: history.faults.length,
    acknowledgedWrites: rows.reduce((n, r) => n + r.acknowledgedWrites, 0),
    lost: lost.length,
    orderViolations: order.length,
    lateAllows: late.length,
    unavailableS: rows.reduce((n, r) => n + r.unavailableS, 0),
    maxRecoveryS: Math.max(0, ...rows.map((r) => r.maxRecoveryS)),
    checks: history.checks.length,
  };
  return { rows, total, lost, lateAllows: late, orderViolations: order };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** How many undecided checks each reason had ('no answer' for status 0), most frequent first. */
export function undecidedReasons(checks: CheckRecord[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const c of checks) {
    if (decided(c.status)) continue;
    const reason = c.status === 0 ? 'no answer' : `${c.status} ${c.reason ?? '(no reason)'}`;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/** The human-readable table, one row per fault kind. */
export function formatTable(report: Report): string {
  const header = [
    'fault',
    'cycles',
    'acked writes',
    'lost',
    'order violations',
    'late allows',
    '503 s',
    'max recovery s',
    'checks',
  ];
  const line = (r: FaultRow) => [
    r.kind,
    String(r.cycles),
    String(r.acknowledgedWrites),
    String(r.lost),
    String(r.orderViolations),
    String(r.lateAllows),
    round1(r.unavailableS).toFixed(1),
    round1(r.maxRecoveryS).toFixed(1),
    String(r.checks),
  ];
  const table = [header, ...report.rows.map(line), line(report.total)];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`).join('\n');
}

/** The last line of `npm run chaos` (../shared/BENCHMARKS.md). */
export function chaosLine(report: Report): string {
  const t = report.total;
  return `CHAOS ${JSON.stringify({
    cycles: t.cycles,
    acknowledged_writes: t.acknowledgedWrites,
    lost: t.lost,
    order_violations: t.orderViolations,
    late_allows: t.lateAllows,
    unavailable_s: round1(t.unavailableS),
    max_recovery_s: round1(t.maxRecoveryS),
  })}`;
}
