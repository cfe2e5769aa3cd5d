import { useEffect, useState } from 'preact/hooks';

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
