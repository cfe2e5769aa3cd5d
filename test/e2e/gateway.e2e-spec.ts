import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDemoModel } from '../../apps/demo-model/src/demo-model';
import { startKafka, type KafkaHandle } from '../../deploy/kafka/local-kafka.mjs';
import { eventually } from '../support';
import { startNginx, type RunningNginx } from './nginx';
import { startProduct, type ProductProcess } from './product-process';

// "Protect a model" end to end: nginx (Debian's, auth_request) in front of the demo model server, asking a
// running Tollgate (built product, real Kafka, real PostgreSQL) on every request. The README walks through it.
const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const ADMIN = 'e2e-bootstrap-admin-credential-0123456789';
const BOUND_MS = 2000;
const PUBLIC_HOST = 'public.models.test';

/**
 * One request written byte for byte (no client rewrites the target or the Host header, as fetch does):
 * its status and headers. The socket is not half-closed: nginx would take that for a client gone away.
 */
function rawRequest(url: string, head: string): Promise<{ status: number; headers: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.setEncoding('latin1');
    socket.setTimeout(30_000, () => socket.destroy(new Error(`no answer to ${head}`)));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [statusLine = '', ...rest] = text.split('\r\n\r\n')[0]!.split('\r\n');
      resolve({ status: Number(statusLine.split(' ')[1]), headers: rest.join('\n').toLowerCase() });
    });
  });
}

