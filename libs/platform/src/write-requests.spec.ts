import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@tollgate/contracts';
import { IdempotencyKeyReusedError, VersionConflictError } from '@tollgate/event-store';
import {
  etag,
  parseIdempotencyKey,
  parseIfMatch,
  pathId,
  staleVersion,
  storeCall,
  storeErrorToApi,
} from './write-requests';

const codeOf = (work: () => unknown): string | undefined => {
  try {
    work();
    return undefined;
  } catch (error) {
    return (error as ApiError).code;
  }
};

describe('the write plumbing both writers share', () => {
  it('takes one Idempotency-Key of 1–255 visible ASCII characters; refuses the rest with 400', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey('order-42')).toBe('order-42');
    expect(parseIdempotencyKey('x'.repeat(255))).toHaveLength(255);
    for (const bad of ['', 'with space', 'x'.repeat(256), 'é', ['a', 'b']]) {
      expect(codeOf(() => parseIdempotencyKey(bad))).toBe('validation-failed');
    }
  });

  it('reads If-Match as "3", W/"3" or 3; * or none requires nothing; anything else matches no version (412)', () => {
    expect(parseIfMatch('"3"')).toBe(3);
    expect(parseIfMatch('W/"7"')).toBe(7);
    expect(parseIfMatch('12')).toBe(12);
    expect(parseIfMatch('*')).toBeUndefined();
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(codeOf(() => parseIfMatch('"abc"'))).toBe('version-conflict');
    expect(etag(5)).toBe('"5"');
  });

  it('answers a path id that cannot exist with 404, like an unknown one, in both writers', () => {
    expect(pathId('usr_3fK9xQ2mP7rT1vWz', 'user')).toBe('usr_3fK9xQ2mP7rT1vWz');
    for (const bad of ['', 'a'.repeat(201), 'a/b', 'a b', '%2e'])
      expect(codeOf(() => pathId(bad, 'user'))).toBe('not-found');
  });

  it('maps the event store errors once: 422 reused key, 409 or 412 lost race, anything else unchanged', async () => {
    expect((storeErrorToApi(new IdempotencyKeyReusedError('k')) as ApiError).code).toBe('idempotency-key-reused');
    expect((storeErrorToApi(new VersionConflictError('s', 1, 2)) as ApiError).code).toBe('conflict');
    expect((storeErrorToApi(new VersionConflictError('s', 1, 2), staleVersion) as ApiError).code).toBe(
      'version-conflict',
    );
    const other = new Error('boom');
    expect(storeErrorToApi(other)).toBe(other);
    await expect(storeCall(() => Promise.reject(new VersionConflictError('s', 1, 2)))).rejects.toMatchObject({
      code: 'conflict',
    });
  });
});
