import { ApiError } from '@tollgate/contracts';
import { IdempotencyKeyReusedError, VersionConflictError } from '@tollgate/event-store';

/**
 * The request plumbing both writers (keys, identity) share, so a client meets one behaviour everywhere:
 * the `Idempotency-Key` and `If-Match` headers, `ETag`, path ids, and the event store's errors in the
 * contract's terms (CONTRACT.md section 3). Pure functions of header values; no framework.
 */

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header: one header of 1–255 visible ASCII characters. Absent: undefined. */
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
 * The version an `If-Match` header requires: `"3"`, `W/"3"` or `3`; `*` or no header: none. A value that
 * names no version can match nothing: 412 `version-conflict`.
 */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = (Array.isArray(header) ? header.join(',') : header).trim();
  if (text === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(text);
  if (!match) throw new ApiError('version-conflict', 'If-Match names no version of this object');
  return Number(match[1]);
}

/** An object's `ETag`: its version, quoted. */
export const etag = (version: number): string => `"${version}"`;

const PATH_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * An id taken from the path. One that cannot exist answers 404 like any unknown id, in both writers: a 400
 * would tell a prober which ids are well-formed. (NUL and lone surrogates were already refused with 400 by
 * the request policy, as the contract says.)
 */
export function pathId(value: string, what: string): string {
  if (!PATH_ID.test(value)) throw new ApiError('not-found', `${what} not found`);
  return value;
}

export const idempotencyKeyReused = (): ApiError =>
  new ApiError(
    'idempotency-key-reused',
    'this Idempotency-Key was already used by this caller for a different request in the last 24 hours',
    [{ field: 'Idempotency-Key', message: 'reused with a different request' }],
  );

/**
 * An event-store error in the contract's terms: a reused idempotency key is 422; a lost optimistic race is
 * what `onConflict` says (default 409 `conflict`; 412 `version-conflict` where the client sent `If-Match`).
 * Anything else is returned unchanged.
 */
export function storeErrorToApi(error: unknown, onConflict?: () => ApiError): unknown {
  if (error instanceof IdempotencyKeyReusedError) return idempotencyKeyReused();
  if (error instanceof VersionConflictError) {
    return onConflict?.() ?? new ApiError('conflict', 'a concurrent change to the same object won; retry');
  }
  return error;
}

/** Runs a store call, turning the event store's typed errors into the contract's API errors. */
export async function storeCall<T>(work: () => Promise<T>, onConflict?: () => ApiError): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw storeErrorToApi(error, onConflict);
  }
}

/** 412 for a write whose `If-Match` named another version. */
export const staleVersion = (): ApiError =>
  new ApiError('version-conflict', 'the object was changed concurrently; read it again and retry');
