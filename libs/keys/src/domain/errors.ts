import { ApiError } from '@tollgate/contracts';

/**
 * The keys service's domain errors. They are `ApiError`s (closed set of codes in @tollgate/contracts), so the
 * platform's one exception filter turns them into the contract's statuses and error shape.
 */
export const keyNotFound = (): ApiError => new ApiError('not-found', 'key not found');

export const accessKeySlotEmpty = (deploymentId: string, slot: string): ApiError =>
  new ApiError('not-found', `deployment ${deploymentId} has no access key in slot ${slot}`);

export const invalidField = (field: string, message: string): ApiError =>
  new ApiError('validation-failed', `invalid body: ${field}`, [{ field, message }]);

export const keyNotRotatable = (keyId: string, why: string): ApiError =>
  new ApiError('conflict', `key ${keyId} cannot be rotated: ${why}`);

export const keyAlreadyRotated = (rotation: { keyId: string; successorKeyId: string; revokesAt: string }): ApiError =>
  new ApiError(
    'conflict',
    `key ${rotation.keyId} is already rotated to ${rotation.successorKeyId}; it stops working at ${rotation.revokesAt}`,
  );

export const keyAlreadyExists = (keyId: string): ApiError => new ApiError('conflict', `key ${keyId} already exists`);

export const lifetimeExceedsPolicy = (maxLifetimeDays: number, latest: string): ApiError =>
  new ApiError(
    'key-lifetime-exceeds-policy',
    `expiresAt exceeds the key policy's maximum lifetime of ${maxLifetimeDays} days (latest allowed now: ${latest})`,
    [{ field: 'expiresAt', message: `at most ${maxLifetimeDays} days from now` }],
  );

export const neverExpiringNotAllowed = (maxLifetimeDays: number): ApiError =>
  new ApiError(
    'key-lifetime-exceeds-policy',
    `a key that never expires (expiresAt: null) is allowed only when the key policy has no maximum; the maximum lifetime is ${maxLifetimeDays} days`,
    [{ field: 'expiresAt', message: `at most ${maxLifetimeDays} days from now` }],
  );
