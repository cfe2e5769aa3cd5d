import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ApiErrorFilter, presentApiError } from './error.filter';
import { addSecurityHeaders, HTTP_LIMITS, type HttpLimits, serverOptions } from './http-hygiene';
import { answerWithEventIds } from './event-ids';
import { PinoNestLogger } from './logger';
import { assertSafeParameters, JSON_MEDIA_TYPES, parseJsonBody } from './request-policy';
import { httpDurationHistogram } from './metrics';

/** Bodies over 1 MiB are 413 `payload-too-large` (CONTRACT.md section 3). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Random per process, so ids of different replicas never collide; a counter after it keeps each one unique. */
const REQUEST_ID_PREFIX = `req_${randomBytes(9).toString('base64url')}`;
let requestCounter = 0;

/**
 * A request id per request: the caller's `X-Request-Id` when it is sane, else a new `req_…`. Ids correlate
 * log lines and events; they are no secret, so a counter does (random bytes per request cost about 4% of the
 * forward-auth door's CPU).
 */
export function requestId(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string' && REQUEST_ID.test(incoming)) return incoming;
  return `${REQUEST_ID_PREFIX}${(requestCounter++).toString(36)}`;
}

export interface HttpAppOptions {
  logger: Logger;
  metrics: Registry;
  /** OpenAPI document title; `/docs` (UI) and `/docs-json` are served when set. */
  openApiTitle?: string;
  /**
   * Serve the Swagger UI assets at `/docs` (default true). Tests turn it off: the UI's static-file plugin
   * cannot be loaded inside Jest's ESM sandbox; the JSON document is served either way.
   */
  openApiUi?: boolean;
}

/** The Fastify adapter every service (and every test app) uses; `limits` differ only in tests. */
export function createFastifyAdapter(limits: HttpLimits = HTTP_LIMITS): FastifyAdapter {
  const adapter = new FastifyAdapter({
    ...serverOptions(limits),
    bodyLimit: BODY_LIMIT_BYTES,
    logger: false,
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) =>
      requestId(req.headers['x-request-id']),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    // Errors Fastify answers itself before routing (a URL whose percent-encoding is not UTF-8): the same shape.
    frameworkErrors: (error: Error, _request: unknown, reply: FastifyReply) => {
      const answer = presentApiError(error);
      void reply.status(answer.status).header('Content-Type', answer.contentType).send(answer.body);
    },
  });
  adapter.getInstance().server.maxConnections = limits.maxConnections;
  return adapter;
}

/** Answers a request on the bare `node:http` objects and returns true, or returns false to let the framework. */
export type BareRequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Puts `handle` in front of the framework on `server`: each request goes to `handle` first and reaches
 * Fastify (its hooks, routing, NestJS) only when `handle` returns false. For the one route where the
 * framework's per-request work costs more than the route itself (forward-auth, called once per model
 * request). Call it before the server listens.
 */
export function serveBeforeFramework(server: Server, handle: BareRequestHandler): void {
  const framework = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (handle(req, res)) return;
    for (const listener of framework) listener.call(server, req, res);
  });
}

/**
 * Builds the Fastify-backed Nest application every Tollgate service uses: 1 MiB JSON bodies only (other
 * media types are 415) under one request policy, time and connection limits, security headers, a request
 * id per request, one error shape, HTTP metrics, and the OpenAPI document.
 */
export async function createHttpApp(
  rootModule: Type<unknown> | DynamicModule,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = createFastifyAdapter();
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: new PinoNestLogger(options.logger.child({ component: 'nest' })),
    bufferLogs: false,
    abortOnError: false,
  });
  configureHttpApp(app, options);
  return app;
}

/** The same configuration for an application built by @nestjs/testing. */
export function configureHttpApp(app: NestFastifyApplication, options: HttpAppOptions): void {
  const fastify = app.getHttpAdapter().getInstance();
  // Only JSON: a text/plain or form body would otherwise reach validation as a string or an object.
  fastify.removeContentTypeParser('text/plain');
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit: BODY_LIMIT_BYTES }, (_req, _body, done) => {
    done(
      Object.assign(new Error('Unsupported Media Type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }),
      undefined,
    );
  });
  // One parser for every JSON media type, under the request policy (prototype keys, depth, unsafe text).
  app.useBodyParser(JSON_MEDIA_TYPES, { bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) =>
    done(null, parseJsonBody(body.toString('utf8'))),
  );
  addSecurityHeaders(fastify);
  const histogram = httpDurationHistogram(options.metrics);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  // Path and query parameters under the same policy, for every route, before the body is even read.
  fastify.addHook('onRequest', (request, _reply, done) => {
    try {
      assertSafeParameters(request.params, request.query);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
  answerWithEventIds(fastify);
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    histogram.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
  app.useGlobalFilters(new ApiErrorFilter(options.logger.child({ component: 'http' })));
  if (options.openApiTitle) mountOpenApi(app, options.openApiTitle, options.openApiUi ?? true);
}

function mountOpenApi(app: INestApplication, title: string, ui: boolean): void {
  const config = new DocumentBuilder()
    .setTitle(title)
    .setDescription(
      'Identity and access control for machine-learning model endpoints. Errors: `{ "error": { "code", "message", "details"? } }`.',
    )
    .setVersion('1')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'Management key (tgm_…), service token, trusted JWT or the bootstrap admin credential',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', raw: ['json'], ui });
}
