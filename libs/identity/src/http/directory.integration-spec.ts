import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADMIN_KEY, type IdentityTestApp, startIdentityApp } from '../testing/identity-app';

describe('identity directory API (real PostgreSQL, real access model and keys service)', () => {
  let app: IdentityTestApp;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let carol: { id: string; key: string };

  const createUser = async (name: string, extra: Record<string, unknown> = {}) => {
    const r = await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body: { name, kind: 'internal', ...extra } });
    expect(r.status).toBe(201);
    return r.body as { id: string; version: number };
  };
  const withKey = async (name: string) => {
    const user = await createUser(name);
    return { id: user.id, key: await app.managementKey(user.id) };
  };
  const eventsOf = (streamId: string) =>
    app.sql<{ type: string; metadata: Record<string, unknown>; data: Record<string, unknown> }>(
      `SELECT type, metadata, data FROM identity.events WHERE stream_id = $1 ORDER BY stream_version`,
      [streamId],
    );

  beforeAll(async () => {
    app = await startIdentityApp();
    alice = await withKey('alice');
    bob = await withKey('bob');
    carol = await withKey('carol');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers a path id that cannot exist with 404 in both writers, never a 400 hinting at the format', async () => {
    for (const id of ['a'.repeat(201), 'has%20space', 'semi;colon']) {
      for (const path of [`/v1/users/${id}`, `/v1/projects/${id}`, `/v1/deployments/${id}`, `/v1/keys/${id}`]) {
        const r = await app.call('GET', path, { auth: ADMIN_KEY });
        expect([path, r.status, r.body.error?.code]).toEqual([path, 404, 'not-found']);
      }
    }
  });

  describe('users', () => {
    it('the built-in admin exists from the first start (usr_admin, name admin)', async () => {
      const r = await app.call('GET', '/v1/users/usr_admin', { auth: ADMIN_KEY });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        id: 'usr_admin',
        name: 'admin',
        kind: 'internal',
        admin: true,
        deactivatedAt: null,
        version: 1,
      });
      expect(r.headers.get('etag')).toBe('"1"');
    });

    it('creates a user (201) with the contract fields, name stored exactly', async () => {
      const name = '  Ünïcødé  name with spaces 🚀 ';
      const r = await app.call('POST', '/v1/users', {
        auth: ADMIN_KEY,
        body: { name, kind: 'machine', email: 'ci@example.com' },
      });
      expect(r.status).toBe(201);
      expect(r.body).toEqual({
        id: expect.stringMatching(/^usr_/),
        name,
        kind: 'machine',
        admin: false,
        email: 'ci@example.com',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        deactivatedAt: null,
        version: 1,
      });
      const got = await app.call('GET', `/v1/users/${r.body.id}`, { auth: ADMIN_KEY });
      expect(got.body.name).toBe(name);
    });

    it('a taken name is 409 conflict; exactly one of concurrent creations wins', async () => {
      await createUser('dup-name');
      const again = await app.call('POST', '/v1/users', {
        auth: ADMIN_KEY,
        body: { name: 'dup-name', kind: 'internal' },
      });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('conflict');
      const race = await Promise.all(
        Array.from({ length: 8 }, () =>
          app.call('POST', '/v1/users', { auth: ADMIN_KEY, body: { name: 'raced-name', kind: 'internal' } }),
        ),
      );
      expect(race.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    });

    it.each([
      ['an empty name', { name: '', kind: 'internal' }, 'name'],
      ['201 characters', { name: 'x'.repeat(201), kind: 'internal' }, 'name'],
      ['an unknown kind', { name: 'k', kind: 'robot' }, 'kind'],
      ['an unknown field', { name: 'k', kind: 'internal', role: 'root' }, 'role'],
      ['a bad email', { name: 'k', kind: 'internal', email: 'not-an-email' }, 'email'],
    ])('refuses %s with 400 validation-failed naming the field', async (_what, body, field) => {
      const r = await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation-failed');
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    });

    it('200 characters exactly is fine', async () => {
      await createUser('é'.repeat(200));
    });

    it('only admins create users (403); no credential is 401 with WWW-Authenticate', async () => {
      const r = await app.call('POST', '/v1/users', { auth: alice.key, body: { name: 'by-alice', kind: 'internal' } });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
      const anonymous = await app.call('POST', '/v1/users', { body: { name: 'anon', kind: 'internal' } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error.code).toBe('unauthenticated');
      expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
    });

    it('Idempotency-Key: a repeat replays the first response; another body is 422', async () => {
      const headers = { 'idempotency-key': 'create-dora-1' };
      const first = await app.call('POST', '/v1/users', {
        auth: ADMIN_KEY,
        headers,
        body: { name: 'dora', kind: 'internal' },
      });
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const second = await app.call('POST', '/v1/users', {
        auth: ADMIN_KEY,
        headers,
        body: { name: 'dora', kind: 'internal' },
      });
      expect(second.status).toBe(201);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.body).toEqual(first.body);
      const other = await app.call('POST', '/v1/users', {
        auth: ADMIN_KEY,
        headers,
        body: { name: 'dora2', kind: 'internal' },
      });
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('idempotency-key-reused');
      expect((await app.sql(`SELECT 1 FROM identity.user_names WHERE name = 'dora2'`)).length).toBe(0);
    });

    it('a user sees themself; another user is 404, not 403', async () => {
      expect((await app.call('GET', `/v1/users/${alice.id}`, { auth: alice.key })).status).toBe(200);
      const r = await app.call('GET', `/v1/users/${alice.id}`, { auth: bob.key });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not-found');
      expect((await app.call('GET', '/v1/users/usr_doesnotexist00', { auth: ADMIN_KEY })).status).toBe(404);
    });

    it('DELETE deactivates (admin): 200 the user with deactivatedAt; a repeat changes nothing; event with actor and channel', async () => {
      const victim = await createUser('to-deactivate');
      expect((await app.call('DELETE', `/v1/users/${victim.id}`, { auth: alice.key })).status).toBe(404);
      const r = await app.call('DELETE', `/v1/users/${victim.id}`, { auth: ADMIN_KEY });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ id: victim.id, deactivatedAt: expect.any(String), version: 2 });
      const again = await app.call('DELETE', `/v1/users/${victim.id}`, { auth: ADMIN_KEY });
      expect(again.body).toEqual(r.body);
      const events = await eventsOf(`user-${victim.id}`);
      expect(events.map((e) => e.type)).toEqual(['UserCreated', 'UserDeactivated']);
      expect(events[1]!.metadata).toMatchObject({
        actor: 'usr_admin',
        channel: 'rest',
        correlationId: expect.any(String),
      });
      expect((await app.call('DELETE', '/v1/users/usr_admin', { auth: ADMIN_KEY })).status).toBe(403);
    });
  });

  describe('projects and collaborators', () => {
    let projectId: string;

    beforeAll(async () => {
      const r = await app.call('POST', '/v1/projects', { auth: alice.key, body: { name: 'fraud' } });
      expect(r.status).toBe(201);
      expect(r.body).toEqual({
        id: expect.stringMatching(/^prj_/),
        name: 'fraud',
        createdAt: expect.any(String),
        version: 1,
      });
      projectId = r.body.id;
    });

    it('the creator is the owner', async () => {
      const r = await app.call('GET', `/v1/projects/${projectId}/collaborators`, { auth: alice.key });
      expect(r.status).toBe(200);
      expect(r.body).toEqual([{ userId: alice.id, role: 'owner' }]);
    });

    it('the owner sets and removes collaborators; PUT is idempotent; GET lists them', async () => {
      const put = await app.call('PUT', `/v1/projects/${projectId}/collaborators/${bob.id}`, {
        auth: alice.key,
        body: { role: 'viewer' },
      });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ projectId, userId: bob.id, role: 'viewer', version: 2 });
      const same = await app.call('PUT', `/v1/projects/${projectId}/collaborators/${bob.id}`, {
        auth: alice.key,
        body: { role: 'viewer' },
      });
      expect(same.body.version).toBe(2);
      const list = await app.call('GET', `/v1/projects/${projectId}/collaborators`, { auth: bob.key });
      expect(list.body).toEqual([
        { userId: alice.id, role: 'owner' },
        { userId: bob.id, role: 'viewer' },
      ]);
      expect(list.headers.get('etag')).toBe('"2"');
    });

    it('a viewer may not manage (403); a stranger sees nothing (404)', async () => {
      const byViewer = await app.call('PUT', `/v1/projects/${projectId}/collaborators/${carol.id}`, {
        auth: bob.key,
        body: { role: 'owner' },
      });
      expect(byViewer.status).toBe(403);
      const byStranger = await app.call('GET', `/v1/projects/${projectId}/collaborators`, { auth: carol.key });
      expect(byStranger.status).toBe(404);
      expect(
        (
          await app.call('PUT', `/v1/projects/${projectId}/collaborators/${carol.id}`, {
            auth: carol.key,
            body: { role: 'owner' },
          })
        ).status,
      ).toBe(404);
    });

    it('a Tollgate admin manages any project', async () => {
      const r = await app.call('PUT', `/v1/projects/${projectId}/collaborators/${carol.id}`, {
        auth: ADMIN_KEY,
        body: { role: 'contributor' },
      });
      expect(r.status).toBe(200);
      const del = await app.call('DELETE', `/v1/projects/${projectId}/collaborators/${carol.id}`, { auth: ADMIN_KEY });
      expect(del.status).toBe(200);
      expect(del.body).toMatchObject({ removed: true });
    });

    it('a project admin manages roles but cannot make itself owner nor remove the owner (403)', async () => {
      const { body: project } = await app.call('POST', '/v1/projects', { auth: alice.key, body: { name: 'roles' } });
      const put = (auth: string, userId: string, role: string) =>
        app.call('PUT', `/v1/projects/${project.id}/collaborators/${userId}`, { auth, body: { role } });
      expect((await put(alice.key, carol.id, 'admin')).status).toBe(200);
      const selfPromotion = await put(carol.key, carol.id, 'owner');
      expect(selfPromotion.status).toBe(403);
      expect(selfPromotion.body.error.code).toBe('forbidden');
      expect((await put(carol.key, bob.id, 'owner')).status).toBe(403);
      expect((await put(carol.key, alice.id, 'viewer')).status).toBe(403);
      const removal = await app.call('DELETE', `/v1/projects/${project.id}/collaborators/${alice.id}`, {
        auth: carol.key,
      });
      expect(removal.status).toBe(403);
      // What a project admin may do, it still does; the owner and a Tollgate admin grant ownership.
      expect((await put(carol.key, bob.id, 'contributor')).status).toBe(200);
      expect((await put(alice.key, bob.id, 'owner')).status).toBe(200);
      expect((await put(ADMIN_KEY, carol.id, 'owner')).status).toBe(200);
      const list = await app.call('GET', `/v1/projects/${project.id}/collaborators`, { auth: alice.key });
      expect(list.body).toEqual([
        { userId: alice.id, role: 'owner' },
        { userId: carol.id, role: 'owner' },
        { userId: bob.id, role: 'owner' },
      ]);
    });

    it('a stale If-Match is 412 version-conflict', async () => {
      const r = await app.call('PUT', `/v1/projects/${projectId}/collaborators/${carol.id}`, {
        auth: alice.key,
        headers: { 'if-match': '"1"' },
        body: { role: 'viewer' },
      });
      expect(r.status).toBe(412);
      expect(r.body.error.code).toBe('version-conflict');
    });

    it('the last owner stays (409); an unknown user is 404; a bad role 400', async () => {
      expect(
        (await app.call('DELETE', `/v1/projects/${projectId}/collaborators/${alice.id}`, { auth: alice.key })).status,
      ).toBe(409);
      expect(
        (
          await app.call('PUT', `/v1/projects/${projectId}/collaborators/usr_nobody0000000000`, {
            auth: alice.key,
            body: { role: 'viewer' },
          })
        ).status,
      ).toBe(404);
      expect(
        (
          await app.call('PUT', `/v1/projects/${projectId}/collaborators/${carol.id}`, {
            auth: alice.key,
            body: { role: 'god' },
          })
        ).status,
      ).toBe(400);
    });

    it('an external user cannot create a project (403)', async () => {
      const ext = await createUser('external-eve', { kind: 'external' });
      const key = await app.managementKey(ext.id);
      const r = await app.call('POST', '/v1/projects', { auth: key, body: { name: 'nope' } });
      expect(r.status).toBe(403);
    });
  });

  describe('deployments', () => {
    let projectId: string;

    beforeAll(async () => {
      projectId = (await app.call('POST', '/v1/projects', { auth: alice.key, body: { name: 'models' } })).body.id;
      await app.call('PUT', `/v1/projects/${projectId}/collaborators/${bob.id}`, {
        auth: alice.key,
        body: { role: 'viewer' },
      });
    });

    it('creates with the defaults', async () => {
      const r = await app.call('POST', '/v1/deployments', { auth: alice.key, body: { projectId, name: 'plain' } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        id: expect.stringMatching(/^dep_/),
        projectId,
        name: 'plain',
        hosts: [],
        pathPrefixes: ['/'],
        authentication: true,
        credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
        grantedGroups: [],
        environment: null,
        version: 1,
      });
    });

    it('a host + path prefix pair belongs to one deployment (409), hosts compared case-insensitively', async () => {
      const first = await app.call('POST', '/v1/deployments', {
        auth: alice.key,
        body: { projectId, name: 'fraud-v1', hosts: ['Models.Example.com'], pathPrefixes: ['/v1/fraud/'] },
      });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ hosts: ['models.example.com'], pathPrefixes: ['/v1/fraud'] });
      const clash = await app.call('POST', '/v1/deployments', {
        auth: ADMIN_KEY,
        body: {
          projectId,
          name: 'fraud-v2',
          hosts: ['models.example.COM', 'other.example.com'],
          pathPrefixes: ['/v1/fraud'],
        },
      });
      expect(clash.status).toBe(409);
      expect(clash.body.error.code).toBe('conflict');
      // Nothing of the refused deployment stays reserved.
      const other = await app.call('POST', '/v1/deployments', {
        auth: alice.key,
        body: { projectId, name: 'other', hosts: ['other.example.com'], pathPrefixes: ['/v1/fraud'] },
      });
      expect(other.status).toBe(201);
      // Another prefix on the same host is fine.
      expect(
        (
          await app.call('POST', '/v1/deployments', {
            auth: alice.key,
            body: { projectId, name: 'v2', hosts: ['models.example.com'], pathPrefixes: ['/v1/fraudx'] },
          })
        ).status,
      ).toBe(201);
    });

    it('concurrent creations of one route: exactly one wins', async () => {
      const race = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          app.call('POST', '/v1/deployments', {
            auth: alice.key,
            body: { projectId, name: `race-${i}`, hosts: ['race.example.com'], pathPrefixes: ['/a'] },
          }),
        ),
      );
      expect(race.filter((r) => r.status === 201)).toHaveLength(1);
      expect(race.filter((r) => r.status === 409)).toHaveLength(5);
    });

    it('GET with ETag; PATCH any field but projectId; stale If-Match 412; a route moves with the deployment', async () => {
      const created = await app.call('POST', '/v1/deployments', {
        auth: alice.key,
        body: { projectId, name: 'patchme', hosts: ['patch.example.com'], pathPrefixes: ['/p'] },
      });
      const id = created.body.id;
      const got = await app.call('GET', `/v1/deployments/${id}`, { auth: bob.key });
      expect(got.status).toBe(200);
      expect(got.headers.get('etag')).toBe('"1"');
      const patched = await app.call('PATCH', `/v1/deployments/${id}`, {
        auth: alice.key,
        headers: { 'if-match': '"1"' },
        body: { grantedGroups: ['ml-readers'], pathPrefixes: ['/q'], credentialKinds: ['jwt'] },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        version: 2,
        grantedGroups: ['ml-readers'],
        pathPrefixes: ['/q'],
        credentialKinds: ['jwt'],
      });
      expect(patched.headers.get('etag')).toBe('"2"');
      const stale = await app.call('PATCH', `/v1/deployments/${id}`, {
        auth: alice.key,
        headers: { 'if-match': '"1"' },
        body: { name: 'x' },
      });
      expect(stale.status).toBe(412);
      expect(stale.body.error.code).toBe('version-conflict');
      const projectChange = await app.call('PATCH', `/v1/deployments/${id}`, {
        auth: alice.key,
        body: { projectId: 'prj_other' },
      });
      expect(projectChange.status).toBe(400);
      // The old route is free again, the new one is taken.
      expect(
        (
          await app.call('POST', '/v1/deployments', {
            auth: alice.key,
            body: { projectId, name: 'reuse', hosts: ['patch.example.com'], pathPrefixes: ['/p'] },
          })
        ).status,
      ).toBe(201);
      expect(
        (
          await app.call('POST', '/v1/deployments', {
            auth: alice.key,
            body: { projectId, name: 'clash', hosts: ['patch.example.com'], pathPrefixes: ['/q'] },
          })
        ).status,
      ).toBe(409);
      const events = await eventsOf(`deployment-${id}`);
      expect(events.map((e) => e.type)).toEqual(['DeploymentCreated', 'DeploymentUpdated']);
      expect(events[1]!.data).toMatchObject({ deploymentId: id, projectId, pathPrefixes: ['/q'] });
    });

    it('a viewer may read but not change (403); a stranger gets 404 for everything', async () => {
      const id = (await app.call('POST', '/v1/deployments', { auth: alice.key, body: { projectId, name: 'guarded' } }))
        .body.id;
      expect((await app.call('PATCH', `/v1/deployments/${id}`, { auth: bob.key, body: { name: 'mine' } })).status).toBe(
        403,
      );
      expect((await app.call('GET', `/v1/deployments/${id}`, { auth: carol.key })).status).toBe(404);
      expect(
        (await app.call('PATCH', `/v1/deployments/${id}`, { auth: carol.key, body: { name: 'mine' } })).status,
      ).toBe(404);
      expect(
        (await app.call('POST', '/v1/deployments', { auth: carol.key, body: { projectId, name: 'x' } })).status,
      ).toBe(404);
      expect(
        (await app.call('POST', '/v1/deployments', { auth: bob.key, body: { projectId, name: 'x' } })).status,
      ).toBe(403);
    });

    it.each([
      ['a host with a port', { hosts: ['a.example.com:8443'] }, 'hosts.0'],
      ['a host with a scheme', { hosts: ['https://a.example.com'] }, 'hosts.0'],
      ['a relative prefix', { pathPrefixes: ['v1'] }, 'pathPrefixes.0'],
      ['a dot segment', { pathPrefixes: ['/a/../b'] }, 'pathPrefixes.0'],
      ['a percent-encoded prefix (requests are matched decoded)', { pathPrefixes: ['/%70rivate'] }, 'pathPrefixes.0'],
      ['an encoded slash', { pathPrefixes: ['/v1/a%2Fb'] }, 'pathPrefixes.0'],
      ['repeated slashes', { pathPrefixes: ['/v1//a'] }, 'pathPrefixes.0'],
      ['a backslash', { pathPrefixes: ['/v1\\a'] }, 'pathPrefixes.0'],
      ['no prefix at all', { pathPrefixes: [] }, 'pathPrefixes'],
      ['an unknown credential kind', { credentialKinds: ['password'] }, 'credentialKinds.0'],
      ['authentication as a string', { authentication: 'yes' }, 'authentication'],
    ])('refuses %s (400)', async (_what, extra, field) => {
      const r = await app.call('POST', '/v1/deployments', {
        auth: alice.key,
        body: { projectId, name: 'bad', ...extra },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    });

    it('Idempotency-Key on create replays the deployment', async () => {
      const headers = { 'idempotency-key': 'dep-create-1' };
      const body = { projectId, name: 'idem', hosts: ['idem.example.com'] };
      const first = await app.call('POST', '/v1/deployments', { auth: alice.key, headers, body });
      const second = await app.call('POST', '/v1/deployments', { auth: alice.key, headers, body });
      expect(second.status).toBe(201);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.body).toEqual(first.body);
    });
  });

  describe('external-access policy', () => {
    it('defaults to -1; admins change it; others may read only', async () => {
      const initial = await app.call('GET', '/v1/external-access-policy', { auth: alice.key });
      expect(initial.status).toBe(200);
      expect(initial.body).toEqual({ requireExternalUserLoginAfterHours: -1, version: 0 });
      expect(
        (
          await app.call('PUT', '/v1/external-access-policy', {
            auth: alice.key,
            body: { requireExternalUserLoginAfterHours: 0 },
          })
        ).status,
      ).toBe(403);
      const put = await app.call('PUT', '/v1/external-access-policy', {
        auth: ADMIN_KEY,
        body: { requireExternalUserLoginAfterHours: 24 },
      });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ requireExternalUserLoginAfterHours: 24, version: 1 });
      expect(put.headers.get('etag')).toBe('"1"');
      const stale = await app.call('PUT', '/v1/external-access-policy', {
        auth: ADMIN_KEY,
        headers: { 'if-match': '"0"' },
        body: { requireExternalUserLoginAfterHours: 1 },
      });
      expect(stale.status).toBe(412);
      const events = await eventsOf('external-access-policy');
      expect(events).toEqual([
        {
          type: 'ExternalAccessPolicyChanged',
          data: { requireExternalUserLoginAfterHours: 24 },
          metadata: expect.objectContaining({ actor: 'usr_admin', channel: 'rest' }),
        },
      ]);
    });

    it.each([[-2], [87601], [1.5], ['24'], [null]])('refuses %j with 400', async (value) => {
      const r = await app.call('PUT', '/v1/external-access-policy', {
        auth: ADMIN_KEY,
        body: { requireExternalUserLoginAfterHours: value },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation-failed');
    });
  });

  describe('GET /v1/me', () => {
    it('who I am and the deployments I may invoke now (collaborator roles that invoke; not viewer; not admin by itself)', async () => {
      const project = (await app.call('POST', '/v1/projects', { auth: alice.key, body: { name: 'me-project' } })).body
        .id;
      await app.call('PUT', `/v1/projects/${project}/collaborators/${bob.id}`, {
        auth: alice.key,
        body: { role: 'viewer' },
      });
      const dep = (
        await app.call('POST', '/v1/deployments', { auth: alice.key, body: { projectId: project, name: 'me-dep' } })
      ).body;
      const me = await app.call('GET', '/v1/me', { auth: alice.key });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: alice.id, name: 'alice', kind: 'internal', admin: false, groups: [] });
      // The access model follows the log: the new deployment shows within the staleness bound.
      const { eventually } = await import('../../../../test/support');
      await eventually(async () => {
        const r = await app.call('GET', '/v1/me', { auth: alice.key });
        expect(r.body.deployments).toContainEqual({
          id: dep.id,
          name: 'me-dep',
          projectId: project,
          hosts: [],
          pathPrefixes: ['/'],
        });
      });
      const bobs = await app.call('GET', '/v1/me', { auth: bob.key });
      expect(bobs.body.deployments).not.toContainEqual(expect.objectContaining({ id: dep.id }));
      const admins = await app.call('GET', '/v1/me', { auth: ADMIN_KEY });
      expect(admins.body).toMatchObject({ id: 'usr_admin', admin: true });
      expect(admins.body.deployments).not.toContainEqual(expect.objectContaining({ id: dep.id }));
    });
  });

  describe('OpenAPI', () => {
    it('documents the identity routes with tags and examples', async () => {
      const r = await app.call('GET', '/docs-json');
      expect(r.status).toBe(200);
      const paths = r.body.paths as Record<string, Record<string, { tags?: string[]; requestBody?: unknown }>>;
      expect(paths['/v1/users']!.post!.tags).toEqual(['users']);
      expect(paths['/v1/deployments/{deploymentId}']!.patch!.tags).toEqual(['deployments']);
      expect(paths['/v1/idp/{idp}/sign-in']!.post!.tags).toEqual(['idp']);
      expect(paths['/v1/me']!.get!.tags).toEqual(['me']);
      expect(JSON.stringify(paths['/v1/users']!.post!.requestBody)).toContain('ci-bot');
      expect(paths['/scim/v2/Users']!.post!.tags).toEqual(['scim']);
      expect(paths['/scim/v2/Groups/{id}']!.patch!.tags).toEqual(['scim']);
    });
  });
});
