import { ApiError } from '@tollgate/contracts';
import {
  commandFingerprint,
  IdempotencyKeyReusedError,
  VersionConflictError,
  type EventMetadata,
} from '@tollgate/event-store';
import type { Caller } from '@tollgate/platform';

/** What a request contributes to the commands it causes. */
export interface RequestMeta {
  /** `req_…`, becomes the events' correlation id. */
  requestId: string;
  /** When the request arrived (epoch ms). */
  arrival: number;
  /** The validated `Idempotency-Key` header, if any. */
  idempotencyKey?: string;
}

export const apiMetadata = (caller: Caller, meta: RequestMeta): EventMetadata => ({
  actor: caller.userId,
  channel: 'rest',
  correlationId: meta.requestId,
});

export const systemMetadata = (channel: 'system' | 'bootstrap', causationId?: string): EventMetadata => ({
  actor: 'system',
  channel,
  ...(causationId ? { causationId } : {}),
});

export const idempotencyKeyReused = (): ApiError =>
  new ApiError(
    'idempotency-key-reused',
    'this Idempotency-Key was already used by this caller for a different request in the last 24 hours',
    [{ field: 'Idempotency-Key', message: 'reused with a different request' }],
  );

/** Runs a store call, turning the event store's typed errors into the contract's API errors. */
export async function storeCall<T>(work: () => Promise<T>, onConflict?: () => ApiError): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof IdempotencyKeyReusedError) throw idempotencyKeyReused();
    if (error instanceof VersionConflictError) {
      throw onConflict?.() ?? new ApiError('conflict', 'a concurrent change to the same object won; retry');
    }
    throw error;
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header: 1–255 visible ASCII characters, sent once. Absent: undefined. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header) || !IDEMPOTENCY_KEY.test(header)) {
    throw new ApiError('validation-failed', 'invalid Idempotency-Key header', [
      { field: 'Idempotency-Key', message: 'one header of 1 to 255 visible ASCII characters' },
    ]);
  }
  return header;
}

/**
 * What makes two requests "the same" for an idempotency key: the route, its target and the body as sent
 * (canonical JSON: key order does not matter).
 */
export const requestFingerprint = (route: string, target: string, body: unknown): string =>
  commandFingerprint(route, { target, body: body ?? null });
