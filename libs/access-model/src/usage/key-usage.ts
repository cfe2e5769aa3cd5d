import { KEY_USAGE_BATCH_MAX, KEYS_USED, type KeysUsed } from '@tollgate/contracts';
import type { Logger } from 'pino';

/** The fields of an authorizer decision that say whether it was a use of a key. */
export interface KeyDecision {
  allowed: boolean;
  status: number;
  keyId?: string;
}

const MINUTE_MS = 60_000;

/**
 * "Last used" per key, counted in memory on the authorizer's check path and by the management APIs' caller
 * authentication: key id → start of the latest minute this process saw it in use. One `Map.get` per counted request, and a `Map.set` the first time a key is seen in a minute;
 * nothing is allocated per request (the key id is the model's own string). The map holds only keys that
 * authenticated (see `countsAsUse`), so its size is bounded by the number of valid keys, whatever callers send.
 */
export class KeyUsageTally {
  private minutes = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts a use of `keyId` now (the hot path). */
  used(keyId: string): void {
    const now = this.now();
    const minute = now - (now % MINUTE_MS);
    const previous = this.minutes.get(keyId);
    // `<`, not `!==`: a clock stepping back never lowers what was counted.
    if (previous === undefined || previous < minute) this.minutes.set(keyId, minute);
  }

  /** Counts the key of an authorizer decision when the decision is a use of it (`countsAsUse`). */
  decided(decision: KeyDecision): void {
    if (decision.keyId !== undefined && countsAsUse(decision)) this.used(decision.keyId);
  }

  /** Keys counted since the last `take`. */
  get size(): number {
    return this.minutes.size;
  }

  /** Everything counted since the last `take` (key id → minute start, epoch ms); the tally starts afresh. */
  take(): Map<string, number> {
    const taken = this.minutes;
    this.minutes = new Map();
    return taken;
  }

  /** Puts back what could not be published; per key the later minute wins. */
  restore(entries: Iterable<[string, number]>): void {
    for (const [keyId, minute] of entries) {
      const current = this.minutes.get(keyId);
      if (current === undefined || current < minute) this.minutes.set(keyId, minute);
    }
  }
}

/**
 * A decision is a use of its key when the key authenticated: allowed, or refused for access (403: a valid key
 * of a caller without access to the deployment). A 401 (unknown, revoked, expired key; a kind or scope the
 * deployment does not accept) is no use. `keyId` is the user API key, the access key, or for a service token
 * the key it was exchanged for: a token minted from a key is use of that key.
 */
export function countsAsUse(decision: KeyDecision): boolean {
  return decision.allowed || decision.status === 403;
}

/** Where a replica's `KeysUsed` messages go: Kafka in deployed mode, the in-process bus in embedded mode. */
export interface KeyUsageSink {
  publish(message: KeysUsed): Promise<void>;
  close?(): Promise<void>;
}

export interface KeyUsagePublisherOptions {
  tally: KeyUsageTally;
  sink: KeyUsageSink;
  replicaId: string;
  /** `TOLLGATE_KEY_USAGE_INTERVAL_MS`. */
  intervalMs: number;
  /** Keys per message (default and maximum KEY_USAGE_BATCH_MAX). */
  batchMax?: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Publishes the tally every `intervalMs`: one `KeysUsed` message per `batchMax` keys, nothing when no key was
 * used. A message that cannot be published is put back into the tally (later minute wins) and goes with the
 * next interval, so a Kafka outage delays "last used" without losing it while the replica lives; a replica
 * that dies loses at most its last interval. A message is never sent again once sent: the keys service keeps
 * the greatest value per key anyway, so a duplicate or a late message could not move a key backwards.
 */
export class KeyUsagePublisher {
  private readonly batchMax: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> | undefined;
  private failing = false;

  constructor(private readonly options: KeyUsagePublisherOptions) {
    this.batchMax = Math.min(Math.max(1, options.batchMax ?? KEY_USAGE_BATCH_MAX), KEY_USAGE_BATCH_MAX);
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    // The interval never keeps a stopping process alive; `stop` publishes the last tally.
    this.timer.unref();
  }

  /** A last publication of what was counted (best effort: the caller bounds how long it waits). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    await this.options.sink.close?.();
  }

  /** Publishes what was counted since the last flush; resolves to the number of keys published. */
  flush(): Promise<number> {
    // One flush at a time: a slow send is not overtaken by the next interval's (whose values could be newer).
    this.flushing ??= this.publishTaken().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async publishTaken(): Promise<number> {
    const { tally, sink, replicaId, logger } = this.options;
    if (tally.size === 0) return 0;
    const entries = [...tally.take()];
    let sent = 0;
    for (let from = 0; from < entries.length; from += this.batchMax) {
      const batch = entries.slice(from, from + this.batchMax);
      const message: KeysUsed = {
        type: KEYS_USED,
        replicaId,
        publishedAt: new Date(this.now()).toISOString(),
        keys: batch.map(([keyId, minute]) => ({ keyId, lastUsedAt: new Date(minute).toISOString() })),
      };
      try {
        await sink.publish(message);
        sent += batch.length;
      } catch (err) {
        tally.restore(entries.slice(from));
        if (!this.failing)
          logger.warn({ err, keys: entries.length - from }, 'key usage: cannot publish; kept for the next interval');
        this.failing = true;
        return sent;
      }
    }
    if (this.failing) logger.info({}, 'key usage: published again');
    this.failing = false;
    return sent;
  }
}
