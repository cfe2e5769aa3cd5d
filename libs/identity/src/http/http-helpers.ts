import { ApiError } from '@tollgate/contracts';
import type { Caller } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CommandContext } from '../application/command-context';

/** A REST command's context: the authenticated caller, channel `rest`, the request id. */
export const restContext = (caller: Caller, request: FastifyRequest): CommandContext => ({
  actor: { userId: caller.userId, admin: caller.admin },
  channel: 'rest',
  requestId: String(request.id),
});

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header (printable ASCII, 1–255), if sent. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw new ApiError('validation-failed', 'Idempotency-Key must be 1 to 255 printable ASCII characters', [
      { field: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' },
    ]);
  }
  return value;
}

/**
 * The version an `If-Match` header requires: `"3"`, `W/"3"` or `3`; `*` or no header: none. A value that
 * names no version can match nothing: 412.
 */
export function ifMatchOf(request: FastifyRequest): number | undefined {
  const value = request.headers['if-match'];
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value.join(',') : value).trim();
  if (text === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(text);
  if (!match) throw new ApiError('version-conflict', 'If-Match names no version of this object');
  return Number(match[1]);
}

export const etag = (version: number): string => `"${version}"`;

/** 201 for a new object; a replay of an earlier `Idempotency-Key` says so. */
export function created(reply: FastifyReply, replayed: boolean, version: number): void {
  void reply.status(201).header('ETag', etag(version));
  if (replayed) void reply.header('Idempotent-Replayed', 'true');
}
