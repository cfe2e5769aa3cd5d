import { Body, Controller, Get, Module, Param, Post, Query } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { loadConfig } from '@tollgate/config';
import { ApiError } from '@tollgate/contracts';
import { z } from 'zod';
import { PresentErrorsWith, toApiError } from './error.filter';
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

  @Get(':id')
  find(@Param('id') id: string, @Query() query: Record<string, unknown>) {
    return { id, query: { ...query } };
  }
}

/** A controller speaking another error schema, as SCIM does. */
@PresentErrorsWith((exception) => ({
  status: toApiError(exception).status,
  contentType: 'application/problem+json',
  body: JSON.stringify({ problem: toApiError(exception).code }),
}))
@Controller('other-schema')
class OtherSchemaController {
  @Post()
  create(@Body() body: unknown) {
    if (body === undefined) throw new ApiError('validation-failed', 'a body is required');
    return body;
  }
}

@Module({ controllers: [WidgetController, OtherSchemaController] })
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

  describe('the one request policy (issue 13)', () => {
    const polluted = () => (Object.prototype as Record<string, unknown>).polluted;
    const errorOf = async (res: Response) => {
      const text = await res.text();
      expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
      return {
        status: res.status,
        ...(JSON.parse(text) as { error: { code: string; details?: { field: string }[] } }),
      };
    };

    it.each([
      ['a top-level __proto__', '{"__proto__":{"polluted":"yes"},"name":"a","size":1}'],
      ['a nested __proto__', '{"name":"a","size":1,"x":[{"y":{"__proto__":{"polluted":"yes"}}}]}'],
      ['constructor holding prototype', '{"name":"a","size":1,"constructor":{"prototype":{"polluted":"yes"}}}'],
    ])('refuses %s in any JSON media type with 400 malformed-json', async (_what, body) => {
      for (const type of ['application/json', 'application/scim+json', 'application/merge-patch+json']) {
        const { status, error } = await errorOf(await post(body, type));
        expect([status, error.code]).toEqual([400, 'malformed-json']);
      }
      expect(polluted()).toBeUndefined();
    });

    it('refuses NUL and lone surrogates in a body, naming the fields', async () => {
      const { status, error } = await errorOf(await post('{"name":"a\\u0000","size":1,"tags":["\\udc00"]}'));
      expect([status, error.code]).toEqual([400, 'validation-failed']);
      expect(error.details?.map((d) => d.field)).toEqual(['name', 'tags.0']);
    });

    it.each([
      ['NUL in a path parameter', '/widgets/a%00b', 'path.id'],
      ['NUL in a query parameter', '/widgets/a?tag=x%00', 'query.tag'],
    ])('refuses %s with 400 validation-failed', async (_what, path, field) => {
      const { status, error } = await errorOf(await fetch(`${url}${path}`));
      expect([status, error.code]).toEqual([400, 'validation-failed']);
      expect(error.details?.map((d) => d.field)).toEqual([field]);
    });

    it('refuses a percent-encoded lone surrogate in the path with 400 in the error shape', async () => {
      const { status, error } = await errorOf(await fetch(`${url}/widgets/%ED%A0%80`));
      expect([status, error.code]).toEqual([400, 'validation-failed']);
    });

    it('answers a path parameter longer than any id as not found, in the error shape', async () => {
      const { status, error } = await errorOf(await fetch(`${url}/widgets/${'x'.repeat(600)}`));
      expect([status, error.code]).toEqual([404, 'not-found']);
    });

    it('lets ordinary parameters through, paired surrogates included', async () => {
      const res = await fetch(`${url}/widgets/${encodeURIComponent('w😀')}?tag=${encodeURIComponent('ü😀')}`);
      expect(await res.json()).toEqual({ id: 'w😀', query: { tag: 'ü😀' } });
    });

    it('answers errors raised before the handler in the route’s own schema when it has one', async () => {
      const send = (body: string) =>
        fetch(`${url}/other-schema`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const malformed = await send('{"a":');
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('content-type')).toContain('application/problem+json');
      expect(await malformed.json()).toEqual({ problem: 'malformed-json' });
      expect(await (await send('{"__proto__":{}}')).json()).toEqual({ problem: 'malformed-json' });
      expect(await (await send('')).json()).toEqual({ problem: 'validation-failed' });
      expect(await (await send('{"ok":true}')).json()).toEqual({ ok: true });
    });
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
