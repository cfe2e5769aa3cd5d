// The writers of the bench's Kafka parts: both event stores (keys, identity) on one database, and a relay each
// to its Kafka topic, started the way the keys and identity services start theirs.
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { IDENTITY_SCHEMA, IDENTITY_TOPIC, KEYS_SCHEMA, KEYS_TOPIC } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createEventStoreMigrations, PostgresEventStore, Relay } from '@tollgate/event-store';

export interface BenchWriters {
  sources: { keys: DataSource; identity: DataSource };
  stores: { keys: PostgresEventStore; identity: PostgresEventStore };
  relays: Relay[];
}

/**
 * Migrates both stores of `url` and creates their relays to `brokers` (relay errors go to stderr), started
 * unless `startRelays` is false (a part that times the relay over a backlog starts them itself).
 */
export async function startBenchWriters(url: string, brokers: string[], startRelays = true): Promise<BenchWriters> {
  const registry = new Registry();
  const source = (schema: string, poolSize: number) =>
    createDataSource({ url, schema, migrations: createEventStoreMigrations(schema), poolSize });
  const sources = { keys: source(KEYS_SCHEMA, 16), identity: source(IDENTITY_SCHEMA, 4) };
  await runMigrations(sources.keys);
  await runMigrations(sources.identity);
  const stores = {
    keys: new PostgresEventStore({ dataSource: sources.keys, schema: KEYS_SCHEMA, registry }),
    identity: new PostgresEventStore({ dataSource: sources.identity, schema: IDENTITY_SCHEMA, registry }),
  };
  const kafka = new kafkajs.Kafka({ clientId: 'bench-writers', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const logger = {
    info: () => {},
    warn: () => {},
    error: (o: object, m?: string) => console.error('relay error', m, o),
  };
  const relay = (dataSource: DataSource, schema: string, topic: string) =>
    new Relay({ dataSource, schema, kafka, topic, registry, logger });
  const relays = [
    relay(sources.keys, KEYS_SCHEMA, KEYS_TOPIC),
    relay(sources.identity, IDENTITY_SCHEMA, IDENTITY_TOPIC),
  ];
  if (startRelays) for (const r of relays) await r.start();
  return { sources, stores, relays };
}
