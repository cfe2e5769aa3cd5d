import { KEYS_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { PostgresEventStore } from '@tollgate/event-store';
import { Registry } from 'prom-client';
import { createTestDatabase } from '../../../../test/support';
import { describeKeyReadModelContract } from './key-read-model.contract';
import { keysMigrations } from './migrations';
import { PostgresKeyReadModel } from './postgres-key-read-model';

describeKeyReadModelContract('PostgreSQL (SQL over keys.events)', async () => {
  const db = await createTestDatabase();
  const dataSource = createDataSource({ url: db.url, schema: KEYS_SCHEMA, migrations: keysMigrations() });
  await runMigrations(dataSource);
  // Running the migrations again is a no-op (every start runs them).
  expect(await runMigrations(dataSource)).toEqual([]);
  return {
    store: new PostgresEventStore({ dataSource, schema: KEYS_SCHEMA, registry: new Registry() }),
    reads: new PostgresKeyReadModel(dataSource),
    close: async () => {
      await dataSource.destroy();
      await db.drop();
    },
  };
});
