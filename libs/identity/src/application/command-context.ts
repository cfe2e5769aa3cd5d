import { createHash } from 'node:crypto';
import { ApiError, type EventChannel } from '@tollgate/contracts';
import { type EventMetadata, IdempotencyKeyReusedError, VersionConflictError } from '@tollgate/event-store';
import type { Actor } from '../domain/actor';

/**
 * Who caused a command and through which channel. Every event it appends carries this as event-store
 * metadata (`actor`, `channel`, `correlationId`), so a consumer, or a future outbound IdP sync, can tell a
 * change an IdP made (actor `idp:<id>`, channel `oidc`/`webhook`/`scim`) from one made through the API.
 */
export interface CommandContext {
  actor: Actor;
  channel: EventChannel;
  /** The IdP connector for `oidc`, `webhook` and `scim`. */
  idp?: string;
  /** The request id (`req_…`), shared by every event one request caused. */
  requestId?: string;
  /** The event that caused this command (e.g. a webhook id), if any. */
  causationId?: string;
}

export function metadataOf(context: CommandContext): EventMetadata {
  return {
    actor: context.idp !== undefined ? `idp:${context.idp}` : context.actor.userId,
    channel: context.channel,
    correlationId: context.requestId ?? null,
    causationId: context.causationId ?? null,
  };
}

/** An IdP connector acts through its channel only; it is never a Tollgate admin. */
export const idpActor = (idp: string): Actor => ({ userId: `idp:${idp}`, admin: false });
export const SYSTEM_ACTOR: Actor = { userId: 'system', admin: true };

/** The request fingerprint an `Idempotency-Key` is bound to: the route and the body (canonical JSON). */
export function requestFingerprint(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\0').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Event-store errors in the contract's terms. `conflictCode` decides what a lost optimistic race means. */
export function toApiError(error: unknown, conflictCode: 'conflict' | 'version-conflict' = 'conflict'): unknown {
  if (error instanceof IdempotencyKeyReusedError) {
    return new ApiError('idempotency-key-reused', 'this Idempotency-Key was already used with another request body');
  }
  if (error instanceof VersionConflictError) {
    return new ApiError(conflictCode, 'the object was changed concurrently; read it again and retry');
  }
  return error;
}

export async function translating<T>(
  work: () => Promise<T>,
  conflictCode: 'conflict' | 'version-conflict' = 'conflict',
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toApiError(error, conflictCode);
  }
}
