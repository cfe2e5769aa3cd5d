import { status } from '@grpc/grpc-js';
import { envoyCheckRequest, extAuthzClient } from '../testing/grpc-client';
import type { CheckRequest, CheckResponse } from './ext-authz';
import { type CheckHandler, ExtAuthzDoor } from './ext-authz.grpc';

// The door itself, a bare grpc-js server, with a real grpc-js client: what a handler
// answers reaches Envoy as is, and anything it throws is INTERNAL with nothing of the error (fail closed).
describe('ExtAuthzDoor', () => {
  const allowed: CheckResponse = { status: { code: 0, message: '' } } as CheckResponse;

  async function withDoor(
    handler: (request: CheckRequest) => CheckResponse | Promise<CheckResponse>,
    use: (address: string, errors: unknown[]) => Promise<void>,
  ): Promise<void> {
    const errors: unknown[] = [];
    const door = new ExtAuthzDoor({ host: '127.0.0.1', port: 0, handler, onError: (e) => errors.push(e) });
    const port = await door.start();
    expect(door.port).toBe(port);
    try {
      await use(`127.0.0.1:${port}`, errors);
    } finally {
      await door.stop();
    }
    expect(door.port).toBeUndefined();
  }

  it('answers Check with what the handler returns, given the request as Envoy sent it', async () => {
    const seen: CheckRequest[] = [];
    await withDoor(
      async (request) => {
        seen.push(request);
        return allowed;
      },
      async (address) => {
        const client = await extAuthzClient(address);
        try {
          const answer = await client.check(envoyCheckRequest({ host: 'models.example', path: '/v1/x' }));
          expect(answer.status?.code).toBe(0);
        } finally {
          client.close();
        }
      },
    );
    expect(seen[0]?.attributes?.request?.http?.host).toBe('models.example');
    expect(seen[0]?.attributes?.request?.http?.path).toBe('/v1/x');
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('secret detail');
      },
    ],
    ['rejects', () => Promise.reject(new Error('secret detail'))],
  ])('fails the call with INTERNAL when the handler %s, reporting the error but not leaking it', async (_, handler) => {
    await withDoor(handler as CheckHandler, async (address, errors) => {
      const client = await extAuthzClient(address);
      try {
        const failure = await client.check(envoyCheckRequest({ host: 'h', path: '/' })).then(
          () => undefined,
          (e: { code: number; details: string }) => e,
        );
        expect(failure?.code).toBe(status.INTERNAL);
        expect(failure?.details).toBe('internal error');
        expect(errors).toHaveLength(1);
      } finally {
        client.close();
      }
    });
  });

  it('refuses to start on a port already taken, and says so', async () => {
    const first = new ExtAuthzDoor({ host: '127.0.0.1', port: 0, handler: () => allowed });
    const port = await first.start();
    try {
      const second = new ExtAuthzDoor({ host: '127.0.0.1', port, handler: () => allowed });
      await expect(second.start()).rejects.toThrow();
      expect(second.port).toBeUndefined();
    } finally {
      await first.stop();
    }
  });
});
