import { describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { eventReceiptsOpen, reportCommitted } from '@tollgate/event-store';
import Fastify from 'fastify';
import { eventually } from '../../../test/support';
import { answerWithEventIds } from './event-ids';

const committed = (...ids: string[]) => reportCommitted({ events: ids.map((id) => ({ id })) as never });

/**
 * A route that commits `?ids` (comma-separated) once `release(name)` is called for its `?name`, as a write
 * that awaits its store would; `arrived` resolves when the request reached the handler.
 */
function app() {
  const fastify = Fastify();
  answerWithEventIds(fastify);
  const gates = new Map<string, () => void>();
  const arrivals = new Map<string, () => void>();
  const arrived = (name: string) => new Promise<void>((resolve) => arrivals.set(name, resolve));
  fastify.post('/write', async (request) => {
    const { ids, name } = request.query as { ids: string; name: string };
    await new Promise<void>((resolve) => {
      gates.set(name, resolve);
      arrivals.get(name)?.();
    });
    committed(...ids.split(','));
    return { ok: true };
  });
  return { fastify, arrived, release: (name: string) => gates.get(name)!() };
}

describe('Tollgate-Event-Id on every route', () => {
  it("names each request's own events when writes overlap, and turns the async hooks off once all are answered", async () => {
    const { fastify, arrived, release } = app();
    const base = await fastify.listen({ port: 0, host: '127.0.0.1' });
    const [slowArrived, fastArrived] = [arrived('slow'), arrived('fast')];
    const slow = fetch(`${base}/write?ids=evt_s1,evt_s2&name=slow`, { method: 'POST' });
    const fast = fetch(`${base}/write?ids=evt_f1&name=fast`, { method: 'POST' });
    await Promise.all([slowArrived, fastArrived]);
    release('fast');
    expect((await fast).headers.get('tollgate-event-id')).toBe('evt_f1');
    expect(eventReceiptsOpen()).toBe(true); // the slow write is still in flight
    release('slow');
    expect((await slow).headers.get('tollgate-event-id')).toBe('evt_s1,evt_s2');
    await eventually(() => expect(eventReceiptsOpen()).toBe(false)); // 'close' follows 'finish' by a tick
    await fastify.close();
  });

  it('closes the receipt of a request whose client went away before the answer', async () => {
    const { fastify, arrived, release } = app();
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as { port: number };
    const inHandler = arrived('gone');
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/write?ids=evt_x&name=gone' });
    req.on('error', () => undefined);
    req.end();
    await inHandler;
    expect(eventReceiptsOpen()).toBe(true);
    req.destroy();
    await eventually(() => expect(eventReceiptsOpen()).toBe(false));
    release('gone'); // the handler goes on and commits, for no one
    await fastify.close();
  });
});
