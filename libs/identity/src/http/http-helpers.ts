import { ApiError } from '@tollgate/contracts';
import {
  type Caller,
  type CursorScope,
  encodeCursor,
  etag,
  pageRequest,
  parseIdempotencyKey,
  parseIfMatch,
} from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CommandContext } from '../application/command-context';
import type { ListPage, ListWindow } from '../application/lists';

export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Same key, caller and body within 24 h: the first response is replayed with `Idempotent-Replayed: true`; another body: 422',
};

export const IF_MATCH_HEADER = {
  name: 'If-Match',
  required: false,
  description: 'The version (`"<version>"`, the ETag) the change applies to; stale: 412',
};

/**
 * Runs one page of a directory list: the cursor (bound to the list, the caller and the filters) names the
 * creation position the page starts after; the answer's `nextCursor` names where the next one starts.
 */
export async function listPage<T>(
  caller: Caller,
  list: string,
  filters: CursorScope['filters'],
  query: { limit?: number; cursor?: string },
  run: (window: ListWindow) => Promise<ListPage<T>>,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const scope: CursorScope = { list, caller: caller.userId, filters };
  const request = pageRequest(scope, query, 1);
  const after = request.after?.[0] ?? 0;
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) {
    throw new ApiError('validation-failed', 'invalid query: cursor is not a cursor this API issued', [
      { field: 'cursor', message: 'is not a cursor this API issued' },
    ]);
  }
  const page = await run({ after, limit: request.limit });
  return { items: page.items, nextCursor: page.next === undefined ? null : encodeCursor(scope, [page.next]) };
}

/** A REST command's context: the authenticated caller, channel `rest`, the request id. */
export const restContext = (caller: Caller, request: FastifyRequest): CommandContext => ({
  actor: { userId: caller.userId, admin: caller.admin },
  channel: 'rest',
  requestId: String(request.id),
});

/** The `Idempotency-Key` header under the writers' one rule (`parseIdempotencyKey` of @tollgate/platform). */
export const idempotencyKeyOf = (request: FastifyRequest): string | undefined =>
  parseIdempotencyKey(request.headers['idempotency-key']);

/** The version `If-Match` requires (`parseIfMatch` of @tollgate/platform). */
export const ifMatchOf = (request: FastifyRequest): number | undefined => parseIfMatch(request.headers['if-match']);

/** 201 for a new object; a replay of an earlier `Idempotency-Key` says so. */
export function created(reply: FastifyReply, replayed: boolean, version: number): void {
  void reply.status(201).header('ETag', etag(version));
  if (replayed) void reply.header('Idempotent-Replayed', 'true');
}
