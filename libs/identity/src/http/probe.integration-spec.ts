import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_KEY, type IdentityTestApp, startIdentityApp } from '../testing/identity-app';

// `POST /v1/deployments/{id}/probe` on the real identity service (issue 15, the Test panel's model status):
// a local node:http "gateway" records what Tollgate sent it. Who may probe, where it goes, what it carries,
// and what never comes back (the body) or goes to the log (the credential).
describe('the deployment probe (real identity service, a local gateway)', () => {
  let app: IdentityTestApp;
  let gateway: Server;
  const received: { method?: string; url?: string; headers: IncomingHttpHeaders }[] = [];
  let owner: { id: string; key: string };
  let viewer: { id: string; key: string };
  let stranger: { id: string; key: string };
  let deploymentId: string;
  let hostless: string;

  const user = async (name: string) => {
    const r = await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body: { name, kind: 'internal' } });
    expect(r.status).toBe(201);
    return { id: r.body.id as string, key: await app.managementKey(r.body.id) };
  };
  const probe = (auth: string, body: Record<string, unknown>, id = deploymentId) =>
    app.call('POST', `/v1/deployments/${id}/probe`, { auth, body });

  beforeAll(async () => {
    gateway = createServer((req, res) => {
      received.push({ method: req.method, url: req.url, headers: req.headers });
      const status = req.headers.authorization === 'Bearer tgi_let-me-in' ? 200 : 401;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ modelSays: 'private model output' }));
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    app = await startIdentityApp({ env: { TOLLGATE_GATEWAY_URL: gatewayUrl } });

    owner = await user('probe-owner');
    viewer = await user('probe-viewer');
    stranger = await user('probe-stranger');
    const project = await app.call('POST', '/v1/projects', { auth: owner.key, body: { name: 'probed' } });
    expect(project.status).toBe(201);
    const projectId = project.body.id as string;
    const viewerAdded = await app.call('PUT', `/v1/projects/${projectId}/collaborators/${viewer.id}`, {
      auth: owner.key,
      body: { role: 'viewer' },
    });
    expect(viewerAdded.status).toBe(200);
    const created = await app.call('POST', '/v1/deployments', {
      auth: owner.key,
      body: { projectId, name: 'scorer', hosts: ['score.models.test', 'alt.models.test'], pathPrefixes: ['/v1/score'] },
    });
    expect(created.status).toBe(201);
    deploymentId = created.body.id as string;
    const bare = await app.call('POST', '/v1/deployments', { auth: owner.key, body: { projectId, name: 'no-host' } });
    expect(bare.status).toBe(201);
    hostless = bare.body.id as string;
  });

  afterAll(async () => {
    await app?.close();
    gateway?.closeAllConnections();
    await new Promise((resolve) => gateway?.close(resolve));
  });

  it("sends one request to the configured gateway with the deployment's host and the credential, and answers only its status", async () => {
    const before = received.length;
    const r = await probe(owner.key, {
      path: '/v1/score/predict?explain=1',
      method: 'POST',
      authorization: 'Bearer tgi_let-me-in',
      accessKey: 'tga_probe-access-key',
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 200, latencyMs: expect.any(Number) });
    expect(r.text).not.toContain('private model output');
    expect(r.headers.get('tollgate-event-id')).toBeNull();
    expect(received.length).toBe(before + 1);
    expect(received.at(-1)).toMatchObject({
      method: 'POST',
      url: '/v1/score/predict?explain=1',
      headers: {
        host: 'score.models.test',
        authorization: 'Bearer tgi_let-me-in',
        'x-model-access-key': 'tga_probe-access-key',
      },
    });
    // The caller's own management key authenticated the call to Tollgate; it never goes to the gateway.
    expect(JSON.stringify(received)).not.toContain(owner.key);
  });

  it("reports the gateway's refusal as its status, for any collaborator (a viewer), on another of its hosts", async () => {
    const r = await probe(viewer.key, { path: '/v1/score', host: 'ALT.models.test' });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe(401);
    expect(received.at(-1)).toMatchObject({ method: 'GET', url: '/v1/score', headers: { host: 'alt.models.test' } });
    expect(received.at(-1)!.headers.authorization).toBeUndefined();
  });

  it("is 404 for another project's user and an unknown deployment, sending nothing", async () => {
    const before = received.length;
    const r = await probe(stranger.key, { path: '/v1/score', authorization: 'Bearer tgi_let-me-in' });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not-found');
    expect((await probe(owner.key, { path: '/v1/score' }, 'dep_doesnotexist0000')).status).toBe(404);
    expect(received.length).toBe(before);
  });

  it('is 400 for a path outside the prefixes, a foreign host, or a bad field; 409 for a deployment without hosts', async () => {
    const before = received.length;
    const cases: [Record<string, unknown>, string][] = [
      [{ path: '/admin' }, 'path'],
      [{ path: '/v1/score/../../admin' }, 'path'],
      [{ path: '/v1/scoreboard' }, 'path'],
      [{ path: 'http://169.254.169.254/latest/meta-data' }, 'path'],
      [{ path: '/v1/score', host: 'metadata.internal' }, 'host'],
      [{ path: '/v1/score', authorization: 'Bearer x\r\nX-Injected: 1' }, 'authorization'],
      [{ path: '/v1/score', method: 'CONNECT' }, 'method'],
      [{ path: '/v1/score', url: 'http://elsewhere' }, 'url'],
    ];
    for (const [body, field] of cases) {
      const r = await probe(owner.key, body);
      expect([r.status, r.body.error.code]).toEqual([400, 'validation-failed']);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    const bare = await probe(owner.key, { path: '/' }, hostless);
    expect([bare.status, bare.body.error.code]).toEqual([409, 'probe-not-configured']);
    expect(received.length).toBe(before);
  });

  it('never writes the credential to the log', () => {
    const log = app.logLines().join('\n');
    expect(log).not.toContain('tgi_let-me-in');
    expect(log).not.toContain('tga_probe-access-key');
  });
});

describe('the deployment probe when the gateway is down', () => {
  let app: IdentityTestApp;
  let key: string;
  let deploymentId: string;

  beforeAll(async () => {
    // A port nobody listens on: the gateway is configured but unreachable.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    app = await startIdentityApp({ env: { TOLLGATE_GATEWAY_URL: `http://127.0.0.1:${port}` } });
    key = ADMIN_KEY;
    const project = await app.call('POST', '/v1/projects', { auth: key, body: { name: 'down' } });
    const created = await app.call('POST', '/v1/deployments', {
      auth: key,
      body: { projectId: project.body.id, name: 'd', hosts: ['down.models.test'] },
    });
    expect(created.status).toBe(201);
    deploymentId = created.body.id as string;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers 502 gateway-unreachable, in words that name no address', async () => {
    const r = await app.call('POST', `/v1/deployments/${deploymentId}/probe`, { auth: key, body: { path: '/' } });
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('gateway-unreachable');
    expect(r.body.error.message).toMatch(/could not be reached.*ECONNREFUSED/);
    expect(r.body.error.message).not.toContain('127.0.0.1');
  });
});
