import { randomBytes } from 'node:crypto';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ApiErrorFilter } from './error.filter';
import { PinoNestLogger } from './logger';
import { httpDurationHistogram } from './metrics';

/** Bodies over 1 MiB are 413 `payload-too-large` (CONTRACT.md section 3). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request id per request: the caller's `X-Request-Id` when it is sane, else a new `req_…`. */
export function requestId(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string' && REQUEST_ID.test(incoming)) return incoming;
  return `req_${randomBytes(12).toString('base64url')}`;
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

/** The Fastify adapter every service (and every test app) uses. */
export function createFastifyAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    logger: false,
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) =>
      requestId(req.headers['x-request-id']),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
  });
}

/**
 * Builds the Fastify-backed Nest application every Tollgate service uses: 1 MiB JSON bodies only (other
 * media types are 415), a request id per request, one error shape, HTTP metrics, and the OpenAPI document.
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
  // An empty body with `Content-Type: application/json` (curl scripts and HTTP clients send it on DELETE)
  // is no body, not malformed JSON.
  const jsonParser = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit: BODY_LIMIT_BYTES }, (req, body, done) => {
    const text = body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    jsonParser(req as Parameters<typeof jsonParser>[0], text, done);
  });
  fastify.addContentTypeParser(
    ['application/scim+json', 'application/merge-patch+json'],
    { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
    fastify.getDefaultJsonParser('error', 'error'),
  );
  const histogram = httpDurationHistogram(options.metrics);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
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