describe('a model behind nginx, protected by Tollgate', () => {
  let kafka: KafkaHandle;
  let product: ProductProcess;
  let demo: Awaited<ReturnType<typeof startDemoModel>>;
  let publicDemo: Awaited<ReturnType<typeof startDemoModel>>;
  let nginx: RunningNginx;
  // What each model server received: a request never reaches a model its host does not name.
  const reached: Record<'protected' | 'public', string[]> = { protected: [], public: [] };
  const ids: Record<string, string> = {};
  const keys: Record<string, string> = {};

  async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${product.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  const chat = (key?: string) =>
    fetch(`${nginx.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ model: 'demo-llm', messages: [{ role: 'user', content: 'hi' }] }),
    });

  beforeAll(async () => {
    kafka = await startKafka();
    product = await startProduct('tollgate', {
      KAFKA_BROKERS: kafka.bootstrap,
      TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN,
      TOLLGATE_MAX_STALENESS_MS: String(BOUND_MS),
    });
    demo = await startDemoModel();
    publicDemo = await startDemoModel();
    demo.server.on('request', (req) => reached.protected.push(req.url ?? ''));
    publicDemo.server.on('request', (req) => reached.public.push(req.url ?? ''));
    nginx = await startNginx(new URL(product.url).host, [
      { host: '127.0.0.1', name: 'protected_model', server: new URL(demo.url).host },
      { host: PUBLIC_HOST, name: 'public_model', server: new URL(publicDemo.url).host },
    ]);

    ids.alice = (await api<{ id: string }>('POST', '/v1/users', { name: 'alice', kind: 'internal' })).id;
    ids.bob = (await api<{ id: string }>('POST', '/v1/users', { name: 'bob', kind: 'external' })).id;
    ids.project = (await api<{ id: string }>('POST', '/v1/projects', { name: 'chatbots' })).id;
    // The gateway forwards its own Host (127.0.0.1) as X-Forwarded-Host: that is the deployment's host.
    ids.deployment = (
      await api<{ id: string }>('POST', '/v1/deployments', {
        projectId: ids.project,
        name: 'demo-llm',
        hosts: ['127.0.0.1'],
        grantedGroups: ['ml-team'],
      })
    ).id;
    // A public model on its own host, with a protected prefix on the same host (and the same model server).
    await api('POST', '/v1/deployments', {
      projectId: ids.project,
      name: 'public-llm',
      hosts: [PUBLIC_HOST],
      authentication: false,
    });
    await api('POST', '/v1/deployments', {
      projectId: ids.project,
      name: 'public-llm-private',
      hosts: [PUBLIC_HOST],
      pathPrefixes: ['/private'],
    });
    await api('PUT', `/v1/projects/${ids.project}/collaborators/${ids.alice}`, { role: 'contributor' });
    keys.alice = (
      await api<{ key: string; keyId: string }>('POST', `/v1/users/${ids.alice}/keys`, {
        name: 'notebook',
        scope: 'inference',
      })
    ).key;
    const aliceKey = await api<{ keyId: string }>('GET', `/v1/users/${ids.alice}/keys`);
    ids.aliceKey = (aliceKey as unknown as { keys: { keyId: string }[] }).keys[0]!.keyId;
    keys.bob = (
      await api<{ key: string }>('POST', `/v1/users/${ids.bob}/keys`, { name: 'laptop', scope: 'inference' })
    ).key;
  }, 180_000);

  afterAll(async () => {
    await nginx?.stop();
    await demo?.close();
    await publicDemo?.close();
    await product?.stop();
    await kafka?.stop();
  }, 60_000);

  it('lets a valid key reach the model, passing the subject upstream and no credential', async () => {
    const body = await eventually(async () => {
      const res = await chat(keys.alice);
      expect(res.status).toBe(200);
      return (await res.json()) as { choices: { message: { content: string } }[]; tollgate_subject: string };
    });
    expect(body.choices[0]!.message.content).toBe('Hello from the demo model.');
    expect(body.tollgate_subject).toBe(ids.alice);
  });

  it('answers a request without a credential with 401, WWW-Authenticate and the reason', async () => {
    const res = await chat();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tollgate"');
    expect(res.headers.get('x-ext-auth-reason')).toBe('credential-missing');
  });

  it('answers a user outside the granted groups with 403 group-not-granted', async () => {
    const res = await eventually(async () => {
      const r = await chat(keys.bob);
      expect(r.status).toBe(403);
      return r;
    });
    expect(res.headers.get('x-ext-auth-reason')).toBe('group-not-granted');
  });

  it.each([
    ['curl', ['bash', [join(root, 'examples/curl.sh')]]],
    ['the openai client', [process.execPath, [join(root, 'examples/openai-client.mjs')]]],
    ['LangChain.js', [process.execPath, [join(root, 'examples/langchain.mjs')]]],
  ] as const)('works with %s unchanged', async (_name, [command, args]) => {
    const { stdout } = await run(command, [...args], {
      cwd: root,
      env: { PATH: process.env.PATH, GATEWAY_URL: nginx.url, TOLLGATE_KEY: keys.alice },
      timeout: 30_000,
    });
    expect(stdout).toContain('Hello from the demo model.');
  });

  describe('the client cannot steer nginx to another model through Host, X-Forwarded-Host or an encoded path', () => {
    const count = () => ({ protected: reached.protected.length, public: reached.public.length });

    it("a public deployment's Host is served by the public model, never by the protected one", async () => {
      const before = count();
      await eventually(async () => {
        const r = await rawRequest(nginx.url, `GET /v1/models HTTP/1.1\r\nHost: ${PUBLIC_HOST}`);
        expect(r.status).toBe(200);
      });
      expect(count().protected).toBe(before.protected);
      expect(count().public).toBeGreaterThan(before.public);
    });

    it('a Host that names no deployment gets 421 from the default server and reaches no model', async () => {
      const before = count();
      for (const host of ['evil.example', `${PUBLIC_HOST}.evil.example`, '127.0.0.2', `x.${PUBLIC_HOST}`]) {
        expect((await rawRequest(nginx.url, `GET /v1/models HTTP/1.1\r\nHost: ${host}`)).status).toBe(421);
      }
      expect((await rawRequest(nginx.url, 'GET /v1/models HTTP/1.0')).status).toBe(421);
      expect(count()).toEqual(before);
    });

    it("a client's X-Forwarded-Host is replaced by the host nginx chose", async () => {
      const before = count();
      const res = await fetch(`${nginx.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'x-forwarded-host': PUBLIC_HOST, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('x-ext-auth-reason')).toBe('credential-missing');
      expect(count()).toEqual(before);
    });

    it('an absolute request target and a different Host header agree on one host (the target)', async () => {
      const before = count();
      const res = await eventually(async () => {
        const r = await rawRequest(nginx.url, `GET http://127.0.0.1/v1/models HTTP/1.1\r\nHost: ${PUBLIC_HOST}`);
        expect(r.status).toBe(401);
        return r;
      });
      expect(res.headers).toContain('x-ext-auth-reason: credential-missing');
      expect(count()).toEqual(before);
    });

    it.each([
      ['/%70rivate/x', 401, 'credential-missing'],
      ['/priv%61te', 401, 'credential-missing'],
      ['//private/./x', 401, 'credential-missing'],
      ['/public/../private/x', 401, 'credential-missing'],
      ['/public/%2e%2e/private/x', 401, 'credential-missing'],
      ['/private%2fx', 403, 'deployment-unknown'],
      ['/private%5Cx', 403, 'deployment-unknown'],
      ['/x%C0%AF..%C0%AFprivate', 403, 'deployment-unknown'],
    ])('%s on the public host is %i %s, never the public deployment (200)', async (path, status, reason) => {
      const before = count();
      const res = await eventually(async () => {
        const r = await rawRequest(nginx.url, `GET ${path} HTTP/1.1\r\nHost: ${PUBLIC_HOST}`);
        expect(r.status).toBe(status);
        return r;
      });
      expect(res.headers).toContain(`x-ext-auth-reason: ${reason}`);
      expect(count()).toEqual(before);
    });
  });

  it('refuses a revoked key with 401 key-revoked within the freshness bound', async () => {
    const revoked = await api<{ eventId: string }>('DELETE', `/v1/keys/${ids.aliceKey}`);
    const committed = Date.now();
    // The bound is the product's promise; the deadline allows for the request round trips on a busy machine.
    const res = await eventually(
      async () => {
        const r = await chat(keys.alice);
        expect(r.status).toBe(401);
        return r;
      },
      { timeoutMs: BOUND_MS + 1000, intervalMs: 20 },
    );
    expect(res.headers.get('x-ext-auth-reason')).toBe('key-revoked');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tollgate", error="invalid_token"');
    const status = await api<{ appliedByAll: boolean }>('GET', `/v1/revocations/${revoked.eventId}`);
    expect(status.appliedByAll).toBe(true);
    process.stderr.write(`revocation refused through nginx ${Date.now() - committed} ms after commit\n`);
  });

  it('fails closed with 503 authorizer-stale and Retry-After once it cannot prove freshness', async () => {
    await kafka.stop();
    const res = await eventually(
      async () => {
        const r = await chat(keys.bob);
        expect(r.status).toBe(503);
        return r;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(res.headers.get('x-ext-auth-reason')).toBe('authorizer-stale');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
