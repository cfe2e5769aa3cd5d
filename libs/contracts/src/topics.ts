/** Kafka topics (CONTRACT.md section 4). Keyed by stream id; retention unlimited. */
export const KEYS_TOPIC = 'tollgate.keys.v1';
export const IDENTITY_TOPIC = 'tollgate.identity.v1';
/** Authz replicas' confirmations of applied access-reducing events and their heartbeats (not an event log). */
export const CONFIRMATIONS_TOPIC = 'tollgate.authz-confirmations.v1';

/** The PostgreSQL schema each writer owns; its `events` table is the source of truth. */
export const KEYS_SCHEMA = 'keys';
export const IDENTITY_SCHEMA = 'identity';
/**
 * Authz replicas' key usage (`KeysUsed` batches, see key-usage.ts): the keys service folds them into the
 * `lastUsedAt` of its key listings. Not an event log, and not read by the access model.
 */
export const KEY_USAGE_TOPIC = 'tollgate.key-usage.v1';
