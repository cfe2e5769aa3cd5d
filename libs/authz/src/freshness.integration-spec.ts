// Fail closed: when the access model cannot prove its data is fresh (no heartbeat within the staleness
// bound), every door answers 503 authorizer-stale with Retry-After, and /health/ready is down; both recover
// when heartbeats come back. The log is an in-memory one the test controls (its heartbeats are the clock of
// freshness); the application, its database and the doors are the real ones.
import { type AddressInfo, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessModelModule } from '@tollgate/access-model';
import { InMemoryLog } from '@tollgate/event-store';
import { eventually, freePort } from '../../../test/support';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { AuthzModule, type ExtAuthzGrpcDoor } from './authz.module';
import { type AuthzFixture, buildAuthzFixture } from './testing/fixture';
import { envoyCheckRequest, type ExtAuthzClient, extAuthzClient } from './testing/grpc-client';
import { AUTHZ_GRPC } from './tokens';

describe('authz freshness (fail closed)', () => {
  const log = new InMemoryLog({ partitions: 2 });
  let beat: NodeJS.Timeout | undefined;
  let fixture: AuthzFixture;
  let app: TestApp;
  let grpc: ExtAuthzClient;

  const startBeating = () => (beat = setInterval(() => log.heartbeat(), 50));
  const stopBeating = () => clearInterval(beat);

  beforeAll(async () => {
    fixture = await buildAuthzFixture(Date.now(), { withTokens: false });
    log.publish(fixture.recorded());
    startBeating();
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx, {
          createSource: () => log.source(),
          loadSnapshot: false,
          snapshotOnStop: false,
        }),
        AuthzModule.forRoot(ctx),
      ],
      { env: { TOLLGATE_MAX_STALENESS_MS: '700', GRPC_PORT: String(await freePort()) } },
    );
    grpc = await extAuthzClient(`127.0.0.1:${app.app.get<ExtAuthzGrpcDoor>(AUTHZ_GRPC).port}`);
  });

  afterAll(async () => {
    stopBeating();
    grpc?.close();
    await app?.close();
  });

  const key = () => `Bearer ${fixture.keys.aliceInference.secret}`;

  async function doors() {
    const rest = (await (
      await fetch(`${app.url}/v1/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ host: fixture.host, path: '/v1/main', authorization: key() }),
      })
    ).json()) as { status: number; reason: string };
    const fa = await fetch(`${app.url}/v1/forward-auth`, {
      headers: { 'x-forwarded-host': fixture.host, 'x-original-uri': '/v1/main', authorization: key() },
    });
    const g = await grpc.check(
      envoyCheckRequest({ host: fixture.host, path: '/v1/main', headers: { authorization: key() } }),
    );
    return {
      rest: [rest.status, rest.reason],
      forwardAuth: [fa.status, fa.headers.get('x-ext-auth-reason') ?? 'allowed', fa.headers.get('retry-after')],
      grpc: g.ok_response
        ? [200, 'allowed']
        : [g.denied_response!.status.code, JSON.parse(g.denied_response!.body).reason, g.status.code],
      grpcRetryAfter: g.denied_response?.headers.find((h) => h.header.key === 'Retry-After')?.header.value ?? null,
      ready: (await fetch(`${app.url}/health/ready`)).status,
    };
  }

  it('serves while heartbeats arrive within the bound', async () => {
    await eventually(async () =>
      expect(await doors()).toEqual({
        rest: [200, 'collaborator'],
        forwardAuth: [200, 'allowed', null],
        grpc: [200, 'allowed'],
        grpcRetryAfter: null,
        ready: 200,
      }),
    );
  });

  it('answers 503 authorizer-stale with Retry-After on every door once no heartbeat came within the bound', async () => {
    stopBeating();
    await eventually(
      async () =>
        expect(await doors()).toEqual({
          rest: [503, 'authorizer-stale'],
          forwardAuth: [503, 'authorizer-stale', '1'],
          grpc: [503, 'authorizer-stale', 14],
          grpcRetryAfter: '1',
          ready: 503,
        }),
      { timeoutMs: 5000, intervalMs: 50 },
    );
    // Unknown deployments and public ones are refused too: nothing is answered from stale data.
    const pub = await fetch(`${app.url}/v1/forward-auth`, {
      headers: { 'x-forwarded-host': fixture.host, 'x-original-uri': '/v1/public' },
    });
    expect(pub.status).toBe(503);
  });

  it('recovers as soon as heartbeats come back', async () => {
    startBeating();
    await eventually(async () => expect((await doors()).rest).toEqual([200, 'collaborator']), { timeoutMs: 5000 });
    expect((await doors()).ready).toBe(200);
  });
});

describe('authz whose gRPC door cannot start', () => {
  const log = new InMemoryLog({ partitions: 1 });
  let beat: NodeJS.Timeout | undefined;
  let app: TestApp;
  let blocker: Server;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const fixture = await buildAuthzFixture(Date.now(), { withTokens: false });
    log.publish(fixture.recorded());
    beat = setInterval(() => log.heartbeat(), 50);
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx, {
          createSource: () => log.source(),
          loadSnapshot: false,
          snapshotOnStop: false,
        }),
        AuthzModule.forRoot(ctx),
      ],
      { env: { GRPC_PORT: String(taken) } },
    );
  });

  afterAll(async () => {
    clearInterval(beat);
    await app?.close();
    blocker?.close();
  });

  it('keeps the HTTP doors and reports the gRPC door unready, with the reason', async () => {
    await eventually(async () => {
      const res = await fetch(`${app.url}/v1/forward-auth`, {
        headers: { 'x-forwarded-host': 'nowhere.example.test' },
      });
      expect(res.status).toBe(403);
    });
    const ready = await eventually(async () => {
      const r = await fetch(`${app.url}/health/ready`);
      const body = (await r.json()) as { error?: Record<string, { status: string; error?: string; port: unknown }> };
      expect(body.error?.['access-model']).toBeUndefined();
      return { status: r.status, grpc: body.error?.['ext-authz-grpc'] };
    });
    expect(ready.status).toBe(503);
    expect(ready.grpc).toMatchObject({
      status: 'down',
      port: null,
      error: expect.stringMatching(/EADDRINUSE|address|bind|No address added/i),
    });
    expect(app.logLines().some((l) => l.includes('the ext_authz gRPC door could not start'))).toBe(true);
  });
});
