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
  private readonly now: () => number;
  private readonly afterTurn: (f: () => void) => void;
  /** When the current turn's first request arrived, or -1 between turns. */
  private turnStartedAt = -1;
  private shedCount = 0;

  constructor(options: LoadShedderOptions = {}) {
    this.budgetMs = options.budgetMs ?? 10;
    this.anonymousBudgetMs = this.budgetMs * (options.anonymousShare ?? 0.5);
    this.now = options.now ?? (() => performance.now());
    this.afterTurn = options.afterTurn ?? ((f) => setImmediate(f));
  }

  /** Whether to serve a request now; false: answer 503 `authorizer-overloaded` with `Retry-After`. */
  admit(credentialed: boolean): boolean {
    const now = this.now();
    if (this.turnStartedAt < 0) {
      this.turnStartedAt = now;
      this.afterTurn(this.endTurn);
      return true;
    }
    const spent = now - this.turnStartedAt;
    if (spent <= (credentialed ? this.budgetMs : this.anonymousBudgetMs)) return true;
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
