/** Typed errors of the event store. Each has a stable `code`; the API maps them to HTTP statuses. */
export type EventStoreErrorCode = 'version-conflict' | 'idempotency-key-reused' | 'invalid-stream-id';

export abstract class EventStoreError extends Error {
  abstract readonly code: EventStoreErrorCode;
}

/** The stream was not at the expected version (optimistic concurrency). API: 409 or 412 (If-Match). */
export class VersionConflictError extends EventStoreError {
  readonly code = 'version-conflict' as const;
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number | 'any',
    readonly actualVersion: number | null,
  ) {
    super(`stream ${streamId}: expected version ${expectedVersion}, found ${actualVersion ?? 'a concurrent append'}`);
    this.name = 'VersionConflictError';
  }
}

/** The idempotency key was already used for a different request within its window. API: 422 or 409. */
export class IdempotencyKeyReusedError extends EventStoreError {
  readonly code = 'idempotency-key-reused' as const;
  constructor(readonly idempotencyKey: string) {
    super(`idempotency key ${idempotencyKey} was already used for a different request`);
    this.name = 'IdempotencyKeyReusedError';
  }
}

export class InvalidStreamIdError extends EventStoreError {
  readonly code = 'invalid-stream-id' as const;
  constructor(readonly streamId: string) {
    super(`invalid stream id ${JSON.stringify(streamId)}`);
    this.name = 'InvalidStreamIdError';
  }
}
