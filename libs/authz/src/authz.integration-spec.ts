// The authorizer in embedded mode on real PostgreSQL: the fixture's events are committed with the real event
// store into the writers' schemas, the access model follows those tables, and the three doors (REST,
// forward-auth, gRPC with a real @grpc/grpc-js client) answer one table of cases the same way.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessModelModule } from '@tollgate/access-model';
import { eventually, freePort } from '../../../test/support';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { AuthzModule } from './authz.module';
import type { CheckResponse } from './doors/ext-authz';
import { AUTHZ_GRPC } from './tokens';
import type { ExtAuthzGrpcDoor } from './authz.module';
import { type AuthzFixture, buildAuthzFixture, type DoorCase } from './testing/fixture';
import { envoyCheckRequest, type ExtAuthzClient, extAuthzClient } from './testing/grpc-client';
import { type FixtureWriters, openFixtureWriters } from './testing/writers';

const ADMIN_KEY = randomBytes(24).toString('base64url');

describe('authz doors (embedded mode, real PostgreSQL)', () => {
  let fixture: AuthzFixture;
  let app: TestApp;
  let writers: FixtureWriters;
  let grpc: ExtAuthzClient;

  beforeAll(async () => {
    fixture = await buildAuthzFixture();
    app = await startTestApp((ctx) => [AccessModelModule.forRoot(ctx), AuthzModule.forRoot(ctx)], {
      env: { GRPC_PORT: String(await freePort()), TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY },
      configure: (config) => ({ ...config, trustedIssuers: fixture.trustedIssuers }),
    });
    writers = await openFixtureWriters(app.context.databaseUrl);
    await writers.write(fixture.streams);
    const port = app.app.get<ExtAuthzGrpcDoor>(AUTHZ_GRPC).port!;
    grpc = await extAuthzClient(`127.0.0.1:${port}`);
    // Caught up: the last stream's effect is visible.
    await eventually(
      async () =>
        expect(
          (await authorize({ host: fixture.host, path: '/v1/keys-only', accessKey: fixture.accessKeys.main.secret }))
            .reason,
        ).toBe('auth-mode-not-allowed'),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }, 60_000);

  afterAll(async () => {
    grpc?.close();
    await writers?.close();
    await app?.close();
  });

  async function authorize(
    body: unknown,
    query = '',
  ): Promise<Record<string, unknown> & { status: number; reason: string }> {
    const res = await fetch(`${app.url}/v1/authorize${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown> & { status: number; reason: string };
  }

  function forwardAuth(headers: Record<string, string>): Promise<Response> {
    return fetch(`${app.url}/v1/forward-auth`, { headers });
  }

  const restBody = (c: DoorCase) => ({
    host: c.host,
    path: c.path,
    authorization: c.authorization,
    accessKey: c.accessKey,
  });
  const proxyHeaders = (c: DoorCase): Record<string, string> => ({
    'x-forwarded-host': c.host,
    'x-original-uri': c.path,
    ...(c.authorization !== undefined ? { authorization: c.authorization } : {}),
    ...(c.accessKey !== undefined ? { 'x-model-access-key': c.accessKey } : {}),
  });
  const grpcRequest = (c: DoorCase) =>
    envoyCheckRequest({
      host: c.host,
      path: c.path,
      headers: {
        ...(c.authorization !== undefined ? { authorization: c.authorization } : {}),
        ...(c.accessKey !== undefined ? { 'x-model-access-key': c.accessKey } : {}),
      },
    });
  const grpcOutcome = (r: CheckResponse) => {
    if (r.ok_response) return { status: 200, reason: 'allowed' };
    const body = JSON.parse(r.denied_response!.body) as { reason: string };
    return { status: r.denied_response!.status.code, reason: body.reason };
  };

  it('gives the same status and reason through all three doors (forward-auth: 403 for an unknown deployment)', async () => {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const c of fixture.cases) {
      const rest = await authorize(restBody(c));
      const fa = await forwardAuth(proxyHeaders(c));
      const faBody = (await fa.json()) as { reason: string; status: number };
      const g = grpcOutcome(await grpc.check(grpcRequest(c)));
      got.push({
        case: c.name,
        rest: [rest.status, rest.reason],
        forwardAuth: [fa.status, faBody.status, faBody.reason],
        grpc: [g.status, g.status === 200 ? c.reason : g.reason],
      });
      const faStatus = c.status === 404 ? 403 : c.status;
      want.push({
        case: c.name,
        rest: [c.status, c.reason],
        forwardAuth: [faStatus, faStatus, c.reason],
        grpc: [c.status, c.reason],
      });
    }
    expect(got).toEqual(want);
  });

  it('sends the contract headers: X-Auth-* when allowed, WWW-Authenticate and X-Ext-Auth-Reason when refused', async () => {
    const allowed = await forwardAuth(
      proxyHeaders(fixture.cases.find((c) => c.name === 'inference key of a contributor')!),
    );
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-auth-subject')).toBe(fixture.ids.alice);
    expect(allowed.headers.get('x-auth-deployment')).toBe(fixture.ids.main);
    expect(allowed.headers.get('x-auth-key-id')).toBe(fixture.keys.aliceInference.keyId);
    expect(allowed.headers.get('x-auth-issuer')).toBeNull();

    const missing = await forwardAuth({ 'x-forwarded-host': fixture.host, 'x-original-uri': '/v1/main' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="tollgate"');
    expect(missing.headers.get('x-ext-auth-reason')).toBe('credential-missing');

    const revoked = await forwardAuth({
      'x-forwarded-host': fixture.host,
      'x-original-uri': '/v1/main',
      authorization: `Bearer ${fixture.keys.aliceRevoked.secret}`,
    });
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer realm="tollgate", error="invalid_token"');

    const viewer = await forwardAuth({
      'x-forwarded-host': fixture.host,
      'x-original-uri': '/v1/main',
      authorization: `Bearer ${fixture.keys.bob.secret}`,
    });
    expect(viewer.status).toBe(403);
    expect(((await viewer.json()) as { message: string }).message).toMatch(/not authorized to access model/);

    const ok = await grpc.check(
      envoyCheckRequest({
        host: fixture.host,
        path: '/v1/main',
        headers: { authorization: `Bearer ${fixture.keys.aliceInference.secret}`, 'x-auth-issuer': 'forged' },
      }),
    );
    expect(ok.status.code).toBe(0);
    const headers = Object.fromEntries(ok.ok_response!.headers.map((h) => [h.header.key, h.header.value]));
    expect(headers).toEqual({
      'X-Auth-Subject': fixture.ids.alice,
      'X-Auth-Deployment': fixture.ids.main,
      'X-Auth-Key-Id': fixture.keys.aliceInference.keyId,
    });
    expect(ok.ok_response!.headers_to_remove).toEqual(['x-auth-issuer']);

    const denied = await grpc.check(envoyCheckRequest({ host: fixture.host, path: '/v1/main' }));
    expect(denied.status.code).toBe(16);
    expect(denied.denied_response!.status.code).toBe(401);
    const deniedHeaders = Object.fromEntries(
      denied.denied_response!.headers.map((h) => [h.header.key, h.header.value]),
    );
    expect(deniedHeaders).toMatchObject({
      'WWW-Authenticate': 'Bearer realm="tollgate"',
      'X-Ext-Auth-Reason': 'credential-missing',
    });
    const forbidden = await grpc.check(
      envoyCheckRequest({
        host: fixture.host,
        path: '/v1/main',
        headers: { authorization: `Bearer ${fixture.keys.bob.secret}` },
      }),
    );
    expect(forbidden.status.code).toBe(7);
  });

  it('answers forward-auth subrequests whatever body headers the proxy kept', async () => {
    const headers = proxyHeaders(fixture.cases.find((c) => c.name === 'inference key of a contributor')!);
    const multipart = await fetch(`${app.url}/v1/forward-auth`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'multipart/form-data; boundary=xyz' },
    });
    expect(multipart.status).toBe(200);
    const brokenJson = await fetch(`${app.url}/v1/forward-auth`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{"not json',
    });
    expect(brokenJson.status).toBe(200);
    // The connection stays usable after a discarded body.
    expect((await forwardAuth(headers)).status).toBe(200);
  });

  it('ignores a credential in a query string', async () => {
    const key = fixture.keys.aliceInference.secret;
    const fa = await fetch(`${app.url}/v1/forward-auth?api_key=${key}&key=${key}`, {
      headers: { 'x-forwarded-host': fixture.host, 'x-original-uri': `/v1/main?api_key=${key}` },
    });
    expect(fa.status).toBe(401);
    expect(fa.headers.get('x-ext-auth-reason')).toBe('credential-missing');
    expect((await authorize({ host: fixture.host, path: `/v1/main?api_key=${key}` })).reason).toBe(
      'credential-missing',
    );
    const g = await grpc.check(envoyCheckRequest({ host: fixture.host, path: `/v1/main?api_key=${key}` }));
    expect(JSON.parse(g.denied_response!.body).reason).toBe('credential-missing');
  });

  it('adds the trace and the replica with ?explain=true without changing the decision', async () => {
    const body = restBody(fixture.cases.find((c) => c.name === 'viewer')!);
    const plain = await authorize(body);
    const explained = await authorize(body, '?explain=true');
    expect(plain.trace).toBeUndefined();
    expect(plain.replica).toBeUndefined();
    const { trace, replica, ...rest } = explained;
    expect(rest).toEqual(plain);
    expect(replica).toEqual({ replicaId: expect.any(String), watermarkAgeMs: expect.any(Number) });
    expect(trace).toEqual(
      expect.arrayContaining([expect.objectContaining({ rule: 'collaborator', outcome: 'no-match' })]),
    );
  });

  it('answers a malformed request with 400 and the error shape', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${app.url}/v1/authorize`, { method: 'POST', headers: { 'content-type': type }, body });
    for (const [body, code] of [
      ['{not json', 'malformed-json'],
      [JSON.stringify({ host: 42 }), 'validation-failed'],
      [JSON.stringify({ path: '/v1/main', authorization: 'Bearer x' }), 'validation-failed'],
      [JSON.stringify({ deployment: 'dep_1', colour: 'blue' }), 'validation-failed'],
    ] as const) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect((await post('deployment=x', 'text/plain')).status).toBe(415);
  });

  it('writes one authz.decision line per decision with every field, and never a secret', async () => {
    const before = app.logLines().length;
    const c = fixture.cases.find((x) => x.name === 'service token of an inference key')!;
    await authorize(restBody(c));
    await forwardAuth({ ...proxyHeaders(c), 'x-request-id': 'req-from-proxy-1' });
    await grpc.check(
      envoyCheckRequest({ ...c, requestId: 'envoy-req-1', headers: { authorization: c.authorization! } }),
    );
    const lines = await eventually(() => {
      const found = app
        .logLines()
        .slice(before)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.msg === 'authz.decision');
      expect(found).toHaveLength(3);
      return found;
    });
    expect(lines.map((l) => l.door)).toEqual(['authorize', 'forward-auth', 'ext-authz']);
    for (const line of lines) {
      expect(line).toMatchObject({
        msg: 'authz.decision',
        subject: fixture.ids.alice,
        keyId: fixture.keys.aliceInference.keyId,
        issuer: 'tollgate',
        deployment: fixture.ids.main,
        allowed: true,
        status: 200,
        reason: 'collaborator',
      });
      expect(typeof line.requestId).toBe('string');
      expect(typeof line.latencyUs).toBe('number');
    }
    expect(lines[1]!.requestId).toBe('req-from-proxy-1');
    expect(lines[2]!.requestId).toBe('envoy-req-1');

    // Every case went through every door by now: no log line anywhere holds a key, token or access key.
    const secrets = [
      ...Object.values(fixture.keys).map((k) => k.secret),
      ...Object.values(fixture.accessKeys).map((k) => k.secret),
      ...fixture.cases.flatMap((x) => (x.authorization ? [x.authorization.replace(/^\S+\s+/, '')] : [])),
    ];
    const all = app.logLines().join('\n');
    expect(app.logLines().filter((l) => l.includes('"authz.decision"')).length).toBeGreaterThanOrEqual(
      3 * fixture.cases.length,
    );
    for (const secret of secrets) expect(all.includes(secret)).toBe(false);
  });

  it('exposes decision latency, decisions by door/status/reason and the watermark age on /metrics', async () => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    expect(text).toMatch(/tollgate_authz_decision_duration_seconds_bucket\{le="[^"]+",door="forward-auth"\}/);
    expect(text).toMatch(
      /tollgate_authz_decisions_total\{door="ext-authz",status="401",reason="credential-missing"\} \d+/,
    );
    expect(text).toMatch(/tollgate_authz_watermark_age_seconds \d/);
    expect(text).toMatch(/tollgate_authz_revocation_propagation_seconds_count/);
    expect(text).toMatch(/tollgate_authz_shed_total/);
  });

  it('serves forward-auth ahead of the framework (no Fastify route saw it), with the same answers', async () => {
    const before = await (await fetch(`${app.url}/metrics`)).text();
    const answer = await fetch(`${app.url}/v1/forward-auth/?probe=1`, { method: 'POST', body: 'ignored' });
    expect(answer.status).toBe(403);
    expect(answer.headers.get('x-request-id')).toMatch(/^req_/);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await answer.json()).toMatchObject({ allowed: false, status: 403, reason: 'deployment-unknown' });
    const after = await (await fetch(`${app.url}/metrics`)).text();
    expect(after).not.toContain('route="/v1/forward-auth"');
    expect(before).not.toContain('route="/v1/forward-auth"');
    // A method the route does not document still reaches the framework (404 in the error shape).
    const trace = await fetch(`${app.url}/v1/forward-auth`, { method: 'PROPFIND' });
    expect(trace.status).toBe(404);
  });

  it('enforces a revocation committed through the event store on every door, and confirms it', async () => {
    const key = fixture.keys.carol;
    const c: DoorCase = {
      name: 'carol',
      host: fixture.host,
      path: '/v1/main',
      authorization: `Bearer ${key.secret}`,
      status: 200,
      reason: 'group-granted',
    };
    expect((await authorize(restBody(c))).reason).toBe('group-granted');
    const { eventId, committedAt } = await writers.revoke(key.keyId, 'leaked');
    await eventually(async () => expect((await authorize(restBody(c))).reason).toBe('key-revoked'), {
      timeoutMs: 5000,
      intervalMs: 20,
    });
    expect((await forwardAuth(proxyHeaders(c))).status).toBe(401);
    expect(grpcOutcome(await grpc.check(grpcRequest(c)))).toEqual({ status: 401, reason: 'key-revoked' });

    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    expect((await fetch(`${app.url}/v1/revocations/${eventId}`)).status).toBe(401);
    const res = await fetch(`${app.url}/v1/revocations/${eventId}`, { headers: admin });
    expect(res.status).toBe(200);
    const status = (await res.json()) as {
      committedAt: string;
      replicas: { replicaId: string; appliedAt: string; lagMs: number }[];
      appliedByAll: boolean;
    };
    expect(status.appliedByAll).toBe(true);
    expect(status.replicas).toHaveLength(1);
    expect(status.replicas[0]!.replicaId).toBe(app.context.config.replicaId);
    expect(Date.parse(status.replicas[0]!.appliedAt)).toBeGreaterThanOrEqual(Date.parse(status.committedAt));
    expect(Math.abs(Date.parse(status.committedAt) - committedAt)).toBeLessThan(1000);
    expect(status.replicas[0]!.lagMs).toBeGreaterThanOrEqual(0);
    // Read-your-writes: asked right after the commit, the replica answers once it has applied it.
    const next = await writers.revoke(fixture.keys.erin.keyId);
    const right = await fetch(`${app.url}/v1/revocations/${next.eventId}`, { headers: admin });
    expect(right.status).toBe(200);
    expect(((await right.json()) as { appliedByAll: boolean }).appliedByAll).toBe(true);
    const unknown = await fetch(`${app.url}/v1/revocations/evt_doesnotexist`, { headers: admin });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not-found');
  });
});
