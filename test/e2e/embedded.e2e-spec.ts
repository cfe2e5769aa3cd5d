import { statSync } from 'node:fs';
import { join } from 'node:path';
import { runToExit, startProduct, type ProductProcess } from './product-process';

describe('npm start: the embedded stack', () => {
  let product: ProductProcess;

  beforeAll(async () => {
    product = await startProduct('tollgate');
  }, 120_000);

  it('is live and ready on its port, on an embedded PostgreSQL', async () => {
    expect((await fetch(`${product.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${product.url}/health/ready`);
    expect(ready.status).toBe(200);
    // Ready on a first start means every endpoint can serve: the first signing key is already active.
    const body = (await ready.json()) as { info: { keys: { signingKey: string } } };
    expect(body.info.keys.signingKey).toBe('active');
    expect(product.stdout()).toContain('"msg":"embedded PostgreSQL started"');
  });

  it('keeps a generated key-encryption key in the data directory (0600), and says so', () => {
    const stat = statSync(join(product.dataDir, 'key-encryption-key'));
    expect(stat.mode & 0o777).toBe(0o600);
    expect(product.stdout()).toContain('generated a key-encryption key');
  });

  it('prints its URL and the OpenAPI address, and serves the OpenAPI document', async () => {
    expect(product.stderr()).toContain(`listening on ${product.url}`);
    expect(product.stderr()).toContain(`OpenAPI: ${product.url}/docs`);
    const doc = (await (await fetch(`${product.url}/docs-json`)).json()) as { openapi: string };
    expect(doc.openapi).toMatch(/^3\./);
  });

  it('exports Prometheus metrics', async () => {
    const text = await (await fetch(`${product.url}/metrics`)).text();
    expect(text).toContain('tollgate_http_request_duration_seconds');
  });

  it('writes only JSON lines on stdout', () => {
    const lines = product.stdout().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('stops cleanly on SIGTERM (exit 0)', async () => {
    expect(await product.stop()).toBe(0);
  });
});

describe('start-up with bad configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ TOLLGATE_MAX_STALENESS_MS: '-5' }, /TOLLGATE_MAX_STALENESS_MS/],
    [{ TOLLGATE_CONFIG: '/nonexistent/tollgate.yaml' }, /TOLLGATE_CONFIG/],
    [{ TOLLGATE_KEY_ENCRYPTION_KEY: 'not-32-bytes' }, /TOLLGATE_KEY_ENCRYPTION_KEY: must be 32 random bytes/],
    // Deployed mode (a database of its own) without a KEK: the keys and identity services refuse to start.
    [{ DATABASE_URL: 'postgres://tollgate:x@127.0.0.1:9/tollgate' }, /TOLLGATE_KEY_ENCRYPTION_KEY: required/],
  ])('exits 1 naming the field for %j', async (env, field) => {
    const result = await runToExit('tollgate', env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/invalid configuration/);
    expect(result.stderr).toMatch(field);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
