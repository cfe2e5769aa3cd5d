// Shared set-up of the event store's integration tests: a fresh database with the event store's
// migrations for some writer schemas, and a kafkajs client on the run's broker.
import kafkajs, { type Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createTestDatabase, testKafkaBrokers, uniqueName } from '../../../test/support';
import { createEventStoreMigrations, type Logger, PostgresEventStore } from '../src';

export const quietLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export interface PgFixture {
  url: string;
  dataSource: DataSource;
  registry: Registry;
  store(schema: string): PostgresEventStore;
  close(): Promise<void>;
}

export async function pgFixture(schemas: string[], poolSize = 10): Promise<PgFixture> {
  const db = await createTestDatabase();
  const dataSource = createDataSource({
    url: db.url,
    schema: schemas[0],
    migrations: schemas.flatMap((s) => createEventStoreMigrations(s)),
    name: 'event-store-test',
    poolSize,
  });
  await runMigrations(dataSource);
  const registry = new Registry();
  const stores = new Map<string, PostgresEventStore>();
  return {
    url: db.url,
    dataSource,
    registry,
    store(schema) {
      let store = stores.get(schema);
      if (!store) stores.set(schema, (store = new PostgresEventStore({ dataSource, schema, registry })));
      return store;
    },
    async close() {
      await dataSource.destroy().catch(() => undefined);
      await db.drop();
    },
  };
}

export function testKafka(): Kafka {
  return new kafkajs.Kafka({
    clientId: uniqueName('evstore'),
    brokers: testKafkaBrokers(),
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 10 },
  });
}

export const actor = { actor: 'usr_test', channel: 'test' };
