import { IDENTITY_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createTestDatabase } from '../../../../test/support';
import { describeHostOwnersContract } from './host-owners.contract';
import { PostgresHostOwners } from './host-owners';
import { identityMigrations } from './migrations';
import { createSql } from './sql';

describeHostOwnersContract('PostgreSQL (host_owners)', async () => {
  const db = await createTestDatabase();
  const dataSource = createDataSource({ url: db.url, schema: IDENTITY_SCHEMA, migrations: identityMigrations() });
  await runMigrations(dataSource);
  return {
    owners: new PostgresHostOwners(createSql(dataSource)),
    close: async () => {
      await dataSource.destroy();
      await db.drop();
    },
  };
});
