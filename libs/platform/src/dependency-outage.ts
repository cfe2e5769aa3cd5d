import type { Logger } from 'pino';

/** A backing service a writer cannot answer without. */
export type Dependency = 'database' | 'kafka';

/** Node socket errors that mean "nobody answers there" (pg and kafkajs both surface them). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/**
 * PostgreSQL SQLSTATEs of a server that is away or going away: class 08 (connection exception), 57P01-57P03
 * (admin/crash shutdown, cannot connect now), 53300 (too many connections).
 */
const PG_UNAVAILABLE = /^(08...|57P0[123]|53300)$/;
/** What node-postgres and its pool say when the server vanished or never answered. */
const PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (?:starting up|shutting down|in recovery mode)/i;
const KAFKA_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSConnectionClosedError',
]);

/**
 * Which dependency an error says is unreachable, or undefined when it is something else (a bug stays a
 * 500). Looks through TypeORM's `driverError`, not through `cause`: `fetch` wraps a refused connection to
 * an IdP or a JWKS endpoint in a `cause`, and that is not our database.
 */
export function unreachableDependency(error: unknown, depth = 0): Dependency | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const { name, code, message, driverError } = error as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
  };
  if (typeof name === 'string' && KAFKA_ERRORS.has(name)) return 'kafka';
  if (typeof code === 'string' && PG_UNAVAILABLE.test(code)) return 'database';
  if (typeof message === 'string' && PG_MESSAGES.test(message)) return 'database';
  if (typeof code === 'string' && SOCKET_CODES.has(code)) {
    return typeof name === 'string' && name.startsWith('KafkaJS') ? 'kafka' : 'database';
  }
  return unreachableDependency(driverError, depth + 1);
}

/** A dependency is judged back once no request has failed on it for this long. */
export const OUTAGE_QUIET_MS = 30_000;

/**
 * One warning per outage instead of one stack trace per request: the first request that fails because a
 * dependency is unreachable opens the outage (warn, with the error's message), the following ones are
 * counted, and the outage closes once none failed for `quietMs` (info, with the count).
 */
export class OutageLog {
  private readonly open = new Map<Dependency, { since: number; last: number; requests: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly quietMs = OUTAGE_QUIET_MS,
    private readonly now: () => number = Date.now,
  ) {}

  record(dependency: Dependency, error: unknown): void {
    const t = this.now();
    this.closeQuiet(t);
    const outage = this.open.get(dependency);
    if (outage) {
      outage.last = t;
      outage.requests += 1;
      return;
    }
    this.open.set(dependency, { since: t, last: t, requests: 1 });
    this.timer ??= setInterval(() => this.closeQuiet(), this.quietMs).unref();
    this.logger.warn(
      { dependency, error: error instanceof Error ? error.message : String(error) },
      `${dependency} unreachable: answering 503 unavailable with Retry-After until it is back`,
    );
  }

  /** Closes outages without a failure for `quietMs` (called on every record and by the owner's timer). */
  closeQuiet(t = this.now()): void {
    for (const [dependency, outage] of this.open) {
      if (t - outage.last < this.quietMs) continue;
      this.open.delete(dependency);
      this.logger.info(
        { dependency, requests: outage.requests, lastedMs: outage.last - outage.since },
        `${dependency} outage over: no request failed on it for ${Math.round(this.quietMs / 1000)} s`,
      );
    }
    if (this.open.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
