import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADMIN_KEY, connector, type IdentityTestApp, startIdentityApp } from './testing/identity-app';

const SCIM_TOKEN = 'scim-token-for-the-events-of-a-write-test-0001';

/**
 * CONTRACT.md section 3, "Events of a write": every 2xx write answer names the events it committed in
 * `Tollgate-Event-Id` (keys, identity and SCIM alike), a replay names the same ones, and every event that
 * can take access away is confirmable at `GET /v1/revocations/{eventId}`; one that cannot is not.
 */
describe('Tollgate-Event-Id and confirmation of access-reducing events (identity, keys, authz in one app)', () => {
  let app: IdentityTestApp;
  let projectId: string;
  let deploymentId: string;
  let bob: string;

  const idsOf = (r: { headers: Headers }) => r.headers.get('tollgate-event-id')?.split(',') ?? [];
  const eventIdsOfStream = async (streamId: string) =>
    (
      await app.sql<{ event_id: string }>(
        `SELECT event_id FROM identity.events WHERE stream_id = $1 ORDER BY stream_version`,
        [streamId],
      )
    ).map((r) => r.event_id);
  /** The confirmation of an event id: 200 once applied here; 404 for an event that reduces nothing. */
  const confirmation = (eventId: string) => app.call('GET', `/v1/revocations/${eventId}`, { auth: ADMIN_KEY });
  const expectConfirmable = async (eventId: string) => {
    const r = await confirmation(eventId);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ eventId, appliedByAll: true });
  };

  beforeAll(async () => {
    app = await startIdentityApp({
      authz: true,
      configure: (config) => ({ ...config, idpConnectors: [connector('corp', { scimToken: SCIM_TOKEN })] }),
    });
    bob = (await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body: { name: 'bob', kind: 'internal' } })).body.id;
    projectId = (await app.call('POST', '/v1/projects', { auth: ADMIN_KEY, body: { name: 'events' } })).body.id;
    deploymentId = (
      await app.call('POST', '/v1/deployments', {
        auth: ADMIN_KEY,
        body: { projectId, name: 'm', hosts: ['events.example.com'], grantedGroups: ['ml', 'ops'] },
      })
    ).body.id;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('a creation names its event; its Idempotency-Key replay names the same; reads and refusals name none', async () => {
    const body = { name: 'carol', kind: 'internal' };
    const headers = { 'Idempotency-Key': 'carol-1' };
    const created = await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body, headers });
    expect(created.status).toBe(201);
    expect(idsOf(created)).toEqual(await eventIdsOfStream(`user-${created.body.id}`));
    expect(idsOf(created)).toHaveLength(1);
    const replay = await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body, headers });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(idsOf(replay)).toEqual(idsOf(created));
    const read = await app.call('GET', `/v1/users/${created.body.id}`, { auth: ADMIN_KEY });
    expect(read.headers.get('tollgate-event-id')).toBeNull();
    const refused = await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body: { name: 'x' } });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('tollgate-event-id')).toBeNull();
  });

  it('keys: a rotation names the new key and the revocation of the old one, and its replay the same two', async () => {
    const path = `/v1/deployments/${deploymentId}/access-keys/primary`;
    await app.call('POST', path, { auth: ADMIN_KEY });
    const headers = { 'Idempotency-Key': 'rotate-1' };
    const rotated = await app.call('POST', path, { auth: ADMIN_KEY, headers });
    expect(rotated.status).toBe(201);
    expect(idsOf(rotated)).toHaveLength(2);
    expect(idsOf(rotated)[1]).toBe(rotated.body.eventId);
    const replay = await app.call('POST', path, { auth: ADMIN_KEY, headers });
    expect(replay.body).toMatchObject({ keyId: rotated.body.keyId, accessKey: null, eventId: rotated.body.eventId });
    expect(idsOf(replay)).toEqual(idsOf(rotated));
    await expectConfirmable(rotated.body.eventId);
  });

  it('a demotion and a removal are confirmable; a promotion is not (404)', async () => {
    const put = (role: string) =>
      app.call('PUT', `/v1/projects/${projectId}/collaborators/${bob}`, { auth: ADMIN_KEY, body: { role } });
    const promoted = await put('admin');
    expect(idsOf(promoted)).toHaveLength(1);
    const demoted = await put('viewer');
    await expectConfirmable(idsOf(demoted)[0]!);
    expect((await confirmation(idsOf(promoted)[0]!)).status).toBe(404);
    const removed = await app.call('DELETE', `/v1/projects/${projectId}/collaborators/${bob}`, { auth: ADMIN_KEY });
    expect(removed.status).toBe(200);
    await expectConfirmable(idsOf(removed)[0]!);
  });

  it("a deployment's granted groups narrowed, the external-access policy tightened and a deactivation are confirmable", async () => {
    const narrowed = await app.call('PATCH', `/v1/deployments/${deploymentId}`, {
      auth: ADMIN_KEY,
      body: { grantedGroups: ['ml'] },
    });
    expect(narrowed.status).toBe(200);
    await expectConfirmable(idsOf(narrowed)[0]!);
    const renamed = await app.call('PATCH', `/v1/deployments/${deploymentId}`, {
      auth: ADMIN_KEY,
      body: { name: 'renamed' },
    });
    expect((await confirmation(idsOf(renamed)[0]!)).status).toBe(404);
    const tightened = await app.call('PUT', '/v1/external-access-policy', {
      auth: ADMIN_KEY,
      body: { requireExternalUserLoginAfterHours: 12 },
    });
    expect(tightened.status).toBe(200);
    await expectConfirmable(idsOf(tightened)[0]!);
    const deactivated = await app.call('DELETE', `/v1/users/${bob}`, { auth: ADMIN_KEY });
    expect(deactivated.status).toBe(200);
    expect(idsOf(deactivated).length).toBeGreaterThan(0);
    await expectConfirmable(idsOf(deactivated)[0]!);
  });

  it('SCIM: groups shrunk by a SCIM change are confirmable, through the same header', async () => {
    const scim = (method: string, path: string, body?: unknown) =>
      app.call(method, `/scim/v2${path}`, {
        auth: SCIM_TOKEN,
        body,
        headers: { 'content-type': 'application/scim+json' },
      });
    const user = await scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'dora@corp.example',
      externalId: 'dora-sub',
      active: true,
    });
    expect(user.status).toBe(201);
    const group = await scim('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'ml',
      members: [{ value: user.body.id }],
    });
    expect(group.status).toBe(201);
    expect(idsOf(group).length).toBeGreaterThan(0);
    const removed = await scim('PATCH', `/Groups/${group.body.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'remove', path: `members[value eq "${user.body.id}"]` }],
    });
    expect(removed.status).toBeLessThan(300);
    expect(idsOf(removed)).toHaveLength(1);
    await expectConfirmable(idsOf(removed)[0]!);
  });
});
