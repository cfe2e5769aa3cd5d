import { AccessModelModule } from '@tollgate/access-model';
import { createTestDatabase, eventually, type TestDatabase } from '../../../test/support';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { keysBanner, KeysModule } from './keys.module';
import { IdentityFixture } from './testing/identity-fixture';

describe('first start without TOLLGATE_BOOTSTRAP_ADMIN_KEY', () => {
  let db: TestDatabase;
  let identity: IdentityFixture | undefined;
  const apps: TestApp[] = [];
  const start = async () => {
    const app = await startTestApp((ctx) => [AccessModelModule.forRoot(ctx), KeysModule.forRoot(ctx)], {
      databaseUrl: db.url,
    });
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await identity?.close();
    for (const app of apps) await app.close().catch(() => undefined);
    await db.drop();
  });

  it('creates a management key for usr_admin once, shows it once in the banner, and it works as the admin', async () => {
    const first = await start();
    const banner = keysBanner(first.app);
    const key = /(tgm_[0-9A-Za-z]{38})/.exec(banner.join('\n'))?.[1];
    expect(key).toBeDefined();
    expect(keysBanner(first.app).join('\n')).not.toContain(key);
    expect(first.logLines().join('\n')).not.toContain(key);

    identity = await IdentityFixture.start(db.url);
    await identity.user('usr_admin', 'admin', { admin: true });
    const call = httpClient(first.url);
    await eventually(async () => expect((await call('GET', '/v1/key-counts', { auth: key })).status).toBe(200));
    const listed = await call('GET', '/v1/keys', { auth: key });
    expect(listed.body.keys).toEqual([
      expect.objectContaining({ keyId: 'key_bootstrapAdmin01', scope: 'management', userId: 'usr_admin' }),
    ]);
    await first.close();

    const second = await start();
    const again = keysBanner(second.app).join('\n');
    expect(again).not.toMatch(/tgm_/);
    expect(again).toMatch(/created at the first start/);
    expect((await httpClient(second.url)('GET', '/v1/keys', { auth: key })).body.keys).toHaveLength(1);
  });
});
