import { KEYS_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../../test/support';
import { RateLimiter } from '../domain/rate-limit';
import { keysMigrations } from './migrations';
import { PostgresRateLimiter } from './rate-buckets';

// The limit is per key owner across every keys replica: two limiters on two connection pools stand for two
// processes sharing one database.
describe('PostgresRateLimiter (shared by every keys replica)', () => {
  let db: TestDatabase;
  let one: DataSource;
  let two: DataSource;
  const t0 = 1_800_000_000_000;

  beforeAll(async () => {
    db = await createTestDatabase();
    one = createDataSource({ url: db.url, schema: KEYS_SCHEMA, migrations: keysMigrations() });
    two = createDataSource({ url: db.url, schema: KEYS_SCHEMA, migrations: [] });
    await runMigrations(one);
    await two.initialize();
  });

  afterAll(async () => {
    await one?.destroy();
    await two?.destroy();
    await db?.drop();
  });

  it('holds the limit across replicas, taking concurrently', async () => {
    const replicas = [new PostgresRateLimiter(one, 30), new PostgresRateLimiter(two, 30)];
    const decisions = await Promise.all(
      Array.from({ length: 40 }, (_, i) => replicas[i % 2]!.take('user:usr_shared', t0)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(30);
    expect(decisions.find((d) => !d.allowed)).toEqual({ allowed: false, retryAfterSeconds: 2 });
  });

  it('answers exactly as the in-memory limiter for the same sequence', async () => {
    const shared = new PostgresRateLimiter(one, 3);
    const local = new RateLimiter(3);
    for (const at of [t0, t0, t0, t0, t0 + 10_000, t0 + 20_000, t0 + 20_000, t0 + 80_000]) {
      expect(await shared.take('user:usr_seq', at)).toEqual(local.take('user:usr_seq', at));
    }
  });

  it('counts each owner separately', async () => {
    const limiter = new PostgresRateLimiter(two, 1);
    expect((await limiter.take('deployment:dep_a', t0)).allowed).toBe(true);
    expect((await limiter.take('deployment:dep_a', t0)).allowed).toBe(false);
    expect((await limiter.take('deployment:dep_b', t0)).allowed).toBe(true);
  });
});
