import { ApiError } from '@tollgate/contracts';
import { GatewayFailure, type GatewayClient, DeploymentProbeService } from '../application/probe.service';
import { ProbeRateLimiter, type ProbeRequest, probeRequest } from './probe';

const deployment = { hosts: ['models.example.com', 'alt.example.com'], pathPrefixes: ['/v1/fraud', '/health'] };

const refusal = (fn: () => unknown): { code: string; field?: string } => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return { code: error.code, field: error.details?.[0]?.field };
    throw error;
  }
  throw new Error('expected an ApiError');
};

describe('probeRequest: which request the probe may send', () => {
  it('sends to the first host by default, the path as given, GET, and the credential headers', () => {
    expect(
      probeRequest(deployment, { path: '/v1/fraud/score?x=1', authorization: 'Bearer tgi_x', accessKey: 'tga_y' }),
    ).toEqual({
      method: 'GET',
      host: 'models.example.com',
      path: '/v1/fraud/score?x=1',
      headers: { authorization: 'Bearer tgi_x', 'x-model-access-key': 'tga_y' },
    });
  });

  it('takes another of its hosts, compared as routing compares them', () => {
    expect(probeRequest(deployment, { path: '/health', host: 'ALT.example.com.', method: 'POST' })).toMatchObject({
      host: 'alt.example.com',
      method: 'POST',
      headers: {},
    });
  });

  it('refuses a host that is not one of its own (400 naming host)', () => {
    expect(refusal(() => probeRequest(deployment, { path: '/health', host: 'internal.example.com' }))).toEqual({
      code: 'validation-failed',
      field: 'host',
    });
  });

  it.each([
    ['outside every prefix', '/admin'],
    ['a prefix without its segment boundary', '/v1/fraudulent'],
    ['a dot segment leaving the prefix', '/v1/fraud/../../admin'],
    ['an encoded dot segment leaving the prefix', '/v1/fraud/%2e%2e/%2e%2e/admin'],
    ['an encoded slash', '/v1/fraud%2Fx'],
    ['a backslash', '/v1/fraud\\x'],
  ])('refuses a path %s (400 naming path)', (_, path) => {
    expect(refusal(() => probeRequest(deployment, { path }))).toEqual({ code: 'validation-failed', field: 'path' });
  });

  it('accepts the prefix itself and paths below it, and anything under /', () => {
    for (const path of ['/v1/fraud', '/v1/fraud/', '/v1/fraud/a/b', '/v1//fraud/score'])
      expect(probeRequest(deployment, { path }).path).toBe(path);
    expect(probeRequest({ hosts: ['h'], pathPrefixes: ['/'] }, { path: '/anything' }).path).toBe('/anything');
  });

  it('refuses a deployment without hosts: nothing a gateway could route (409 probe-not-configured)', () => {
    expect(refusal(() => probeRequest({ hosts: [], pathPrefixes: ['/'] }, { path: '/' })).code).toBe(
      'probe-not-configured',
    );
  });
});

describe('ProbeRateLimiter', () => {
  it('allows `limit` probes at once, then refuses with Retry-After until the bucket refills', () => {
    const limiter = new ProbeRateLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) expect(limiter.take('usr_a', 0)).toEqual({ allowed: true });
    expect(limiter.take('usr_a', 0)).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(limiter.take('usr_b', 0)).toEqual({ allowed: true });
    expect(limiter.take('usr_a', 20_000)).toEqual({ allowed: true });
  });
});

describe('DeploymentProbeService', () => {
  const context = { actor: { userId: 'usr_a', admin: false }, channel: 'rest' as const, requestId: 'r1' };
  const deployments = {
    getDeployment: async (_: unknown, id: string) => {
      if (id !== 'dep_1') throw new ApiError('not-found', 'deployment not found');
      return deployment as never;
    },
  };
  const client = (answer: (r: ProbeRequest) => Promise<{ status: number; latencyMs: number }>) => {
    const sent: ProbeRequest[] = [];
    const gateway: GatewayClient = {
      send: (r) => {
        sent.push(r);
        return answer(r);
      },
    };
    return { gateway, sent };
  };
  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => 'resolved',
      (e: ApiError) => e.code,
    );

  it('answers the gateway status and latency, after checking visibility', async () => {
    const { gateway, sent } = client(async () => ({ status: 200, latencyMs: 7 }));
    const service = new DeploymentProbeService(deployments, gateway);
    await expect(service.probe(context, 'dep_1', { path: '/health' })).resolves.toEqual({ status: 200, latencyMs: 7 });
    expect(await codeOf(service.probe(context, 'dep_other', { path: '/health' }))).toBe('not-found');
    expect(sent).toHaveLength(1);
  });

  it('is 404 for an unseen deployment before it says that no gateway is configured, then 409', async () => {
    const service = new DeploymentProbeService(deployments, undefined);
    expect(await codeOf(service.probe(context, 'dep_other', { path: '/health' }))).toBe('not-found');
    expect(await codeOf(service.probe(context, 'dep_1', { path: '/health' }))).toBe('probe-not-configured');
  });

  it('turns gateway failures into gateway-timeout and gateway-unreachable, anything else passes as is', async () => {
    const failing = (error: Error) =>
      new DeploymentProbeService(deployments, client(() => Promise.reject(error)).gateway);
    expect(await codeOf(failing(new GatewayFailure('timeout', 'x')).probe(context, 'dep_1', { path: '/health' }))).toBe(
      'gateway-timeout',
    );
    expect(
      await codeOf(failing(new GatewayFailure('unreachable', 'x')).probe(context, 'dep_1', { path: '/health' })),
    ).toBe('gateway-unreachable');
    await expect(failing(new TypeError('bug')).probe(context, 'dep_1', { path: '/health' })).rejects.toThrow(TypeError);
  });

  it('rate-limits per caller (429 with Retry-After), counting only requests it would send', async () => {
    const { gateway, sent } = client(async () => ({ status: 204, latencyMs: 1 }));
    const service = new DeploymentProbeService(deployments, gateway, new ProbeRateLimiter(1), () => 0);
    expect(await codeOf(service.probe(context, 'dep_1', { path: '/admin' }))).toBe('validation-failed');
    await service.probe(context, 'dep_1', { path: '/health' });
    const limited = await service.probe(context, 'dep_1', { path: '/health' }).catch((e: ApiError) => e);
    expect(limited).toMatchObject({ code: 'rate-limited', headers: { 'Retry-After': '60' } });
    expect(sent).toHaveLength(1);
  });
});
