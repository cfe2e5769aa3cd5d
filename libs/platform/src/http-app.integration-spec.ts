import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { loadConfig } from '@tollgate/config';
import { ApiError } from '@tollgate/contracts';
import { z } from 'zod';
import { configureHttpApp, createFastifyAdapter } from './http-app';
import { createLogger } from './logger';
import { createMetricsRegistry } from './metrics';
import { coreModule } from './run-service';
import { parseWith } from './validation';

const widget = z.strictObject({ name: z.string().min(1), size: z.number().int() });

@Controller('widgets')
class WidgetController {
  @Post()
  create(@Body() body: unknown) {
    return parseWith(widget, body);
  }

  @Get('conflict')
  conflict() {
    throw new ApiError('rate-limited', 'slow down', undefined, { 'Retry-After': '7' });
  }

  @Get('bug')
  bug() {
    throw new Error('secret internals tgi_0123456789');
  }
}

@Module({ controllers: [WidgetController] })
class WidgetModule {}

describe('the HTTP app every service uses', () => {
  let app: NestFastifyApplication;
  let url: string;
  const lines: string[] = [];

  beforeAll(async () => {
    const config = loadConfig({});
    const logger = createLogger('info', { write: (l: string) => void lines.push(l) } as never);
    const metrics = createMetricsRegistry();
    const root = coreModule({ config, logger, metrics, databaseUrl: 'postgres://unused' }, [{ module: WidgetModule }]);
    const moduleRef = await Test.createTestingModule({ imports: [root] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(createFastifyAdapter(), { logger: false });
    configureHttpApp(app, { logger, metrics, openApiTitle: 'Test', openApiUi: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(() => app.close());

  const post = (body: string | Buffer, contentType = 'application/json') =>
    fetch(`${url}/widgets`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('accepts a valid JSON body', async () => {
    const res = await post(JSON.stringify({ name: 'a', size: 1 }));
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ name: 'a', size: 1 });
  });

  it.each([
    ['malformed JSON', () => post('{"name":'), 400, 'malformed-json'],
    ['a wrong type', () => post(JSON.stringify({ name: 'a', size: 'big' })), 400, 'validation-failed'],
    ['an unknown field', () => post(JSON.stringify({ name: 'a', size: 1, colour: 'red' })), 400, 'validation-failed'],
    [
      'a body over 1 MiB',
      () => post(JSON.stringify({ name: 'x'.repeat(1024 * 1024), size: 1 })),
      413,
      'payload-too-large',
    ],
    ['a text/plain body', () => post('hello', 'text/plain'), 415, 'unsupported-media-type'],
    ['a form body', () => post('name=a&size=1', 'application/x-www-form-urlencoded'), 415, 'unsupported-media-type'],
    ['an empty JSON body where one is required', () => post(''), 400, 'validation-failed'],
    ['an unknown route', () => fetch(`${url}/nowhere`), 404, 'not-found'],
  ])('answers %s with the error shape', async (_what, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
  });

  it('names each bad field in details', async () => {
    const res = await post(JSON.stringify({ size: 'big', colour: 'red' }));
    const body = (await res.json()) as { error: { details: { field: string }[] } };
    expect(body.error.details.map((d) => d.field).sort()).toEqual(['colour', 'name', 'size']);
  });

  it('sends the headers an ApiError carries', async () => {
    const res = await fetch(`${url}/widgets/conflict`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
  });

  it('turns a bug into a 500 without internals, and logs it', async () => {
    const res = await fetch(`${url}/widgets/bug`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal-error', message: 'internal error' } });
    expect(text).not.toContain('secret internals');
    expect(lines.some((l) => l.includes('unhandled error'))).toBe(true);
  });

  it('gives every response a request id, keeping a sane incoming one', async () => {
    const own = await fetch(`${url}/health/live`);
    expect(own.headers.get('x-request-id')).toMatch(/^req_/);
    const given = await fetch(`${url}/health/live`, { headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    const hostile = await fetch(`${url}/health/live`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('serves the OpenAPI document and metrics', async () => {
    const doc = (await (await fetch(`${url}/docs-json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/widgets');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /tollgate_http_request_duration_seconds_count\{method="POST",route="\/widgets",status="201"\}/,
    );
  });
});

describe('log redaction', () => {
  it('never writes a secret field, at any of the first three levels', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (l: string) => void lines.push(l) } as never);
    logger.info(
      {
        authorization: 'Bearer tgi_top',
        req: { headers: { authorization: 'ApiKey tgi_nested', 'x-model-access-key': 'tga_nested' } },
        body: { key: 'tgm_body', idToken: 'eyJ.id.token', token: 'eyJ.svc' },
      },
      'hello',
    );
    logger.flush();
    const text = lines.join('');
    for (const secret of ['tgi_top', 'tgi_nested', 'tga_nested', 'tgm_body', 'eyJ.id.token', 'eyJ.svc']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
  });
});
