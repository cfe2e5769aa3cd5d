import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createTestDatabase, uniqueName, type TestDatabase } from '../../../test/support';
import { createDataSource, ensureDatabase, revertLastMigration, runMigrations, startEmbeddedPostgres } from './index';

class CreateWidgets1764140000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    // Unqualified on purpose: search_path puts it in the data source's schema.
    await queryRunner.query('CREATE TABLE widgets (id text PRIMARY KEY, label text NOT NULL)');
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE widgets');
  }
}

class AddWidgetColour1764140000001 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE widgets ADD COLUMN colour text');
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE widgets DROP COLUMN colour');
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function tablesIn(url: string, schema: string): Promise<string[]> {
  const rows = await query<{ table_name: string }>(
    url,
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
    [schema],
  );
  return rows.map((row) => row.table_name);
}

async function columnsOf(url: string, schema: string, table: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
    [schema, table],
  );
  return rows.map((row) => row.column_name);
}

describe('migrations', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('run in the data source schema, keep a history there, and revert one at a time', async () => {
    const schema = uniqueName('writer');
    const dataSource = createDataSource({
      url: db.url,
      schema,
      migrations: [AddWidgetColour1764140000001, CreateWidgets1764140000000],
      name: 'database-integration-spec',
    });
    try {
      expect(await runMigrations(dataSource)).toEqual(['CreateWidgets1764140000000', 'AddWidgetColour1764140000001']);
      expect(await tablesIn(db.url, schema)).toEqual(['migrations', 'widgets']);
      expect(await columnsOf(db.url, schema, 'widgets')).toEqual(['id', 'label', 'colour']);
      expect(await tablesIn(db.url, 'public')).toEqual([]);
      expect(await runMigrations(dataSource)).toEqual([]);

      await revertLastMigration(dataSource);
      expect(await columnsOf(db.url, schema, 'widgets')).toEqual(['id', 'label']);
      await revertLastMigration(dataSource);
      expect(await tablesIn(db.url, schema)).toEqual(['migrations']);
      expect(await query(db.url, `SELECT name FROM "${schema}".migrations`)).toEqual([]);
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
    }
  });

  it('keep one history per schema', async () => {
    const [first, second] = [uniqueName('writer'), uniqueName('writer')];
    const one = createDataSource({ url: db.url, schema: first, migrations: [CreateWidgets1764140000000] });
    const two = createDataSource({
      url: db.url,
      schema: second,
      migrations: [CreateWidgets1764140000000, AddWidgetColour1764140000001],
    });
    try {
      // Concurrently, as two services starting at once would.
      const [ranOne, ranTwo] = await Promise.all([runMigrations(one), runMigrations(two)]);
      expect(ranOne).toEqual(['CreateWidgets1764140000000']);
      expect(ranTwo).toEqual(['CreateWidgets1764140000000', 'AddWidgetColour1764140000001']);
      expect(await query(db.url, `SELECT name FROM "${first}".migrations ORDER BY id`)).toEqual([
        { name: 'CreateWidgets1764140000000' },
      ]);
      expect(await columnsOf(db.url, first, 'widgets')).toEqual(['id', 'label']);
      expect(await columnsOf(db.url, second, 'widgets')).toEqual(['id', 'label', 'colour']);
    } finally {
      await Promise.all([one, two].map((ds) => (ds.isInitialized ? ds.destroy() : undefined)));
    }
  });

  it('refuse a schema name that is not a plain identifier', () => {
    expect(() => createDataSource({ url: db.url, schema: 'x"; DROP TABLE y; --', migrations: [] })).toThrow(
      /lower-case SQL identifier/,
    );
  });
});

describe('ensureDatabase', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('creates a missing database once and returns its URL', async () => {
    const name = uniqueName('ensured');
    const urls = await Promise.all([ensureDatabase(db.url, name), ensureDatabase(db.url, name)]);
    expect(new URL(urls[0]).pathname).toBe(`/${name}`);
    expect(await query(urls[0], 'SELECT current_database() AS name')).toEqual([{ name }]);
    await query(db.url, `DROP DATABASE "${name}" WITH (FORCE)`);
  });
});

describe('startEmbeddedPostgres', () => {
  let parent: string;
  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'tollgate-embedded-spec-'));
    // mkdtemp makes a 0700 folder; as root, PostgreSQL runs as the OS user `postgres`, which must pass through.
    await chmod(parent, 0o711);
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('initialises once, keeps data and credentials across a restart, listens on loopback only', async () => {
    const dataDir = join(parent, 'data');
    const first = await startEmbeddedPostgres({ dataDir });
    let firstStopped = false;
    try {
      const url = new URL(first.url);
      expect(url.username).toBe('tollgate');
      expect(url.hostname).toBe('127.0.0.1');
      expect(await query(first.url, 'SHOW listen_addresses')).toEqual([{ listen_addresses: '127.0.0.1' }]);
      expect(await query(first.url, 'SHOW unix_socket_directories')).toEqual([{ unix_socket_directories: '' }]);
      expect(await query(first.url, 'SHOW password_encryption')).toEqual([{ password_encryption: 'scram-sha-256' }]);
      await query(first.url, 'CREATE TABLE kept (value text)');
      await query(first.url, "INSERT INTO kept VALUES ('survives a restart')");

      const wrongPassword = new URL(first.url);
      wrongPassword.password = 'not-the-password';
      await expect(query(wrongPassword.toString(), 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });

      await first.stop();
      firstStopped = true;
      await expect(query(first.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      if (!firstStopped) await first.stop();
    }

    const credentials = JSON.parse(await readFile(join(dataDir, 'postgres.credentials.json'), 'utf8'));
    const second = await startEmbeddedPostgres({ dataDir });
    try {
      expect(new URL(second.url).password).toBe(credentials.password);
      expect(new URL(second.url).password).toBe(new URL(first.url).password);
      expect(await query(second.url, 'SELECT value FROM kept')).toEqual([{ value: 'survives a restart' }]);
    } finally {
      await second.stop();
    }
    expect((await readdir(join(dataDir, 'postgres'))).includes('PG_VERSION')).toBe(true);
  });

  it('deletes a non-persistent cluster and its credentials at stop', async () => {
    const dataDir = join(parent, 'throwaway');
    const server = await startEmbeddedPostgres({ dataDir, persistent: false });
    expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await server.stop();
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses a cluster folder that holds something else', async () => {
    const dataDir = join(parent, 'foreign');
    await mkdir(join(dataDir, 'postgres'), { recursive: true });
    await writeFile(join(dataDir, 'postgres', 'notes.txt'), 'not a cluster');
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/neither empty nor a PostgreSQL cluster/);
  });

  it('fails with the server log when its port is taken (and does not hang)', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      await expect(startEmbeddedPostgres({ dataDir: join(parent, 'taken'), port, persistent: false })).rejects.toThrow(
        /Address already in use/,
      );
    } finally {
      blocker.close();
    }
  });

  const asRoot = process.getuid?.() === 0;
  (asRoot ? it : it.skip)(
    'explains, as root, that the postgres OS user cannot enter a 0700 parent folder',
    async () => {
      const closed = join(parent, 'closed');
      await mkdir(closed, { mode: 0o700 });
      await expect(startEmbeddedPostgres({ dataDir: join(closed, 'data') })).rejects.toThrow(
        `PostgreSQL runs as the OS user "postgres", which cannot enter ${closed}`,
      );
    },
  );
});
