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

/** Runs `work` with a fresh receipt; everything it (and what it awaits) commits is recorded on it. */
export function withEventReceipt<T>(receipt: EventReceipt, work: () => T): T {
  return current.run(receipt, work);
}

/** Records the events of an append (new or replayed) on the current receipt, if any. */
export function reportCommitted(result: Pick<AppendResult, 'events'>): void {
  const receipt = current.getStore();
  if (!receipt) return;
  for (const event of result.events) receipt.add(event.id);
}
