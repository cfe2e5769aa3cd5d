import { IDENTITY_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createTestDatabase } from '../../../../test/support';
import { identityMigrations } from './migrations';
import { ORPHAN_AGE_SECONDS, PostgresReservations } from './reservations';
import { describeReservationsContract } from './reservations.contract';
import { createSql } from './sql';

describeReservationsContract('PostgreSQL (unique indexes)', async () => {
  const db = await createTestDatabase();
  const dataSource = createDataSource({ url: db.url, schema: IDENTITY_SCHEMA, migrations: identityMigrations() });
  await runMigrations(dataSource);
  const sql = createSql(dataSource);
  return {
    reservations: new PostgresReservations(sql),
    age: async () => {
      for (const table of ['user_names', 'external_subjects', 'deployment_routes']) {
        await sql.query(`UPDATE ${table} SET reserved_at = reserved_at - make_interval(secs => $1)`, [
          ORPHAN_AGE_SECONDS + 1,
        ]);
      }
    },
    close: async () => {
      await dataSource.destroy();
      await db.drop();
    },
  };
});
