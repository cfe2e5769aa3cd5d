import { deploymentStream, projectStream, userStream } from '@tollgate/contracts';
import {
  type AppendOptions,
  type AppendResult,
  type Decider,
  type DomainEvent,
  type EventStore,
  fold,
  handleCommand,
  type NewEvent,
  type RecordedEvent,
} from '@tollgate/event-store';
import { type DeploymentAggregate, deploymentDecider } from '../domain/deployment';
import { projectDecider, type ProjectState } from '../domain/project';
import { userDecider, type UserState } from '../domain/user';
import { type CommandContext, metadataOf, translating } from './command-context';

export interface Loaded<S> {
  state: S;
  events: RecordedEvent[];
}

export interface Created<V> {
  view: V;
  /** The stored response of an earlier request with the same `Idempotency-Key`. */
  replayed: boolean;
}

/** Folds recorded events with `decider` (the stored events of a stream, or of an append's result). */
export const foldRecorded = <E extends DomainEvent, S>(
  decider: Pick<Decider<unknown, E, S>, 'initialState' | 'evolve'>,
  events: readonly RecordedEvent[],
): S =>
  fold(
    decider,
    events.map((e) => ({ type: e.type, data: e.data }) as E),
  );

/**
 * What every directory service does with the event store: load an aggregate by folding its stream, replay
 * a creation stored under an `Idempotency-Key`, append decided events, and run a command (load, decide,
 * append, retried on a concurrent write). Store errors come out in the contract's terms.
 */
export class Aggregates {
  constructor(readonly events: EventStore) {}

  async load<C, E extends DomainEvent, S>(streamId: string, decider: Decider<C, E, S>): Promise<Loaded<S>> {
    const slice = await this.events.readStream(streamId);
    return { state: foldRecorded(decider, slice.events), events: slice.events };
  }

  user(userId: string): Promise<Loaded<UserState>> {
    return this.load(userStream(userId), userDecider);
  }

  project(projectId: string): Promise<Loaded<ProjectState>> {
    return this.load(projectStream(projectId), projectDecider);
  }

  deployment(deploymentId: string): Promise<Loaded<DeploymentAggregate>> {
    return this.load(deploymentStream(deploymentId), deploymentDecider);
  }

  /** The stored answer of an earlier creation with `key` (the caller's, for the same request), if any. */
  async replay<V>(
    context: CommandContext,
    key: string | undefined,
    fingerprint: string,
    toView: (events: RecordedEvent[]) => V,
  ): Promise<Created<V> | undefined> {
    if (key === undefined) return undefined;
    const stored = await translating(() =>
      this.events.lookupIdempotencyKey(metadataOf(context).actor, key, fingerprint),
    );
    return stored ? { view: toView(stored.events), replayed: true } : undefined;
  }

  /** Appends decided events with the context's metadata; a lost race is `conflict`. */
  append(
    context: CommandContext,
    streamId: string,
    expectedVersion: number,
    events: readonly NewEvent[],
    options: Omit<AppendOptions, 'metadata'> = {},
  ): Promise<AppendResult> {
    return translating(() =>
      this.events.append(streamId, expectedVersion, events, { ...options, metadata: metadataOf(context) }),
    );
  }

  /**
   * Runs `command` on the stream: load, decide, append, retried on a concurrent write. `conflictCode` says
   * what a lost race that retries did not resolve means: 409, or 412 where the client named a version.
   */
  async command<C, E extends DomainEvent, S>(
    context: CommandContext,
    streamId: string,
    decider: Decider<C, E, S>,
    command: C,
    conflictCode: 'conflict' | 'version-conflict' = 'conflict',
  ): Promise<S> {
    const { state } = await translating(
      () => handleCommand(this.events, streamId, decider, command, metadataOf(context), { retries: 5 }),
      conflictCode,
    );
    return state;
  }
}
