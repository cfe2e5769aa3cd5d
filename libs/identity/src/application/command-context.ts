import { createHash } from 'node:crypto';
import type { EventChannel } from '@tollgate/contracts';
import { canonicalJson, type EventMetadata } from '@tollgate/event-store';
import { staleVersion, storeErrorToApi } from '@tollgate/platform';
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

/**
 * Event-store errors in the contract's terms (the writers' one mapping, `storeErrorToApi` of
 * @tollgate/platform). `conflictCode` decides what a lost optimistic race means: 409, or 412 where the client
 * named a version.
 */
export function toApiError(error: unknown, conflictCode: 'conflict' | 'version-conflict' = 'conflict'): unknown {
  return storeErrorToApi(error, conflictCode === 'version-conflict' ? staleVersion : undefined);
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
