import { AsyncLocalStorage } from 'node:async_hooks';
import type { AppendResult } from './types';

/**
 * The ids of the events one unit of work (an HTTP request) committed, in commit order: what a write answers
 * in `Tollgate-Event-Id` (CONTRACT.md section 3, "Events of a write").
 *
 * The stores report every append they commit, and every stored result they hand back for an
 * `Idempotency-Key` they recognise, to the receipt of the current asynchronous context. So whatever path a
 * command takes (a decider, a direct append, several streams in one transaction), its answer names the
 * events it committed, and a replay names the very same events: the stored result carries their ids.
 * Outside a receipt (start-up, reactors, ops), reporting does nothing.
 */
export class EventReceipt {
  private readonly ids = new Set<string>();

  /** Ids in the order they were committed (a repeat of an id is kept once, at its first place). */
  get eventIds(): string[] {
    return [...this.ids];
  }

  add(eventId: string): void {
    this.ids.add(eventId);
  }
}

const current = new AsyncLocalStorage<EventReceipt>();

/**
 * Receipts open now. On Node 20 an enabled `AsyncLocalStorage` runs an async hook for every asynchronous
 * resource and promise of the process, including each forward-auth request, which has no receipt: about
 * 0.6-1.5 µs of CPU a request (3-7%) on a bare node:http server (docs/performance.md). So the storage is enabled
 * only while a receipt is open, and the last receipt to close disables it. Work still running after its
 * receipt closed (an aborted request's handler) reports to no one, which is right: its answer is gone.
 */
let open = 0;

/**
 * Runs `work` with `receipt`: everything it (and what it awaits) commits is recorded there until the
 * returned `close` is called (once is enough; later calls do nothing). For work whose end is not the end
 * of `work` itself, such as a request handler continued by a callback.
 */
export function openEventReceipt(receipt: EventReceipt, work: () => void): () => void {
  let closed = false;
  open += 1;
  try {
    current.run(receipt, work);
  } catch (err) {
    close();
    throw err;
  }
  return close;

  function close(): void {
    if (closed) return;
    closed = true;
    open -= 1;
    if (open === 0) current.disable();
  }
}

/** Whether any receipt is open (and the async hooks behind them are on). */
export function eventReceiptsOpen(): boolean {
  return open > 0;
}

/** Records the events of an append (new or replayed) on the current receipt, if any. */
export function reportCommitted(result: Pick<AppendResult, 'events'>): void {
  const receipt = current.getStore();
  if (!receipt) return;
  for (const event of result.events) receipt.add(event.id);
}
