import { createHash } from 'node:crypto';
import { VersionConflictError } from './errors';
import type { AppendResult, EventMetadata, EventStore, RecordedEvent } from './types';

/** A domain event as deciders see it: a type and its data. */
export interface DomainEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/**
 * An aggregate as two pure functions (Emmett style). `decide` returns the events a command causes, or
 * throws a domain error; `evolve` folds one event into the state. No I/O, no framework imports.
 */
export type Decider<C, E extends DomainEvent, S> = {
  initialState: S;
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
};

export interface HandleCommandOptions<E extends DomainEvent> {
  /** Makes the command idempotent (scope: `metadata.actor`). */
  idempotencyKey?: string;
  /** Fingerprint of the command for the idempotency check. Default: SHA-256 of stream id + command JSON. */
  fingerprint?: string;
  /** How many times to reload, decide and append again after a `VersionConflictError` (default 3). */
  retries?: number;
  /** Maps a stored event to the decider's event type (upcasting old versions). Default: `{ type, data }`. */
  upcast?: (event: RecordedEvent) => E;
}

export interface HandleCommandResult<S> extends AppendResult {
  /** The aggregate state after the command (after the stored result's stream, when replayed). */
  state: S;
}

/** Folds events into a state. */
export function fold<E extends DomainEvent, S>(
  decider: Pick<Decider<unknown, E, S>, 'initialState' | 'evolve'>,
  events: readonly E[],
): S {
  let state = decider.initialState;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

const defaultUpcast = <E extends DomainEvent>(event: RecordedEvent): E => ({ type: event.type, data: event.data }) as E;

/**
 * Loads the stream, folds it, decides, and appends with the expected version; on a version conflict,
 * retries from the load (up to `retries` times, then rethrows the conflict). A command whose idempotency
 * key was already used returns the first result without deciding again.
 */
export async function handleCommand<C, E extends DomainEvent, S>(
  store: EventStore,
  streamId: string,
  decider: Decider<C, E, S>,
  command: C,
  metadata: EventMetadata,
  options: HandleCommandOptions<E> = {},
): Promise<HandleCommandResult<S>> {
  const upcast = options.upcast ?? defaultUpcast<E>;
  const retries = options.retries ?? 3;
  const fingerprint = options.fingerprint ?? commandFingerprint(streamId, command);
  const key = options.idempotencyKey;

  const loadState = async () => {
    const slice = await store.readStream(streamId);
    return { slice, state: fold(decider, slice.events.map(upcast)) };
  };

  if (key !== undefined) {
    const stored = await store.lookupIdempotencyKey(metadata.actor, key, fingerprint);
    if (stored) return { ...stored, state: (await loadState()).state };
  }

  for (let attempt = 0; ; attempt++) {
    const { slice, state } = await loadState();
    const decided = decider.decide(command, state);
    if (decided.length === 0) {
      return { streamId, version: slice.version, events: [], replayed: false, state };
    }
    try {
      const result = await store.append(
        streamId,
        slice.version,
        decided.map((e) => ({ type: e.type, data: e.data })),
        { metadata, idempotencyKey: key, fingerprint },
      );
      if (result.replayed) return { ...result, state: (await loadState()).state };
      return { ...result, state: decided.reduce(decider.evolve, state) };
    } catch (error) {
      if (error instanceof VersionConflictError && attempt < retries) continue;
      throw error;
    }
  }
}

/** Canonical JSON (sorted keys) SHA-256 of a stream id and a command. */
export function commandFingerprint(streamId: string, command: unknown): string {
  return createHash('sha256').update(streamId).update('\0').update(canonicalJson(command)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
