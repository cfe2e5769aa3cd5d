import { describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventReceiptsOpen, reportCommitted } from '@tollgate/event-store';
import Fastify from 'fastify';
import { answerWithEventIds } from './event-ids';

const committed = (...ids: string[]) => reportCommitted({ events: ids.map((id) => ({ id })) as never });

/** A route that commits `?ids` (comma-separated) after a pause of `?ms`, as a slow write would. */
function app() {
  const fastify = Fastify();
  answerWithEventIds(fastify);
  fastify.post('/write', async (request) => {
    const { ids, ms } = request.query as { ids: string; ms?: string };
    await sleep(Number(ms ?? 0));
    committed(...ids.split(','));
    return { ok: true };
  });
  return fastify;
}

describe('Tollgate-Event-Id on every route', () => {
  it("names each request's own events when writes overlap, and turns the async hooks off once all are answered", async () => {
    const fastify = app();
    const base = await fastify.listen({ port: 0, host: '127.0.0.1' });
    const [slow, fast] = await Promise.all([
      fetch(`${base}/write?ids=evt_s1,evt_s2&ms=30`, { method: 'POST' }),
      fetch(`${base}/write?ids=evt_f1&ms=1`, { method: 'POST' }),
    ]);
    expect(slow.headers.get('tollgate-event-id')).toBe('evt_s1,evt_s2');
    expect(fast.headers.get('tollgate-event-id')).toBe('evt_f1');
    await sleep(1); // 'close' follows 'finish' by a tick
    expect(eventReceiptsOpen()).toBe(false);
    await fastify.close();
  });

  it('closes the receipt of a request whose client went away before the answer', async () => {
    const fastify = app();
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as { port: number };
    const gone = new Promise<void>((resolve) => {
      const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/write?ids=evt_x&ms=200' });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    await gone;
    const deadline = Date.now() + 2000;
    while (eventReceiptsOpen() && Date.now() < deadline) await sleep(5);
    expect(eventReceiptsOpen()).toBe(false);
    await fastify.close();
  });
});
