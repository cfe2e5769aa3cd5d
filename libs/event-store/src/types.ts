/**
 * Core event types of the event store. Knows nothing of keys, users or groups: an event is a type, a JSON
 * payload and metadata, appended to a stream with a version.
 */

/** Who caused an event, through which channel, and why. Stored as the `metadata` jsonb column. */
export interface EventMetadata {
  /** Typed id of the actor: `usr_…`, `key_…`, `idp:corp`, `system`. Never a secret. */
  actor: string;
  /** How the command came in: `rest`, `scim`, `webhook`, `oidc`, `ops`, `system`, … */
  channel: string;
  /** Id of the command or event that caused this one. */
  causationId?: string | null;
  /** Id shared by everything one request caused (e.g. the request id `req_…`). */
  correlationId?: string | null;
  /** Set by the store from the append options; read-only on recorded events. */
  idempotencyKey?: string | null;
  /** Set by the store (ISO 8601, database clock); read-only on recorded events. */
  recordedAt?: string;
}

/** An event to append. `id` defaults to a fresh `evt_…`. */
export interface NewEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
  id?: string;
}

/** A committed event, as read from the store or delivered by a log source (the common envelope). */
export interface RecordedEvent<T extends string = string, D = unknown> {
  /** `evt_…`, unique. CloudEvents `id`. */
  id: string;
  /** CloudEvents `source`: the store that recorded it, e.g. `/tollgate/keys`. */
  source: string;
  /** Stream id (CloudEvents `subject`, Kafka key). Stream ids must be unique across stores: use typed prefixes. */
  streamId: string;
  /** 1-based, gap-free, unique per stream. */
  streamVersion: number;
  /** Global position in its store (not comparable across stores). */
  position: number;
  type: T;
  data: D;
  metadata: EventMetadata;
  /** Database clock at append (CloudEvents `time`). */
  recordedAt: Date;
}

/** Expected stream version for optimistic concurrency: `0` = the stream must not exist yet; `'any'` = no check. */
export type ExpectedVersion = number | 'any';
export const NO_STREAM = 0;

export interface AppendOptions {
  /** Actor, channel, causation and correlation ids; stored with every event of the append. */
  metadata: EventMetadata;
  /**
   * Makes the append idempotent: a repeat with the same key (scoped by `metadata.actor`) within the
   * window (default 24 h) returns the first result and appends nothing.
   */
  idempotencyKey?: string;
  /**
   * What identifies "the same request" for that key. Default: SHA-256 of the stream id and the events'
   * types and data. Same key + different fingerprint → `IdempotencyKeyReusedError`.
   */
  fingerprint?: string;
}

export interface AppendResult {
  streamId: string;
  /** Stream version after the append (unchanged when nothing was appended). */
  version: number;
  /** The recorded events (empty when nothing was appended). */
  events: RecordedEvent[];
  /** True when this is the stored result of an earlier append with the same idempotency key. */
  replayed: boolean;
}

/** One stream's part of a multi-stream append. */
export interface StreamAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: readonly NewEvent[];
}

export interface AppendManyResult {
  /** The recorded events of every stream, in the order given (empty when nothing was appended). */
  events: RecordedEvent[];
  /** True when this is the stored result of an earlier append with the same idempotency key. */
  replayed: boolean;
}

export interface StreamSlice {
  streamId: string;
  /** Current version of the stream (0 when it does not exist). */
  version: number;
  events: RecordedEvent[];
}

/** The append's own transaction, as an inline projection writes through it (PostgreSQL: its connection). */
export interface InlineTransaction {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[]; rowCount: number }>;
}

/**
 * A read model kept inside the transaction of the appends it reads (an inline projection, as Emmett runs
 * them): applied to an append's events before the append commits, so the read model is never behind the
 * log and never misses an event, and a projection that throws rolls the append back. Runs for an append
 * with at least one event of a type in `handles`, and sees only those events, in position order. Replays of
 * an idempotency key run nothing: the first append ran it.
 */
export interface InlineProjection<Tx = InlineTransaction> {
  readonly handles: readonly string[];
  apply(events: readonly RecordedEvent[], tx: Tx): Promise<void>;
}

/** The write side. One per writer schema. */
export interface EventStore {
  /** The CloudEvents source of this store, e.g. `/tollgate/keys`. */
  readonly source: string;
  /**
   * Appends `events` to `streamId` in one transaction if the stream is at `expectedVersion`
   * (else `VersionConflictError`). Returns after commit.
   */
  append(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * Appends to several streams in ONE transaction: all or nothing. Every stream must be at its expected
   * version (else `VersionConflictError` naming the first that is not, and nothing is appended). A stream
   * id may appear once. Same idempotency rules as `append` (default fingerprint: every stream's events).
   */
  appendMany(appends: readonly StreamAppend[], options: AppendOptions): Promise<AppendManyResult>;
  /** Events of one stream, in version order, from `fromVersion` (default 1). */
  readStream(streamId: string, options?: { fromVersion?: number }): Promise<StreamSlice>;
  /**
   * Committed events by position (for ops: replay, republish, audit). `after` is exclusive (default 0).
   * Not gap-safe against in-flight transactions: use a log source to follow the store.
   */
  readAll(options?: { after?: number; limit?: number }): Promise<RecordedEvent[]>;
  /**
   * The stored result of an earlier append with this idempotency key (scope = actor), or null.
   * Throws `IdempotencyKeyReusedError` when the key was used with a different fingerprint.
   */
  lookupIdempotencyKey(scope: string, key: string, fingerprint: string): Promise<AppendResult | null>;
}

/** Minimal structured logger (pino-compatible). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

function line(level: string, obj: object, msg?: string): string {
  const fields = Object.fromEntries(
    Object.entries(obj).map(([k, v]) => [k, v instanceof Error ? { name: v.name, message: v.message } : v]),
  );
  return `${JSON.stringify({ level, time: new Date().toISOString(), lib: 'event-store', msg, ...fields })}\n`;
}

/** Default logger: warnings and errors as JSON lines on stderr. Pass your pino logger instead. */
export const consoleLogger: Logger = {
  info: () => {},
  warn: (obj, msg) => void process.stderr.write(line('warn', obj, msg)),
  error: (obj, msg) => void process.stderr.write(line('error', obj, msg)),
};
