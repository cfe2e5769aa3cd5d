import { useEffect, useState } from 'preact/hooks';
import { api, seg, session } from './api';

/**
 * Access-reducing events this console committed in this session (a key revoked, a user deactivated, …),
 * from the writes' `Tollgate-Event-Id` headers, newest first: the Admin page's revocations view follows
 * each one's confirmation by every authz replica. In memory only, like the session.
 */
export interface RecordedEvent {
  eventId: string;
  what: string;
  at: string;
}

let events: readonly RecordedEvent[] = [];
const MAX = 50;
const listeners = new Set<() => void>();

export function recordAccessReduction(what: string, eventIds: readonly string[]): void {
  if (eventIds.length === 0) return;
  const at = new Date().toISOString();
  events = [...eventIds.map((eventId) => ({ eventId, what, at })), ...events].slice(0, MAX);
  listeners.forEach((l) => l());
}

export const forgetEvents = (): void => {
  events = [];
  listeners.forEach((l) => l());
};

/** The recorded events, re-rendering the caller when one is added. */
export function useRecordedEvents(): readonly RecordedEvent[] {
  const [, setSeen] = useState(events);
  useEffect(() => {
    const update = () => setSeen(events);
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return events;
}

/**
 * Waits until the authz replica that answers has applied the last of a write's events (`GET /v1/revocations/{id}`
 * waits, at most the freshness bound, for it), so that what the console does next sees the reduction. Without
 * it, the list reloaded right after revoking the key this session signed in with could still be answered with
 * that key, and the session would end only on some later call. Best effort: a failure leaves the next call to
 * find out; a 401 here has already ended the session (see `api`).
 * @returns whether the session is still signed in.
 */
export async function untilApplied(eventIds: readonly string[]): Promise<boolean> {
  const last = eventIds.at(-1);
  if (last !== undefined) await api('GET', `/v1/revocations/${seg(last)}`).catch(() => undefined);
  return session.credential !== undefined;
}
