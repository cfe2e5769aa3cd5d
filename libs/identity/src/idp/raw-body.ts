import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RouteConfig } from '@nestjs/platform-fastify';
import { BODY_LIMIT_BYTES, isJsonMediaType } from '@tollgate/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Raw-body capture for the routes that must see the exact bytes (a webhook's signature covers them); they
 * parse the body afterwards with the platform's `parseJsonBody`, the same policy as every other route.
 * Such a route is marked with `@RawBody()`; a `preParsing` hook switches a JSON request of it to a private
 * content type whose parser keeps the body as a Buffer (same 1 MiB limit). Any other content type is left
 * as sent, so it meets the same 415 as on every route.
 */
export const RAW_BODY_CONTENT_TYPE = 'application/x-tollgate-raw';
const MARK = 'tollgateRawBody';

export const RawBody = () => RouteConfig({ [MARK]: true });

/** The raw body of a `@RawBody()` route (empty when none was sent). */
export function rawBodyOf(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

@Injectable()
export class RawBodyCapture implements OnModuleInit {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!fastify || fastify.hasContentTypeParser(RAW_BODY_CONTENT_TYPE)) return;
    fastify.addContentTypeParser(
      RAW_BODY_CONTENT_TYPE,
      { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    fastify.addHook('preParsing', (request, _reply, payload, done) => {
      const config = request.routeOptions?.config as unknown as Record<string, unknown> | undefined;
      if (config?.[MARK] === true && isJsonMediaType(request.headers['content-type']))
        request.headers['content-type'] = RAW_BODY_CONTENT_TYPE;
      done(null, payload);
    });
  }
}
