import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { Controller, Get, Header, Module, Post, Body } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { loadConfig } from '@tollgate/config';
import { eventually } from '../../../test/support';
import { configureHttpApp, createFastifyAdapter } from './http-app';
import { DOCS_CSP, HTTP_LIMITS } from './http-hygiene';
import { createLogger } from './logger';
import { createMetricsRegistry } from './metrics';
import { coreModule } from './run-service';

@Controller('things')
class ThingController {
  @Get()
  list() {
    return [{ id: 'a' }];
  }

  @Get('cacheable')
  @Header('Cache-Control', 'public, max-age=60')
  cacheable() {
    return { ok: true };
  }

  @Post()
  create(@Body() body: unknown) {
    return body ?? {};
  }
}

@Module({ controllers: [ThingController] })
class ThingModule {}

/** What a raw TCP client sees: everything the server sent, and whether it closed the connection. */
interface RawExchange {
  text: string;
  closed: boolean;
}

/**
 * Connects, sends `data` (then nothing more: a stalled sender) and resolves once the server has closed the
 * connection, or with what it got so far at `deadlineMs` (a generous bound, not a measurement).
 */
function stall(port: number, data: string | Buffer, deadlineMs = 20_000): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, deadlineMs);
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(data);
  });
}

const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };

describe('HTTP hygiene of every app (issue 13 item 7)', () => {
  let app: NestFastifyApplication;
  let url: string;
  let port: number;
  // Short limits so the test waits seconds; the shipped ones (HTTP_LIMITS) are checked separately below.
  const limits = { headersTimeoutMs: 1000, requestTimeoutMs: 1500, timeoutCheckIntervalMs: 250, maxConnections: 8 };

  beforeAll(async () => {
    const config = loadConfig({});
    const logger = createLogger('silent');
    const metrics = createMetricsRegistry();
    const root = coreModule({ config, logger, metrics, databaseUrl: 'postgres://unused' }, [{ module: ThingModule }]);
    const moduleRef = await Test.createTestingModule({ imports: [root] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(createFastifyAdapter(limits), { logger: false });
    configureHttpApp(app, { logger, metrics, openApiTitle: 'Test', openApiUi: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    port = Number(new URL(url).port);
  });

  afterAll(() => app.close());

  describe('time limits', () => {
    it('cuts off a body that stops arriving: 408 in the error shape, connection closed', async () => {
      const got = await stall(
        port,
        'POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
      );
      expect(got.closed).toBe(true);
      expect(got.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(bodyOf(got.text).error.code).toBe('request-timeout');
      expect(got.text).toMatch(/x-content-type-options: nosniff/i);
    });

    it('cuts off headers that stop arriving', async () => {
      const got = await stall(port, 'GET /things HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      expect(got.closed).toBe(true);
      expect(got.text).toMatch(/^HTTP\/1\.1 408 /);
    });

    it('ships limits of seconds, not minutes', () => {
      expect(HTTP_LIMITS.headersTimeoutMs).toBeLessThanOrEqual(HTTP_LIMITS.requestTimeoutMs);
      expect(HTTP_LIMITS.requestTimeoutMs + HTTP_LIMITS.timeoutCheckIntervalMs).toBeLessThanOrEqual(30_000);
    });
  });

  it('closes connections beyond the cap at once, and serves again when they go', async () => {
    const held: Socket[] = [];
    const opened = (s: Socket) => new Promise<void>((resolve) => s.once('connect', () => resolve()));
    for (let i = 0; i < limits.maxConnections; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      held.push(s);
      await opened(s);
    }
    const refused = await stall(port, 'GET /things HTTP/1.1\r\nHost: x\r\n\r\n', 5_000);
    expect(refused).toEqual({ text: '', closed: true });
    held.forEach((s) => s.destroy());
    await eventually(async () => expect((await fetch(`${url}/things`)).status).toBe(200));
  });

  describe('framework-made errors in the contract shape', () => {
    it('431 for headers over 16 KiB', async () => {
      const got = await stall(port, `GET /things HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(got.text).toMatch(/^HTTP\/1\.1 431 /);
      expect(bodyOf(got.text).error.code).toBe('request-header-too-large');
    });

    it('400 for bytes that are not HTTP', async () => {
      const got = await stall(port, 'HELLO THERE\r\n\r\n');
      expect(got.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(bodyOf(got.text).error.code).toBe('malformed-request');
    });

    it.each([
      ['an unknown route', () => fetch(`${url}/nowhere`), 404, 'not-found'],
      ['a method the route does not have', () => fetch(`${url}/things`, { method: 'DELETE' }), 404, 'not-found'],
      [
        'a body over 1 MiB',
        () =>
          fetch(`${url}/things`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: `"${'x'.repeat(1 << 20)}"`,
          }),
        413,
        'payload-too-large',
      ],
      [
        'a media type other than JSON',
        () => fetch(`${url}/things`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a' }),
        415,
        'unsupported-media-type',
      ],
      [
        'malformed JSON',
        () => fetch(`${url}/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
        400,
        'malformed-json',
      ],
    ])('%s', async (_what, send, status, code) => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });
  });

  describe('security headers', () => {
    it('nosniff and no-store on every answer, a route’s own Cache-Control kept', async () => {
      const list = await fetch(`${url}/things`);
      expect(list.headers.get('x-content-type-options')).toBe('nosniff');
      expect(list.headers.get('cache-control')).toBe('no-store');
      const cacheable = await fetch(`${url}/things/cacheable`);
      expect(cacheable.headers.get('cache-control')).toBe('public, max-age=60');
      expect(cacheable.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('a Content-Security-Policy on the OpenAPI document and UI only', async () => {
      const docs = await fetch(`${url}/docs-json`);
      expect(docs.headers.get('content-security-policy')).toBe(DOCS_CSP);
      expect(DOCS_CSP).toContain("script-src 'self'");
      expect(DOCS_CSP).not.toContain('unsafe-eval');
      expect((await fetch(`${url}/things`)).headers.get('content-security-policy')).toBeNull();
    });
  });
});
