import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADMIN_KEY, type IdentityTestApp, startIdentityApp } from '../testing/identity-app';

/**
 * The directory's list endpoints: cursor pagination (every item exactly once across pages, also while
 * items are created), filters, and visibility (another team's objects are never listed, whatever the
 * filter or cursor).
 */
describe('identity list endpoints (real PostgreSQL)', () => {
  let app: IdentityTestApp;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let carol: { id: string; key: string };
  const prefix = `ls${Date.now().toString(36)}`;

  const createUser = async (name: string, extra: Record<string, unknown> = {}) => {
    const r = await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body: { name, kind: 'internal', ...extra } });
    expect(r.status).toBe(201);
    return r.body as { id: string; name: string };
  };
  const withKey = async (name: string) => {
    const user = await createUser(name);
    return { id: user.id, key: await app.managementKey(user.id) };
  };
  const createProject = async (auth: string, name: string) => {
    const r = await app.call('POST', '/v1/projects', { auth, body: { name } });
    expect(r.status).toBe(201);
    return r.body as { id: string; name: string };
  };
  const createDeployment = async (auth: string, body: Record<string, unknown>) => {
    const r = await app.call('POST', '/v1/deployments', { auth, body });
    expect(r.status).toBe(201);
    return r.body as { id: string; name: string; projectId: string };
  };

  /** Every page of `path` (with `query`), following `nextCursor`; the pages' items in order. */
  const all = async <T>(auth: string, path: string, field: string, query = '', limit = 2): Promise<T[]> => {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 500; pages++) {
      const cursorPart: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const r = await app.call('GET', `${path}?limit=${limit}${query}${cursorPart}`, { auth });
      expect(r.status).toBe(200);
      expect(r.body[field].length).toBeLessThanOrEqual(limit);
      items.push(...(r.body[field] as T[]));
      cursor = r.body.nextCursor as string | null;
      if (cursor === null) return items;
    }
    throw new Error('too many pages');
  };

  beforeAll(async () => {
    app = await startIdentityApp();
    alice = await withKey(`${prefix}-alice`);
    bob = await withKey(`${prefix}-bob`);
    carol = await withKey(`${prefix}-carol`);
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('GET /v1/users', () => {
    it('lists every user exactly once across pages, in creation order, each as GET /v1/users/{id}', async () => {
      for (let i = 0; i < 5; i++) await createUser(`${prefix}-page-${i}`, { email: `page${i}@example.com` });
      const users = await all<{ id: string; name: string; createdAt: string }>(ADMIN_KEY, '/v1/users', 'users');
      const ids = users.map((u) => u.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids[0]).toBe('usr_admin');
      const created = users.filter((u) => u.name.startsWith(`${prefix}-page-`)).map((u) => u.name);
      expect(created).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-page-${i}`));
      const createdAts = users.map((u) => u.createdAt);
      expect([...createdAts].sort()).toEqual(createdAts);
      const one = users.find((u) => u.name === `${prefix}-page-3`)!;
      const got = await app.call('GET', `/v1/users/${one.id}`, { auth: ADMIN_KEY });
      expect(one).toEqual(got.body);
      // The default page is 50, with nextCursor null when everything fits.
      const first = await app.call('GET', '/v1/users', { auth: ADMIN_KEY });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ users: expect.any(Array), nextCursor: null });
      expect(first.body.users.map((u: { id: string }) => u.id)).toEqual(ids);
    });

    it('pages stay exact while users are created concurrently: each existing user once, no duplicates', async () => {
      const before = (await all<{ id: string }>(ADMIN_KEY, '/v1/users', 'users', '', 200)).map((u) => u.id);
      const creating = Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          app.call('POST', '/v1/users', { auth: ADMIN_KEY, body: { name: `${prefix}-race-${i}`, kind: 'machine' } }),
        ),
      );
      const during = (await all<{ id: string }>(ADMIN_KEY, '/v1/users', 'users', '', 3)).map((u) => u.id);
      expect((await creating).every((r) => r.status === 201)).toBe(true);
      expect(new Set(during).size).toBe(during.length);
      for (const id of before) expect(during).toContain(id);
      const after = (await all<{ id: string }>(ADMIN_KEY, '/v1/users', 'users', '', 7)).map((u) => u.id);
      expect(after.length).toBe(before.length + 12);
      expect(new Set(after).size).toBe(after.length);
    });

    it('filters by a case-insensitive substring of the name or email, and by kind', async () => {
      const m = await createUser(`${prefix}-Filter-Machine`, { kind: 'machine', email: 'Robot@Example.com' });
      const i = await createUser(`${prefix}-filter-internal`, { email: 'human@example.com' });
      const byName = await all<{ id: string }>(ADMIN_KEY, '/v1/users', 'users', `&q=${prefix}-FILTER`);
      expect(byName.map((u) => u.id)).toEqual([m.id, i.id]);
      const byEmail = await all<{ id: string }>(ADMIN_KEY, '/v1/users', 'users', '&q=robot%40example');
      expect(byEmail.map((u) => u.id)).toEqual([m.id]);
      const machines = await all<{ id: string; kind: string }>(
        ADMIN_KEY,
        '/v1/users',
        'users',
        `&kind=machine&q=${prefix}-filter`,
      );
      expect(machines.map((u) => u.id)).toEqual([m.id]);
      // LIKE wildcards are plain characters here.
      const wildcard = await app.call('GET', '/v1/users?q=%25', { auth: ADMIN_KEY });
      expect(wildcard.body.users).toEqual([]);
    });

    it('filters by admin and by status (deactivated now; a reactivated user is active again), with q and kind', async () => {
      const admin = await createUser(`${prefix}-flag-admin`, { admin: true });
      const plain = await createUser(`${prefix}-flag-plain`);
      const gone = await createUser(`${prefix}-flag-gone`);
      const back = await createUser(`${prefix}-flag-back`, { kind: 'machine' });
      for (const u of [gone, back])
        expect((await app.call('DELETE', `/v1/users/${u.id}`, { auth: ADMIN_KEY })).status).toBe(200);
      // A reactivation as SCIM's `active: true` appends it (the event store's own columns fill the rest).
      await app.sql(
        `INSERT INTO identity.events (event_id, stream_id, stream_version, type, data, metadata)
         SELECT $2, stream_id, max(stream_version) + 1, 'UserReactivated', $3::jsonb, '{"actor":"system","channel":"scim"}'
         FROM identity.events WHERE stream_id = $1 GROUP BY stream_id`,
        [
          `user-${back.id}`,
          `evt_reactivate${Date.now()}`,
          JSON.stringify({ userId: back.id, reactivatedAt: new Date().toISOString() }),
        ],
      );
      const ids = async (query: string) =>
        (await all<{ id: string }>(ADMIN_KEY, '/v1/users', 'users', `&q=${prefix}-flag${query}`)).map((u) => u.id);
      expect(await ids('&admin=true')).toEqual([admin.id]);
      expect(await ids('&admin=false')).toEqual([plain.id, gone.id, back.id]);
      expect(await ids('&status=deactivated')).toEqual([gone.id]);
      expect(await ids('&status=active')).toEqual([admin.id, plain.id, back.id]);
      expect(await ids('&status=deactivated&kind=internal&admin=false')).toEqual([gone.id]);
    });

    it('is for Tollgate admins only (403 for anyone else)', async () => {
      const r = await app.call('GET', '/v1/users', { auth: alice.key });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
      expect((await app.call('GET', '/v1/users')).status).toBe(401);
    });

    it.each([
      ['limit=0', 'limit=0', 'limit'],
      ['limit=201', 'limit=201', 'limit'],
      ['limit=abc', 'limit=abc', 'limit'],
      ['limit=-1', 'limit=-1', 'limit'],
      ['limit=1.5', 'limit=1.5', 'limit'],
      ['kind=robot', 'kind=robot', 'kind'],
      ['admin=yes', 'admin=yes', 'admin'],
      ['admin=TRUE', 'admin=TRUE', 'admin'],
      ['status=gone', 'status=gone', 'status'],
      ['unknown=1', 'unknown=1', 'unknown'],
      ['cursor=not%20a%20cursor', 'cursor=not%20a%20cursor', 'cursor'],
      ['cursor=eyJ2IjoxfQ', 'cursor=eyJ2IjoxfQ', 'cursor'],
      ['a 2,000-character cursor', `cursor=${'A'.repeat(2000)}`, 'cursor'],
      ['q=a&q=b', 'q=a&q=b', 'q'],
      ['q=%00', 'q=%00', 'q'],
    ])('%s is 400 validation-failed naming the field', async (_label, query, field) => {
      const r = await app.call('GET', `/v1/users?${query}`, { auth: ADMIN_KEY });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation-failed');
      expect(JSON.stringify(r.body.error.details)).toContain(field);
      expect(r.text).not.toMatch(/at .*\.ts:\d+/);
    });

    it("a cursor of another list, caller or filter is 400; a forged position inside one's own scope is harmless", async () => {
      const page = await app.call('GET', `/v1/users?limit=1&q=${prefix}`, { auth: ADMIN_KEY });
      const cursor = page.body.nextCursor as string;
      expect(cursor).toEqual(expect.any(String));
      const otherFilter = await app.call('GET', `/v1/users?limit=1&q=${prefix}-x&cursor=${cursor}`, {
        auth: ADMIN_KEY,
      });
      expect(otherFilter.status).toBe(400);
      const otherList = await app.call('GET', `/v1/projects?cursor=${cursor}`, { auth: ADMIN_KEY });
      expect(otherList.status).toBe(400);
      expect(otherList.body.error.details[0].field).toBe('cursor');
      const next = await app.call('GET', `/v1/users?limit=1&q=${prefix}&cursor=${cursor}`, { auth: ADMIN_KEY });
      expect(next.status).toBe(200);
      expect(next.body.users[0].id).not.toBe(page.body.users[0].id);
    });
  });

  describe('GET /v1/projects and GET /v1/deployments', () => {
    let aliceProjects: { id: string; name: string }[];
    let bobProject: { id: string };
    let carolProject: { id: string };
    let aliceDeployments: { id: string; projectId: string }[];
    let carolDeployment: { id: string };

    beforeAll(async () => {
      aliceProjects = [];
      for (let i = 0; i < 3; i++) aliceProjects.push(await createProject(alice.key, `${prefix}-alice-proj-${i}`));
      bobProject = await createProject(bob.key, `${prefix}-bob-proj`);
      carolProject = await createProject(carol.key, `${prefix}-carol-proj`);
      const shared = await app.call('PUT', `/v1/projects/${bobProject.id}/collaborators/${alice.id}`, {
        auth: bob.key,
        body: { role: 'viewer' },
      });
      expect(shared.status).toBe(200);
      aliceDeployments = [];
      for (let i = 0; i < 3; i++) {
        aliceDeployments.push(
          await createDeployment(alice.key, {
            projectId: aliceProjects[i % 2]!.id,
            name: `${prefix}-alice-dep-${i}`,
            hosts: [`${prefix}-a${i}.models.example.com`],
          }),
        );
      }
      carolDeployment = await createDeployment(carol.key, {
        projectId: carolProject.id,
        name: `${prefix}-carol-dep`,
        hosts: [`${prefix}-carol.models.example.com`],
      });
    });

    it('a user sees the projects they collaborate on, with their role, and never another team’s', async () => {
      const mine = await all<{ id: string; role: string; name: string }>(alice.key, '/v1/projects', 'projects');
      expect(mine.map((p) => p.id)).toEqual([...aliceProjects.map((p) => p.id), bobProject.id]);
      expect(mine.map((p) => p.role)).toEqual(['owner', 'owner', 'owner', 'viewer']);
      const got = await app.call('GET', `/v1/projects/${aliceProjects[0]!.id}`, { auth: alice.key });
      expect(mine[0]).toEqual({ ...got.body, role: 'owner' });
      const carols = await all<{ id: string }>(carol.key, '/v1/projects', 'projects', '', 200);
      expect(carols.map((p) => p.id)).toEqual([carolProject.id]);
      // A filter naming another team's project finds nothing.
      const probe = await all<{ id: string }>(carol.key, '/v1/projects', 'projects', `&q=${prefix}-alice`);
      expect(probe).toEqual([]);
    });

    it('an admin sees every project, with role null where they do not collaborate', async () => {
      const every = await all<{ id: string; role: string | null }>(
        ADMIN_KEY,
        '/v1/projects',
        'projects',
        `&q=${prefix}`,
      );
      expect(every.map((p) => p.id)).toEqual([...aliceProjects.map((p) => p.id), bobProject.id, carolProject.id]);
      expect(every.every((p) => p.role === null)).toBe(true);
    });

    it('filters projects by a case-insensitive substring of the name', async () => {
      const r = await all<{ id: string }>(
        alice.key,
        '/v1/projects',
        'projects',
        `&q=${prefix.toUpperCase()}-ALICE-PROJ-1`,
      );
      expect(r.map((p) => p.id)).toEqual([aliceProjects[1]!.id]);
    });

    it('a removed collaborator no longer lists the project, also on a page of a cursor made before', async () => {
      const dave = await withKey(`${prefix}-dave`);
      const project = await createProject(bob.key, `${prefix}-dave-shared`);
      const later = await createProject(bob.key, `${prefix}-dave-shared-later`);
      for (const p of [project, later]) {
        const r = await app.call('PUT', `/v1/projects/${p.id}/collaborators/${dave.id}`, {
          auth: bob.key,
          body: { role: 'contributor' },
        });
        expect(r.status).toBe(200);
      }
      const first = await app.call('GET', '/v1/projects?limit=1', { auth: dave.key });
      expect(first.body.projects.map((p: { id: string }) => p.id)).toEqual([project.id]);
      const removed = await app.call('DELETE', `/v1/projects/${later.id}/collaborators/${dave.id}`, { auth: bob.key });
      expect(removed.status).toBe(200);
      const second = await app.call('GET', `/v1/projects?limit=1&cursor=${first.body.nextCursor}`, { auth: dave.key });
      expect(second.status).toBe(200);
      expect(second.body).toEqual({ projects: [], nextCursor: null });
    });

    it("a cursor is bound to its caller: another user's cursor is 400", async () => {
      const page = await app.call('GET', '/v1/projects?limit=1', { auth: alice.key });
      expect(page.body.nextCursor).toEqual(expect.any(String));
      const stolen = await app.call('GET', `/v1/projects?limit=1&cursor=${page.body.nextCursor}`, { auth: carol.key });
      expect(stolen.status).toBe(400);
      expect(stolen.body.error.code).toBe('validation-failed');
    });

    it("lists deployments of my projects (each as GET /v1/deployments/{id}), never another team's", async () => {
      const mine = await all<{ id: string }>(alice.key, '/v1/deployments', 'deployments');
      expect(mine.map((d) => d.id)).toEqual(aliceDeployments.map((d) => d.id));
      const got = await app.call('GET', `/v1/deployments/${aliceDeployments[1]!.id}`, { auth: alice.key });
      expect(mine[1]).toEqual(got.body);
      const carols = await all<{ id: string }>(carol.key, '/v1/deployments', 'deployments');
      expect(carols.map((d) => d.id)).toEqual([carolDeployment.id]);
      // Another team's project as a filter: nothing, not even that it exists.
      const probe = await app.call('GET', `/v1/deployments?projectId=${aliceProjects[0]!.id}`, { auth: carol.key });
      expect(probe.status).toBe(200);
      expect(probe.body).toEqual({ deployments: [], nextCursor: null });
      const byHost = await all<{ id: string }>(carol.key, '/v1/deployments', 'deployments', `&q=${prefix}-a1.models`);
      expect(byHost).toEqual([]);
    });

    it('filters deployments by project and by a substring of the current name or a host; an admin sees all', async () => {
      const ofProject = await all<{ id: string }>(
        alice.key,
        '/v1/deployments',
        'deployments',
        `&projectId=${aliceProjects[0]!.id}`,
      );
      expect(ofProject.map((d) => d.id)).toEqual([aliceDeployments[0]!.id, aliceDeployments[2]!.id]);
      const byHost = await all<{ id: string }>(alice.key, '/v1/deployments', 'deployments', `&q=${prefix}-A1.MODELS`);
      expect(byHost.map((d) => d.id)).toEqual([aliceDeployments[1]!.id]);
      const renamed = await app.call('PATCH', `/v1/deployments/${aliceDeployments[2]!.id}`, {
        auth: alice.key,
        body: { name: `${prefix}-renamed` },
      });
      expect(renamed.status).toBe(200);
      const byName = await all<{ id: string }>(alice.key, '/v1/deployments', 'deployments', `&q=${prefix}-RENAMED`);
      expect(byName.map((d) => d.id)).toEqual([aliceDeployments[2]!.id]);
      const every = await all<{ id: string }>(ADMIN_KEY, '/v1/deployments', 'deployments', `&q=${prefix}`);
      expect(every.map((d) => d.id)).toEqual([...aliceDeployments.map((d) => d.id), carolDeployment.id]);
    });
  });

  it('documents the list routes: tags, filters, limit and cursor, the page shape with an example', async () => {
    const doc = (await app.call('GET', '/docs-json')).body;
    for (const [path, tag, field, filters] of [
      ['/v1/users', 'users', 'users', ['q', 'kind', 'admin', 'status']],
      ['/v1/projects', 'projects', 'projects', ['q']],
      ['/v1/deployments', 'deployments', 'deployments', ['projectId', 'q']],
    ] as const) {
      const op = doc.paths[path].get;
      expect(op.tags).toEqual([tag]);
      expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual([...filters, 'cursor', 'limit'].sort());
      const schema = op.responses['200'].content['application/json'].schema;
      expect(Object.keys(schema.properties).sort()).toEqual([field, 'nextCursor'].sort());
      expect(schema.example[field]).toHaveLength(1);
    }
  });
});
