import { type Logger, pino } from 'pino';
import type { AuthzMetrics } from './authz.metrics';
import type { Door, DoorDecision } from './types';

/** The fields of one `authz.decision` log line (CONTRACT.md section 2). Never a key, token or header. */
export interface DecisionLogLine {
  requestId: string;
  door: Door;
  subject: string | null;
  keyId?: string;
  issuer?: string;
  deployment: string | null;
  allowed: boolean;
  status: number;
  reason: string;
  latencyUs: number;
}

/** The log line of a decision: built from the decision's own fields only, so no secret can reach it. */
export function decisionLogLine(
  door: Door,
  requestId: string,
  decision: DoorDecision,
  latencyUs: number,
): DecisionLogLine {
  const line: DecisionLogLine = {
    requestId,
    door,
    subject: decision.subject ?? null,
    deployment: decision.deployment ?? null,
    allowed: decision.allowed,
    status: decision.status,
    reason: decision.reason,
    latencyUs,
  };
  if (decision.keyId !== undefined) line.keyId = decision.keyId;
  if (decision.issuer !== undefined) line.issuer = decision.issuer;
  return line;
}

/**
 * Writes decision lines on a pino logger's own destination, formatted here: the same line pino writes
 * (level, time, the logger's bindings, the fields, `msg`), for about a seventh of the CPU. pino runs its
 * redaction and serializers on every line, about 20 µs (measured: more than the check itself); a decision
 * line is built from the decision's own fields only (`decisionLogLine`), never a key or token, so it needs
 * neither. Strings are escaped with `JSON.stringify`; the rest are numbers and booleans.
 */
class DecisionLineWriter {
  private readonly enabled: boolean;
  private readonly prefix: string;
  private readonly time: () => string;
  private readonly stream: { write(line: string): unknown };
  private readonly bindings: string;
  private readonly suffix: string;

  constructor(logger: Logger) {
    const internals = logger as unknown as Record<symbol, unknown>;
    const { symbols } = pino;
    this.enabled = logger.isLevelEnabled('info');
    const formatters = internals[symbols.formattersSym] as { level(label: string, n: number): object };
    this.prefix = JSON.stringify(formatters.level('info', logger.levels.values.info!)).slice(0, -1);
    const time = internals[symbols.timeSym] as () => string;
    this.time = time === pino.stdTimeFunctions.isoTime ? isoTimeOncePerMs() : time;
    this.stream = internals[symbols.streamSym] as { write(line: string): unknown };
    this.bindings = internals[symbols.chindingsSym] as string;
    this.suffix = `,${JSON.stringify(internals[symbols.messageKeySym] as string)}:"authz.decision"}\n`;
  }

  write(line: DecisionLogLine): void {
    if (!this.enabled) return;
    const q = JSON.stringify;
    this.stream.write(
      `${this.prefix}${this.time()}${this.bindings},"requestId":${q(line.requestId)},"door":${q(line.door)},` +
        `"subject":${line.subject === null ? 'null' : q(line.subject)},` +
        `"deployment":${line.deployment === null ? 'null' : q(line.deployment)},` +
        `"allowed":${line.allowed},"status":${line.status},"reason":${q(line.reason)},"latencyUs":${line.latencyUs}` +
        `${line.keyId === undefined ? '' : `,"keyId":${q(line.keyId)}`}` +
        `${line.issuer === undefined ? '' : `,"issuer":${q(line.issuer)}`}${this.suffix}`,
    );
  }
}

/**
 * pino's `isoTime` field, formatted once per millisecond: a busy door writes several lines in the same
 * millisecond, and a `Date` plus `toISOString` per line was about a third of the line's cost.
 */
function isoTimeOncePerMs(): () => string {
  let ms = -1;
  let field = '';
  return () => {
    const now = Date.now();
    if (now !== ms) {
      ms = now;
      field = `,"time":"${new Date(now).toISOString()}"`;
    }
    return field;
  };
}

/** Writes one JSON line per decision on the process logger and counts it. */
export class DecisionRecorder {
  private readonly lines: DecisionLineWriter;
  /**
   * The latency histogram's child per door, bound once (`labels(...)` builds one on every call). Its `observe`
   * still hashes the door; prom-client has no way to add to a histogram's buckets other than one value at a time.
   */
  private readonly latency = new Map<Door, Observer>();

  constructor(
    logger: Logger,
    private readonly metrics: AuthzMetrics,
  ) {
    this.lines = new DecisionLineWriter(logger);
  }

  /** `startedNs`: `process.hrtime.bigint()` when the door began. Returns the latency in µs. */
  record(door: Door, requestId: string, decision: DoorDecision, startedNs: bigint): number {
    const latencyUs = Number(process.hrtime.bigint() - startedNs) / 1000;
    const rounded = Math.round(latencyUs * 10) / 10;
    this.lines.write(decisionLogLine(door, requestId, decision, rounded));
    let latency = this.latency.get(door);
    if (latency === undefined) this.latency.set(door, (latency = this.metrics.decisionSeconds.labels(door)));
    latency.observe(latencyUs / 1e6);
    // By door, status and reason: the reason is one of the decision's constant strings, whose hash V8 keeps,
    // where a key joined from the three was a new string to hash on every decision.
    this.metrics.decisionCounts.cell(door, decision.status, decision.reason).count += 1;
    return rounded;
  }
}

type Observer = { observe(value: number): void };
