import { commandFingerprint, type EventMetadata } from '@tollgate/event-store';
import type { Caller } from '@tollgate/platform';

/** What a request contributes to the commands it causes. */
export interface RequestMeta {
  /** `req_…`, becomes the events' correlation id. */
  requestId: string;
  /** When the request arrived (epoch ms). */
  arrival: number;
  /** The validated `Idempotency-Key` header, if any. */
  idempotencyKey?: string;
}

export const apiMetadata = (caller: Caller, meta: RequestMeta): EventMetadata => ({
  actor: caller.userId,
  channel: 'rest',
  correlationId: meta.requestId,
});

export const systemMetadata = (channel: 'system' | 'bootstrap' | 'ops', causationId?: string): EventMetadata => ({
  actor: 'system',
  channel,
  ...(causationId ? { causationId } : {}),
});

/**
 * What makes two requests "the same" for an idempotency key: the route, its target and the body as sent
 * (canonical JSON: key order does not matter).
 */
export const requestFingerprint = (route: string, target: string, body: unknown): string =>
  commandFingerprint(route, { target, body: body ?? null });
