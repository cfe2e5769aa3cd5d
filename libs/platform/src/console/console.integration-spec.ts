import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { loadConfig } from '@tollgate/config';
import { configureHttpApp, createFastifyAdapter } from '../http-app';
import { CONSOLE_CSP } from '../http-hygiene';
import { createLogger } from '../logger';
import { createMetricsRegistry } from '../metrics';
import { coreModule } from '../run-service';
import { ConsoleModule } from './console.module';

/** A built console in a temp folder (what console/build.mjs writes), plus files that must never be served. */
function builtConsole(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-console-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/console/app.js"></script>');
  writeFileSync(join(dir, 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'app.css'), 'body{}');
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  writeFileSync(join(dir, 'notes.txt'), 'not an asset type');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'x.js'), 'nested');
  return dir;
}

async function startApp(dir: string): Promise<{ app: NestFastifyApplication; url: string }> {
  const config = loadConfig({});
  const logger = createLogger('silent');
  const metrics = createMetricsRegistry();
  const root = coreModule({ config, logger, metrics, databaseUrl: 'postgres://unused' }, [
    ConsoleModule.forRoot({ dir }),
  ]);
  const moduleRef = await Test.createTestingModule({ imports: [root] }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createFastifyAdapter(), { logger: false });
  configureHttpApp(app, { logger, metrics, openApiTitle: 'Test', openApiUi: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('the web console is served by the product (issue 15)', () => {
  let app: NestFastifyApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp(builtConsole()));
  });
  afterAll(() => app.close());

  it('redirects / to /console/ with 302', async () => {
    const res = await fetch(`${url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/console/');
  });

  it('serves the page at /console and /console/ with a strict CSP and the platform headers', async () => {
    for (const path of ['/console', '/console/']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toContain('/console/app.js');
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    // No inline script, no eval, no other origin.
    expect(CONSOLE_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
  });

  it('serves the script and stylesheet with their types', async () => {
    const js = await fetch(`${url}/console/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    const css = await fetch(`${url}/console/app.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('serves nothing else: dot files, other types, nested or encoded paths, prototype keys are 404', async () => {
    for (const path of [
      '/console/.env',
      '/console/notes.txt',
      '/console/sub/x.js',
      '/console/sub%2Fx.js',
      '/console/..%2F..%2Fpackage.json',
      '/console/__proto__',
      '/console/constructor',
      '/console/missing.js',
    ]) {
      const res = await fetch(`${url}${path}`);
      expect([path, res.status]).toEqual([path, 404]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not-found');
    }
  });

  it('is not part of the OpenAPI document', async () => {
    const doc = (await (await fetch(`${url}/docs-json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p === '/' || p.startsWith('/console'))).toEqual([]);
  });
});

describe('a console that was not built', () => {
  it('answers 404 in words instead of failing to start', async () => {
    const { app, url } = await startApp(mkdtempSync(join(tmpdir(), 'tollgate-console-empty-')));
    try {
      const res = await fetch(`${url}/console/`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/npm run build/);
    } finally {
      await app.close();
    }
  });
});
