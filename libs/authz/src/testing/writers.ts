/**
 * The writers' side of the authz integration tests: the fixture's events appended with the real PostgreSQL
 * event store into the `keys` and `identity` schemas (what the keys and identity services commit), and in
 * deployed mode relayed to Kafka by the real relay. Not exported from the package index.
 */
import { IDENTITY_SCHEMA, IDENTITY_TOPIC, KEYS_SCHEMA, KEYS_TOPIC } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createEventStoreMigrations, PostgresEventStore, Relay } from '@tollgate/event-store';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { FixtureStream } from './fixture';

export interface FixtureWriters {
  stores: Record<'keys' | 'identity', PostgresEventStore>;
  write(streams: readonly FixtureStream[]): Promise<void>;
  /** Appends a `KeyRevoked`; resolves after commit with its event id and commit time (database clock). */
  revoke(keyId: string, reason?: 'user' | 'admin' | 'leaked'): Promise<{ eventId: string; committedAt: number }>;
  /** Deployed mode: relays both schemas to their Kafka topics (with heartbeats). */
  startRelays(kafka: Kafka, heartbeatIntervalMs?: number): Promise<void>;
  stopRelays(): Promise<void>;
  close(): Promise<void>;
}

const METADATA = { actor: 'system', channel: 'system' } as const;

export async function openFixtureWriters(databaseUrl: string): Promise<FixtureWriters> {
  const registry = new Registry();
  const sources: Record<'keys' | 'identity', DataSource> = {
    keys: createDataSource({
      url: databaseUrl,
      schema: KEYS_SCHEMA,
      migrations: createEventStoreMigrations(KEYS_SCHEMA),
      poolSize: 4,
      name: 'authz-test-keys',
    }),
    identity: createDataSource({
      url: databaseUrl,
      schema: IDENTITY_SCHEMA,
      migrations: createEventStoreMigrations(IDENTITY_SCHEMA),
      poolSize: 4,
      name: 'authz-test-identity',
    }),
  };
  await runMigrations(sources.keys);
  await runMigrations(sources.identity);
  const stores = {
    keys: new PostgresEventStore({ dataSource: sources.keys, schema: KEYS_SCHEMA, registry }),
    identity: new PostgresEventStore({ dataSource: sources.identity, schema: IDENTITY_SCHEMA, registry }),
  };
  let relays: Relay[] = [];
  return {
    stores,
    async write(streams) {
      for (const s of streams) await stores[s.store].append(s.streamId, 'any', s.events, { metadata: METADATA });
    },
    async revoke(keyId, reason = 'user') {
      const result = await stores.keys.append(
        `key-${keyId}`,
        'any',
        [{ type: 'KeyRevoked', data: { keyId, reason, revokedAt: new Date().toISOString() } }],
        { metadata: METADATA },
      );
      const event = result.events[0]!;
      return { eventId: event.id, committedAt: event.recordedAt.getTime() };
    },
    async startRelays(kafka, heartbeatIntervalMs = 100) {
      relays = [
        new Relay({
          dataSource: sources.keys,
          schema: KEYS_SCHEMA,
          kafka,
          topic: KEYS_TOPIC,
          registry,
          heartbeatIntervalMs,
          pollIntervalMs: 20,
        }),
        new Relay({
          dataSource: sources.identity,
          schema: IDENTITY_SCHEMA,
          kafka,
          topic: IDENTITY_TOPIC,
          registry,
          heartbeatIntervalMs,
          pollIntervalMs: 20,
        }),
      ];
      for (const relay of relays) await relay.start();
    },
    async stopRelays() {
      for (const relay of relays) await relay.stop();
      relays = [];
    },
    async close() {
      for (const relay of relays) await relay.stop().catch(() => undefined);
      for (const ds of Object.values(sources)) if (ds.isInitialized) await ds.destroy();
    },
  };
}
