import { applyDecorators } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiJsonResponse } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseIdempotencyKey } from '@tollgate/platform';
import type { RequestMeta } from '../service/support';
import { errorResponse, examples } from './schemas';

export const requestMeta = (request: FastifyRequest, idempotencyKey?: string | string[]): RequestMeta => ({
  requestId: String(request.id),
  arrival: Date.now(),
  ...(idempotencyKey !== undefined ? { idempotencyKey: parseIdempotencyKey(idempotencyKey) } : {}),
});

/** Responses that carry a secret are never cached; a replay says so. */
export function secretResponseHeaders(reply: FastifyReply, replayed: boolean): void {
  void reply.header('Cache-Control', 'no-store');
  if (replayed) void reply.header('Idempotent-Replayed', 'true');
}

const ERROR_DESCRIPTIONS: Record<number, [string, string, string]> = {
  400: [
    'malformed JSON, wrong types or unknown fields (details name the fields)',
    'validation-failed',
    'invalid body: scope',
  ],
  401: [
    'no valid management credential (inference and access keys: key-scope-invalid)',
    'unauthenticated',
    'authentication required',
  ],
  403: ['the caller may not do this', 'forbidden', 'only Tollgate admins may do this'],
  404: ['unknown, or not visible to the caller', 'not-found', 'key not found'],
  409: [
    'the key cannot be changed so: revoked, expired or already rotated (or its owner is deactivated)',
    'conflict',
    'key key_3fK9xQ2mP7rT1vWz cannot be rotated: it is revoked',
  ],
  412: [
    'If-Match does not match the current version',
    'version-conflict',
    'If-Match does not match the current version 3',
  ],
  422: [
    'the request breaks the key policy, or reuses an Idempotency-Key',
    'key-lifetime-exceeds-policy',
    "expiresAt exceeds the key policy's maximum lifetime of 365 days",
  ],
  429: [
    'too many key creations for this owner (Retry-After)',
    'rate-limited',
    'too many keys created for this user; retry in 2 s',
  ],
  503: [
    'no signing key is active yet (Retry-After)',
    'unavailable',
    'no service-token signing key is active yet; retry shortly',
  ],
};

/** Documents the error responses of a route with the contract's error shape. */
export const ApiErrors = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) => {
      const [description, code, message] = ERROR_DESCRIPTIONS[status]!;
      return ApiJsonResponse(status, description, errorResponse, examples.error(code, message));
    }),
  );

export const ApiIdempotencyKey = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Same key, caller and body within 24 h: the first response is replayed with `Idempotent-Replayed: true` (the secret as null); same key with another body: 422 `idempotency-key-reused`.',
  });
