import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { ApiError, type ApiErrorCode } from '@tollgate/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { OutageLog, unreachableDependency } from './dependency-outage';

/** Fastify's own errors for bad input, mapped to the contract's codes and a message that leaks nothing. */
const FASTIFY_ERRORS: Record<string, [ApiErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload-too-large', 'request body exceeds 1 MiB'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported-media-type', 'request body must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['malformed-json', 'request body length does not match Content-Length'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['malformed-json', 'request body is not valid JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['malformed-json', 'request body is not valid JSON'],
  FST_ERR_BAD_URL: ['validation-failed', 'the URL holds an invalid percent-encoded sequence'],
  // A path parameter longer than any id can be: as unknown as any other id.
  FST_ERR_MAX_PARAM_LENGTH: ['not-found', 'not found'],
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

/** Seconds a client should wait before retrying a write that failed on an unreachable dependency. */
export const DEPENDENCY_RETRY_AFTER_S = 2;

/** Turns anything thrown into an `ApiError`; anything unexpected is `internal-error`, never its message. */
export function toApiError(exception: unknown): ApiError {
  if (exception instanceof ApiError) return exception;
  const dependency = unreachableDependency(exception);
  if (dependency) {
    return new ApiError('unavailable', `the ${dependency} is unreachable; retry shortly`, undefined, {
      'Retry-After': String(DEPENDENCY_RETRY_AFTER_S),
    });
  }
  // Nest wraps errors raised before the handler (body parsers, hooks) in an HttpException keeping the
  // original as its `cause`.
  const cause = exception instanceof HttpException ? exception.cause : exception;
  if (cause instanceof ApiError) return cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && FASTIFY_ERRORS[code]) return new ApiError(...FASTIFY_ERRORS[code]);
  if (exception instanceof SyntaxError) return new ApiError('malformed-json', 'request body is not valid JSON');
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const apiCode = STATUS_CODES[status];
    if (apiCode) return new ApiError(apiCode, status === 404 ? 'not found' : exception.message);
  }
  return new ApiError('internal-error', 'internal error');
}

/** An error as it goes on the wire. */
export interface ErrorAnswer {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

/** How a route answers errors: the contract's shape, or (SCIM) a protocol's own error schema. */
export type ErrorPresenter = (exception: unknown) => ErrorAnswer;

/** The contract's `{ error: { code, message, details? } }`. */
export function presentApiError(exception: unknown): ErrorAnswer {
  const error = toApiError(exception);
  return {
    status: error.status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({
      error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) },
    }),
    ...(error.headers ? { headers: error.headers } : {}),
  };
}

/** Where a route's presenter is kept: its Fastify route config, which Fastify gives every error path. */
const PRESENTER = 'tollgateErrorPresenter';
// `@RouteConfig` of @nestjs/platform-fastify stores a handler's route config under this metadata key (the
// package does not export the constant); `PresentErrorsWith` adds to that config rather than replacing it.
const ROUTE_CONFIG_METADATA = '__fastify_route_config__';

/**
 * Makes a route (or every route of a controller) answer errors through `presenter`, also the errors raised
 * before its handler runs (body parsing, the request policy, the raw-body capture), which a controller-scoped
 * Nest filter never sees.
 */
export function PresentErrorsWith(presenter: ErrorPresenter): ClassDecorator & MethodDecorator {
  const mark = (handler: object) =>
    Reflect.defineMetadata(
      ROUTE_CONFIG_METADATA,
      { ...(Reflect.getMetadata(ROUTE_CONFIG_METADATA, handler) as object | undefined), [PRESENTER]: presenter },
      handler,
    );
  return ((target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      mark(descriptor.value as object);
      return descriptor;
    }
    const proto = (target as { prototype: Record<string, unknown> }).prototype;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const member = proto[name];
      if (name !== 'constructor' && typeof member === 'function') mark(member);
    }
    return undefined;
  }) as ClassDecorator & MethodDecorator;
}

function presenterOf(request: FastifyRequest | undefined): ErrorPresenter {
  const config = request?.routeOptions?.config as unknown as Record<string, unknown> | undefined;
  const presenter = config?.[PRESENTER];
  return typeof presenter === 'function' ? (presenter as ErrorPresenter) : presentApiError;
}

/**
 * The one exception filter of every app: every error, from a handler or from Fastify before it, answered in
 * the route's error schema. Never a stack trace; anything unexpected is logged and answered as a bare 500.
 */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly outages: OutageLog;

  constructor(private readonly logger: Logger) {
    this.outages = new OutageLog(logger);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const answer = presenterOf(request)(exception);
    const dependency = unreachableDependency(exception);
    if (dependency) this.outages.record(dependency, exception);
    else if (toApiError(exception).code === 'internal-error') {
      this.logger.error(
        { err: exception, requestId: request?.id, url: request?.url?.split('?')[0] },
        'unhandled error',
      );
    }
    if (answer.headers) void reply.headers(answer.headers);
    void reply.status(answer.status).header('Content-Type', answer.contentType).send(answer.body);
  }
}
