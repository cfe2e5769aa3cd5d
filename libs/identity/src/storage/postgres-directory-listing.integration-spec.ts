import { IDENTITY_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { PostgresEventStore } from '@tollgate/event-store';
import { Registry } from 'prom-client';
import { createTestDatabase } from '../../../../test/support';
import { describeDirectoryListingContract } from './directory-listing.contract';
import { PostgresDirectoryListing } from './directory-listing';
import { identityMigrations } from './migrations';
import { createSql } from './sql';

describeDirectoryListingContract('PostgreSQL (SQL over identity.events)', async () => {
  const db = await createTestDatabase();
  const dataSource = createDataSource({ url: db.url, schema: IDENTITY_SCHEMA, migrations: identityMigrations() });
  await runMigrations(dataSource);
  return {
    store: new PostgresEventStore({ dataSource, schema: IDENTITY_SCHEMA, registry: new Registry() }),
    listing: new PostgresDirectoryListing(createSql(dataSource)),
    close: async () => {
      await dataSource.destroy();
      await db.drop();
    },
  };
});
