import { ApiError } from '@tollgate/contracts';
import { type ErrorAnswer, toApiError } from '@tollgate/platform';
import { ScimError, type ScimType } from './scim-error';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

const SCIM_TYPES: Partial<Record<ApiError['code'], ScimType>> = {
  conflict: 'uniqueness',
  'validation-failed': 'invalidValue',
  'malformed-json': 'invalidSyntax',
};

/**
 * Anything thrown on a SCIM route, as a SCIM error (RFC 7644 section 3.12): the platform's mapping of
 * framework and request-policy errors, in SCIM's schema. Never a stack trace.
 */
export function toScimError(exception: unknown): ScimError {
  if (exception instanceof ScimError) return exception;
  const error = toApiError(exception);
  return new ScimError(error.status, error.message, SCIM_TYPES[error.code], error.headers);
}

/** The error presenter of every SCIM route, also for errors raised before the handler (body, parameters). */
export function presentScimError(exception: unknown): ErrorAnswer {
  const error = toScimError(exception);
  return {
    status: error.status,
    contentType: SCIM_CONTENT_TYPE,
    body: JSON.stringify(error.toJSON()),
    ...(error.headers ? { headers: error.headers } : {}),
  };
}
