import { z } from 'zod';

/**
 * Key usage, as authz replicas publish it on `tollgate.key-usage.v1` (KEY_USAGE_TOPIC): "last used" per key,
 * to the minute. Each replica counts in memory which keys it saw in use and publishes one `KeysUsed` message
 * per interval (`TOLLGATE_KEY_USAGE_INTERVAL_MS`), split into batches of at most KEY_USAGE_BATCH_MAX keys;
 * never a write per request. The keys service keeps, per key, the greatest `lastUsedAt` it has read, so a
 * batch read twice or late never moves a key's last use backwards. A batch lost with a replica that dies
 * loses at most one interval of "last used": acceptable for an informative field.
 *
 * Not a domain event: it is not in a writer's log, carries no stream version, and the access model never
 * reads its topic. A published shape never changes meaning; a change adds a new `type`.
 */

/** Most keys in one `KeysUsed` message (about 80 bytes each: well under Kafka's 1 MB default message size). */
export const KEY_USAGE_BATCH_MAX = 1000;

export const KEYS_USED = 'KeysUsed';

const MINUTE_MS = 60_000;

/** The start of the minute holding `ms` (epoch milliseconds). */
export const usageMinute = (ms: number): number => ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);

/** An ISO 8601 UTC time on a minute boundary: `2026-12-05T08:22:00.000Z`. */
export const minuteTime = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/, 'an ISO time on a minute boundary');

export const keysUsed = z.strictObject({
  type: z.literal(KEYS_USED),
  /** The authz replica that saw the use (`TOLLGATE_REPLICA_ID`). */
  replicaId: z.string().min(1).max(200),
  /** When the replica published it (ISO 8601), for the record and for lag metrics. */
  publishedAt: z.iso.datetime({ offset: false, precision: 3 }),
  /** Each key (by `keyId`) with the start of the latest minute it was used in on that replica. */
  keys: z
    .array(
      z.strictObject({
        keyId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'a key id'),
        lastUsedAt: minuteTime,
      }),
    )
    .min(1)
    .max(KEY_USAGE_BATCH_MAX),
});

export type KeysUsed = z.infer<typeof keysUsed>;
export type KeyUse = KeysUsed['keys'][number];
