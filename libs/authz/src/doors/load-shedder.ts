/**
 * Sheds request work that would starve the log source (CONTRACT.md section 2, issue 13 item 8).
 *
 * Node serves every socket that is ready in one event-loop turn before it runs anything else: under a flood
 * of 1,500 concurrent requests a turn grows to hundreds of milliseconds, and the log source (a Kafka fetch
 * or a PostgreSQL poll needs a few turns per batch and per heartbeat) falls behind until the watermark is
 * older than the bound and every caller gets `authorizer-stale`. The shedder bounds the request work of one
 * turn instead: the first requests of a turn are served, the rest are answered 503 `authorizer-overloaded`
 * with `Retry-After` at once (a few µs each), so each turn ends within about `budgetMs` plus the cost of the
 * shed answers, and the log source gets its turn.
 *
 * Anonymous requests (no credential at all) get the first `anonymousShare` of the budget only: under a
 * flood of them, callers with a credential are still served for the rest of the turn.
 */
export interface LoadShedderOptions {
  /** Request work allowed per event-loop turn, in ms (default 10). */
  budgetMs?: number;
  /**
   * Requests a turn always serves before it may shed (default 32). A turn's time is mostly request work
   * only when it holds many requests: a turn of a few requests that a GC pause (or any other stall) made
   * long is not a flood, and shedding it held a caller's connection off for about a second at half load
   * (issue 18: p99.9 11 ms, max 1,063 ms). 32 requests are a few ms of work at most.
   */
  minRequests?: number;
  /** Share of the budget anonymous requests may use (default 0.5). */
  anonymousShare?: number;
  /** Clock in ms (default `performance.now`). */
  now?: () => number;
  /** Runs `f` once the current turn's I/O is done (default `setImmediate`). */
  afterTurn?: (f: () => void) => void;
}

export class LoadShedder {
  private readonly budgetMs: number;
  private readonly anonymousBudgetMs: number;
  private readonly minRequests: number;
  private readonly now: () => number;
  private readonly afterTurn: (f: () => void) => void;
  /** When the current turn's first request arrived, or -1 between turns. */
  private turnStartedAt = -1;
  private shedCount = 0;
  /** Requests admitted in the current turn. */
  private admitted = 0;

  constructor(options: LoadShedderOptions = {}) {
    this.budgetMs = options.budgetMs ?? 10;
    this.anonymousBudgetMs = this.budgetMs * (options.anonymousShare ?? 0.5);
    this.minRequests = options.minRequests ?? 32;
    this.now = options.now ?? (() => performance.now());
    this.afterTurn = options.afterTurn ?? ((f) => setImmediate(f));
  }

  /** Whether to serve a request now; false: answer 503 `authorizer-overloaded` with `Retry-After`. */
  admit(credentialed: boolean): boolean {
    const now = this.now();
    if (this.turnStartedAt < 0) {
      this.turnStartedAt = now;
      this.admitted = 1;
      this.afterTurn(this.endTurn);
      return true;
    }
    const spent = now - this.turnStartedAt;
    if (this.admitted < this.minRequests || spent <= (credentialed ? this.budgetMs : this.anonymousBudgetMs)) {
      this.admitted += 1;
      return true;
    }
    this.shedCount += 1;
    return false;
  }

  /** Requests shed since start. */
  get shed(): number {
    return this.shedCount;
  }

  private readonly endTurn = (): void => {
    this.turnStartedAt = -1;
  };
}
