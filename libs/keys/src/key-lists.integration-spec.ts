import { AccessModelModule } from '@tollgate/access-model';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { KeysModule } from './keys.module';
import { IdentityFixture } from './testing/identity-fixture';

const ADMIN = 'bootstrap-admin-credential-for-the-key-lists-0001';

/**
 * Cursor pagination of the key lists (`GET /v1/keys`, `/v1/users/{userId}/keys`, `/v1/keys/expiring`,
 * `/v1/key-counts`): every item exactly once across pages (also while keys are created), the existing fields
 * kept, and cursors that belong to another list, caller or filter refused.
 */
describe('key lists: cursor pagination (real PostgreSQL)', () => {
  let app: TestApp;
  let identity: IdentityFixture;
  let call: ReturnType<typeof httpClient>;
  let dora: string; // dora's management key
  let eve: string; // eve's management key

  const createKey = async (auth: string, name: string, expiresAt?: string) => {
    const r = await call('POST', '/v1/keys', { auth, body: { name, scope: 'inference', expiresAt } });
    expect(r.status).toBe(201);
    return r.body as { keyId: string };
  };

  /** Every page of `path` (with `query`), following `nextCursor`. */
  const all = async <T>(auth: string, path: string, field: string, query = '', limit = 2): Promise<T[]> => {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 200; pages++) {
      const cursorPart: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const r = await call('GET', `${path}?limit=${limit}${query}${cursorPart}`, { auth });
      expect(r.status).toBe(200);
      expect(r.body[field].length).toBeLessThanOrEqual(limit);
      items.push(...(r.body[field] as T[]));
      cursor = r.body.nextCursor as string | null;
      if (cursor === null) return items;
    }
    throw new Error('too many pages');
  };

  beforeAll(async () => {
    app = await startTestApp((ctx) => [AccessModelModule.forRoot(ctx), KeysModule.forRoot(ctx)], {
      env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN },
    });
    call = httpClient(app.url);
    identity = await IdentityFixture.start(app.context.databaseUrl);
    await identity.user('usr_admin', 'admin', { admin: true });
    await identity.user('usr_dora', 'dora');
    await identity.user('usr_eve', 'eve');
    for (let i = 0; i < 5; i++) await identity.user(`usr_extra${i}`, `extra${i}`);
    const management = async (userId: string) => {
      const r = await call('POST', `/v1/users/${userId}/keys`, {
        auth: ADMIN,
        body: { name: 'cli', scope: 'management' },
      });
      expect(r.status).toBe(201);
      return r.body.key as string;
    };
    dora = await management('usr_dora');
    eve = await management('usr_eve');
  });

  afterAll(async () => {
    await identity?.close();
    await app?.close();
  });

  it('GET /v1/keys pages through every key exactly once, oldest first, with nextCursor null at the end', async () => {
    for (let i = 0; i < 6; i++) await createKey(dora, `dora-${i}`);
    const everything = await call('GET', '/v1/keys', { auth: dora });
    expect(everything.status).toBe(200);
    expect(everything.body).toEqual({ keys: expect.any(Array), nextCursor: null });
    expect(everything.body.keys).toHaveLength(7);
    const paged = await all<{ keyId: string; createdAt: string }>(dora, '/v1/keys', 'keys');
    expect(paged).toEqual(everything.body.keys);
    const keys = paged.map((k) => `${k.createdAt} ${k.keyId}`);
    expect([...keys].sort()).toEqual(keys);
    // The same list through the user's path, for the user and for an admin.
    expect(await all(dora, '/v1/users/usr_dora/keys', 'keys', '', 3)).toEqual(paged);
    expect(await all(ADMIN, '/v1/users/usr_dora/keys', 'keys', '', 4)).toEqual(paged);
    // Another user's list stays 404 whatever the paging.
    expect((await call('GET', '/v1/users/usr_dora/keys?limit=1', { auth: eve })).status).toBe(404);
  });

  it('keys created while paging never appear twice, and every earlier key appears once', async () => {
    const before = (await all<{ keyId: string }>(eve, '/v1/keys', 'keys', '', 200)).map((k) => k.keyId);
    for (let i = 0; i < 3; i++) await createKey(eve, `eve-before-${i}`);
    const existing = (await all<{ keyId: string }>(eve, '/v1/keys', 'keys', '', 200)).map((k) => k.keyId);
    expect(existing.length).toBe(before.length + 3);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const path: string = `/v1/keys?limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await call('GET', path, { auth: eve });
      expect(r.status).toBe(200);
      seen.push(...r.body.keys.map((k: { keyId: string }) => k.keyId));
      if (page < 3) await createKey(eve, `eve-during-${page}`);
      cursor = r.body.nextCursor as string | null;
      if (cursor === null) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
  });

  it("GET /v1/keys/expiring pages soonest first; an admin pages through everyone's", async () => {
    const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
    const soon = [];
    for (const d of [5, 2, 4, 3]) soon.push(await createKey(dora, `expiring-${d}`, inDays(d)));
    const mine = await all<{ keyId: string; expiresAt: string }>(dora, '/v1/keys/expiring', 'keys', '&days=10', 1);
    expect(mine.map((k) => k.keyId)).toEqual([soon[1], soon[3], soon[2], soon[0]].map((k) => k!.keyId));
    const theirs = await all<{ keyId: string }>(ADMIN, '/v1/keys/expiring', 'keys', '&days=10', 3);
    expect(theirs.map((k) => k.keyId)).toEqual(mine.map((k) => k.keyId));
    // A cursor is bound to its filter: another `days` is a foreign cursor.
    const first = await call('GET', '/v1/keys/expiring?days=10&limit=1', { auth: dora });
    const other = await call('GET', `/v1/keys/expiring?days=11&limit=1&cursor=${first.body.nextCursor}`, {
      auth: dora,
    });
    expect(other.status).toBe(400);
    expect(other.body.error.details[0].field).toBe('cursor');
  });

  it('GET /v1/key-counts pages by user id, every user once', async () => {
    const everything = await call('GET', '/v1/key-counts', { auth: ADMIN });
    expect(everything.status).toBe(200);
    expect(everything.body.nextCursor).toBeNull();
    const paged = await all<{ userId: string }>(ADMIN, '/v1/key-counts', 'counts', '', 2);
    expect(paged).toEqual(everything.body.counts);
    expect(paged.length).toBeGreaterThanOrEqual(8);
    expect(paged).toContainEqual({ userId: 'usr_extra3', name: 'extra3', active: 0 });
    expect((await call('GET', '/v1/key-counts?limit=1', { auth: dora })).status).toBe(403);
  });

  it.each([
    ['/v1/keys?limit=0', 'limit'],
    ['/v1/keys?limit=201', 'limit'],
    ['/v1/keys?limit=ten', 'limit'],
    ['/v1/keys?cursor=%7B%7D', 'cursor'],
    ['/v1/keys?cursor=eyJ2IjoxLCJzIjoiIiwiayI6WzFdfQ', 'cursor'],
    ['/v1/users/usr_dora/keys?limit=500', 'limit'],
    ['/v1/keys/expiring?limit=0', 'limit'],
    ['/v1/key-counts?cursor=x.y', 'cursor'],
  ])('%s is 400 validation-failed naming %s', async (path, field) => {
    const r = await call('GET', path, { auth: path.includes('key-counts') ? ADMIN : dora });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation-failed');
    expect(r.body.error.details[0].field).toBe(field);
  });

  it("a cursor of another caller or list is 400: eve cannot continue dora's listing", async () => {
    const doraPage = await call('GET', '/v1/keys?limit=1', { auth: dora });
    expect(doraPage.body.nextCursor).toEqual(expect.any(String));
    const stolen = await call('GET', `/v1/keys?limit=1&cursor=${doraPage.body.nextCursor}`, { auth: eve });
    expect(stolen.status).toBe(400);
    const admin = await call('GET', `/v1/users/usr_dora/keys?cursor=${doraPage.body.nextCursor}`, { auth: ADMIN });
    expect(admin.status).toBe(400);
    const countsCursor = (await call('GET', '/v1/key-counts?limit=1', { auth: ADMIN })).body.nextCursor;
    expect((await call('GET', `/v1/keys?cursor=${countsCursor}`, { auth: ADMIN })).status).toBe(400);
  });
});
