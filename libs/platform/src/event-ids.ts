import { EventReceipt, openEventReceipt } from '@tollgate/event-store';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The response header naming the events a write committed (CONTRACT.md section 3, "Events of a write"). */
export const EVENT_ID_HEADER = 'Tollgate-Event-Id';

const receipts = new WeakMap<FastifyRequest, EventReceipt>();

/**
 * `Tollgate-Event-Id` on every 2xx answer that committed events, for every route of the app (management
 * REST, IdP sign-in, webhooks, SCIM): each request runs its handler with an event receipt, on which the
 * event stores record what they commit (or replay for an `Idempotency-Key`), and the answer lists it,
 * comma-separated, in commit order. No controller takes part, so no write can forget it. The receipt closes
 * when the response does (finished or its connection gone), so requests the framework never sees (the
 * forward-auth route) pay nothing for it while no management request is in flight.
 */
export function answerWithEventIds(fastify: FastifyInstance): void {
  // After body parsing: its stream events would run outside a context opened earlier.
  fastify.addHook('preHandler', (request, reply, done) => {
    const receipt = new EventReceipt();
    receipts.set(request, receipt);
    // 'close' comes after 'finish', and also when the client went away before the answer (maybe already).
    const close = openEventReceipt(receipt, done);
    if (reply.raw.closed) close();
    else reply.raw.once('close', close);
  });
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const ids = receipts.get(request)?.eventIds;
    if (ids && ids.length > 0 && reply.statusCode >= 200 && reply.statusCode < 300) {
      void reply.header(EVENT_ID_HEADER, ids.join(','));
    }
    done(null, payload);
  });
}
