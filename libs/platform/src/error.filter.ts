import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { ApiError, type ApiErrorCode } from '@tollgate/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** Fastify's own error codes for bad input, mapped to the contract's codes. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed-json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-json',
};

const STATUS_CODES: Record<number, ApiErrorCode> = {
  400: 'validation-failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limited',
  503: 'unavailable',
};

/** Turns anything thrown into `{ error: { code, message, details? } }`. Never a stack trace to a client. */
export function toApiError(exception: unknown): ApiError {
  if (exception instanceof ApiError) return exception;
  // Nest wraps Fastify's body-parser errors in an HttpException whose `cause` keeps Fastify's code.
  const fastifyError = exception instanceof HttpException ? exception.cause : exception;
  const code = (fastifyError as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && FASTIFY_CODES[code]) {
    const apiCode = FASTIFY_CODES[code];
    const message =
      apiCode === 'payload-too-large'
        ? 'request body exceeds 1 MiB'
        : apiCode === 'unsupported-media-type'
          ? 'request body must be application/json'
          : 'request body is not valid JSON';
    return new ApiError(apiCode, message);
  }
  if (exception instanceof SyntaxError) return new ApiError('malformed-json', 'request body is not valid JSON');
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const apiCode = STATUS_CODES[status];
    if (apiCode) return new ApiError(apiCode, status === 404 ? 'not found' : exception.message);
  }
  return new ApiError('internal-error', 'internal error');
}

@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const error = toApiError(exception);
    if (error.code === 'internal-error') {
      this.logger.error(
        { err: exception, requestId: request?.id, url: request?.url?.split('?')[0] },
        'unhandled error',
      );
    }
    if (error.headers) reply.headers(error.headers);
    void reply
      .status(error.status)
      .type('application/json')
      .send({
        error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) },
      });
  }
}
