import { ACCESS_MODEL_MIGRATIONS, ACCESS_MODEL_SCHEMA } from '@tollgate/access-model';
import { IDENTITY_SCHEMA, KEYS_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { identityMigrations } from '@tollgate/identity';
import { keysMigrations } from '@tollgate/keys';
import { unreachableError } from './cli-errors';

/** Every schema of the product and its migrations: the same classes the services run at start. */
export const SCHEMAS = [
  { schema: KEYS_SCHEMA, migrations: keysMigrations },
  { schema: IDENTITY_SCHEMA, migrations: identityMigrations },
  { schema: ACCESS_MODEL_SCHEMA, migrations: () => ACCESS_MODEL_MIGRATIONS },
];

/** Runs every pending migration; returns `<schema>: <migration>` for each that ran. */
export async function runAllMigrations(url: string): Promise<string[]> {
  const ran: string[] = [];
  for (const { schema, migrations } of SCHEMAS) {
    const dataSource = createDataSource({
      url,
      schema,
      migrations: migrations(),
      name: 'tollgate-migrate',
      poolSize: 2,
    });
    try {
      await dataSource.initialize();
    } catch (err) {
      throw unreachableError(`cannot reach PostgreSQL: ${(err as Error).message}`);
    }
    try {
      for (const name of await runMigrations(dataSource)) ran.push(`${schema}: ${name}`);
    } finally {
      await dataSource.destroy();
    }
  }
  return ran;
}
