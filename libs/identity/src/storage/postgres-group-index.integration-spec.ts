import { describe, expect, it } from '@jest/globals';
import { IDENTITY_SCHEMA, userStream } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { PostgresEventStore } from '@tollgate/event-store';
import { Registry } from 'prom-client';
import { createTestDatabase } from '../../../../test/support';
import { describeGroupIndexContract } from './group-index.contract';
import { PostgresGroupIndex, postgresGroupIndexProjection } from './group-index';
import { GroupIndexBackfill1767657600100, identityMigrations } from './migrations';
import { createSql } from './sql';

const open = async (url: string, migrations = identityMigrations()) => {
  const dataSource = createDataSource({ url, schema: IDENTITY_SCHEMA, migrations });
  await runMigrations(dataSource);
  return dataSource;
};

describeGroupIndexContract('PostgreSQL (user_group_sets, in the append transaction)', async () => {
  const db = await createTestDatabase();
  const dataSource = await open(db.url);
  return {
    store: new PostgresEventStore({
      dataSource,
      schema: IDENTITY_SCHEMA,
      registry: new Registry(),
      inlineProjections: [postgresGroupIndexProjection],
    }),
    index: new PostgresGroupIndex(createSql(dataSource)),
    close: async () => {
      await dataSource.destroy();
      await db.drop();
    },
  };
});

describe('GroupIndexBackfill migration', () => {
  it('fills the index once from the log of a database written before the inline projection', async () => {
    const db = await createTestDatabase();
    const before = identityMigrations().filter((m) => m !== GroupIndexBackfill1767657600100);
    const old = await open(db.url, before);
    // Written the old way: events only (the old start-up scan would have filled the index).
    const store = new PostgresEventStore({ dataSource: old, schema: IDENTITY_SCHEMA, registry: new Registry() });
    const meta = { metadata: { actor: 'idp:corp', channel: 'scim' } };
    const created = (userId: string, idp: string) => ({
      type: 'UserCreated',
      data: {
        userId,
        name: `${idp}:${userId}`,
        kind: 'external',
        admin: false,
        email: null,
        idp,
        externalSubject: userId,
      },
    });
    await store.append(userStream('usr_a'), 0, [created('usr_a', 'corp')], meta);
    await store.append(
      userStream('usr_a'),
      1,
      [
        { type: 'GroupsRefreshed', data: { userId: 'usr_a', groups: ['x', 'y'], refreshedAt: 'T1' } },
        { type: 'GroupsEdited', data: { userId: 'usr_a', groups: ['y', 'z'], editedAt: 'T2' } },
        { type: 'UserDeactivated', data: { userId: 'usr_a', deactivatedAt: 'T3' } },
      ],
      meta,
    );
    await store.append(userStream('usr_b'), 0, [created('usr_b', 'corp')], meta);
    await old.destroy();

    const dataSource = await open(db.url);
    const index = new PostgresGroupIndex(createSql(dataSource));
    expect(await index.membersOf('corp', 'z')).toEqual(['usr_a']);
    expect(await index.membersOf('corp', 'x')).toEqual([]);
    expect(
      await dataSource.query(`SELECT user_id, idp, version, groups FROM user_group_sets ORDER BY user_id`),
    ).toEqual([
      { user_id: 'usr_a', idp: 'corp', version: 4, groups: ['y', 'z'] },
      { user_id: 'usr_b', idp: 'corp', version: 1, groups: [] },
    ]);
    // Once: a later start runs no migration.
    expect(await runMigrations(dataSource)).toEqual([]);
    await dataSource.destroy();
    await db.drop();
  });
});
