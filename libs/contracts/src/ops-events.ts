import { z } from 'zod';
import { IDENTITY_SCHEMA, KEYS_SCHEMA } from './topics';

/**
 * Events written by operators through the ops CLI (channel `ops`, actor `ops:<operator>`), into the writer
 * store whose log they concern. They travel on that store's topic like every other event of the store.
 * A published type never changes meaning; a change adds a new type or version.
 */

/**
 * An operator's decision that one event, which the projections cannot apply (a poison event), is to be
 * treated as applied without effect. Consumers skip exactly the event named here: its id, in this stream,
 * at this stream version; nothing else is ever skipped, and nothing is skipped without this event.
 *
 * The waived event's version is `eventVersion`, not `streamVersion`: `streamVersion`, `actor` and `channel`
 * are reserved in event data (the Kafka envelope writes the event's own values there and removes them on
 * decode, see `ENVELOPE_DATA_FIELDS` in @tollgate/event-store).
 */
export const eventWaived = z.strictObject({
  /** Id (`evt_…`) of the waived event. */
  eventId: z.string().min(1),
  /** Stream and version of the waived event: a waiver applies only when both match. */
  streamId: z.string().min(1),
  eventVersion: z.number().int().min(1),
  /** Type of the waived event as recorded (for the record: it may be a type no consumer knows). */
  eventType: z.string().min(1),
  /** Why: the operator's investigation, in their words. */
  reason: z.string().trim().min(1).max(2000),
  /** The operator who decided (the metadata actor is `ops:<waivedBy>`). */
  waivedBy: z.string().min(1).max(200),
});

export type EventWaived = z.infer<typeof eventWaived>;

export const opsEventSchemas = {
  EventWaived: eventWaived,
} as const;

export type OpsEvent = { type: 'EventWaived'; data: EventWaived };

export const EVENT_WAIVED = 'EventWaived';

/**
 * The stream that holds the waivers of a writer store's events. Stream ids are unique across stores (the
 * projection runner keys versions by stream id), so each store has its own: `waivers` in `keys`,
 * `identity-waivers` in `identity` (as `signing-keys` / `identity-signing-keys`).
 */
export function waiversStream(schema: string): string {
  if (schema === KEYS_SCHEMA) return 'waivers';
  if (schema === IDENTITY_SCHEMA) return 'identity-waivers';
  return `${schema}-waivers`;
}
