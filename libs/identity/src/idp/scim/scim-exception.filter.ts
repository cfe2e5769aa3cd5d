import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
  Injectable,
  Optional,
} from '@nestjs/common';
import { ApiError } from '@tollgate/contracts';
import { LOGGER } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ScimError, type ScimType } from './scim-error';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

const SCIM_TYPES: Partial<Record<ApiError['code'], ScimType>> = {
  conflict: 'uniqueness',
  'validation-failed': 'invalidValue',
  'malformed-json': 'invalidSyntax',
};

/** Anything thrown on a SCIM route, as a SCIM error (RFC 7644 section 3.12). Never a stack trace. */
export function toScimError(exception: unknown): ScimError {
  if (exception instanceof ScimError) return exception;
  if (exception instanceof ApiError)
    return new ScimError(exception.status, exception.message, SCIM_TYPES[exception.code], exception.headers);
  const code = (exception as { code?: unknown } | null)?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ScimError(413, 'request body exceeds 1 MiB');
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status < 500) return new ScimError(status, status === 404 ? 'not found' : exception.message);
  }
  return new ScimError(500, 'internal error');
}

/** Controller-scoped: SCIM routes answer in the SCIM error schema, not the management API's. */
@Catch()
@Injectable()
export class ScimExceptionFilter implements ExceptionFilter {
  constructor(@Optional() @Inject(LOGGER) private readonly logger?: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const error = toScimError(exception);
    if (error.status >= 500)
      this.logger?.error(
        { err: exception, requestId: request?.id, url: request?.url?.split('?')[0] },
        'unhandled SCIM error',
      );
    if (error.headers) void reply.headers(error.headers);
    void reply.status(error.status).header('Content-Type', SCIM_CONTENT_TYPE).send(JSON.stringify(error.toJSON()));
  }
}
