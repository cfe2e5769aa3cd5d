import type { AppendResult, ExpectedVersion, NewEvent } from './types';

/** An append waiting for its group: one stream, its expected version, its events and their metadata. */
export interface QueuedAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: readonly NewEvent[];
  metadata: Record<string, unknown>;
}

/** What one append of a group got: its result, or its own error (a version conflict). */
export type GroupOutcome = { result: AppendResult; error?: undefined } | { error: Error; result?: undefined };

export interface GroupCommitOptions {
  /** Grouped statements running at once. What arrives while they run waits for the next group. */
  maxInFlight: number;
  /** Most appends in one group (default 1,000): bounds a statement's size. */
  maxGroup?: number;
  /** Commits a group (streams all distinct) in one statement; one outcome per append, in order. */
  insertGroup(group: readonly QueuedAppend[]): Promise<GroupOutcome[]>;
  /** Commits one append on its own: a group of one, and every append of a group whose statement failed. */
  appendAlone(append: QueuedAppend): Promise<AppendResult>;
  /** Called for each version conflict a group reports. */
  onConflict(): void;
}

interface Waiting extends QueuedAppend {
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/**
 * Group commit for appends without an idempotency key: the appends that arrive in the same event-loop turn,
 * or while earlier groups are still being written, are committed by one statement, so 5,000 concurrent
 * revocations cost a few hundred commits (and WAL flushes) instead of 5,000. Each append is still its own
 * event, decided on its own expected version, with its own answer.
 *
 * Two appends to the same stream never share a group: the later one waits for the next group and is then
 * decided against what the earlier one committed, exactly as if they had been sent one after the other.
 * An idle store adds no wait: a lone append is sent at the end of the turn it arrived in.
 */
export class GroupCommit {
  private queue: Waiting[] = [];
  private inFlight = 0;
  /** Streams with an append in a group being written: their next append waits until it is decided. */
  private readonly writing = new Set<string>();
  private scheduled = false;
  private readonly maxGroup: number;

  constructor(private readonly options: GroupCommitOptions) {
    this.maxGroup = options.maxGroup ?? 1000;
  }

  append(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    metadata: Record<string, unknown>,
  ): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamId, expectedVersion, events, metadata, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const group = this.takeGroup();
      // Everything queued is for a stream still being written: the commit that ends reschedules.
      if (group.length === 0) return;
      for (const waiting of group) this.writing.add(waiting.streamId);
      this.inFlight++;
      void this.commit(group).finally(() => {
        for (const waiting of group) this.writing.delete(waiting.streamId);
        this.inFlight--;
        this.schedule();
      });
    }
  }

  /**
   * The longest prefix-respecting group of distinct streams none of which is being written by a group in
   * flight (groups run concurrently, so holding back within one group alone would let the second append of a
   * stream be decided before the first committed); a held-back stream stays queued, in order.
   */
  private takeGroup(): Waiting[] {
    const group: Waiting[] = [];
    const rest: Waiting[] = [];
    const streams = new Set<string>(this.writing);
    for (const waiting of this.queue) {
      if (group.length < this.maxGroup && !streams.has(waiting.streamId)) {
        streams.add(waiting.streamId);
        group.push(waiting);
      } else {
        rest.push(waiting);
        // Everything after a held-back append of a stream keeps its place behind it.
        streams.add(waiting.streamId);
      }
    }
    this.queue = rest;
    return group;
  }

  /** Settles every append of the group; never rejects. */
  private async commit(group: Waiting[]): Promise<void> {
    if (group.length === 1) return this.alone(group[0]!);
    let outcomes: GroupOutcome[];
    try {
      outcomes = await this.options.insertGroup(group);
    } catch {
      // The statement as a whole failed (a concurrent writer outside the group took a version, the connection
      // dropped): each append is tried on its own and gets its own answer.
      await Promise.all(group.map((waiting) => this.alone(waiting)));
      return;
    }
    group.forEach((waiting, i) => {
      const outcome = outcomes[i]!;
      if (outcome.error) {
        this.options.onConflict();
        waiting.reject(outcome.error);
      } else waiting.resolve(outcome.result);
    });
  }

  private async alone(waiting: Waiting): Promise<void> {
    try {
      waiting.resolve(await this.options.appendAlone(waiting));
    } catch (error) {
      waiting.reject(error);
    }
  }
}
