import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '../../../../../test/support';
import { ADMIN_KEY, connector, type IdentityTestApp, startIdentityApp } from '../../testing/identity-app';
import { entra, okta } from './fixtures';

const ENTRA = 'entra-scim-bearer-token-0123456789abcdef';
const OKTA = 'okta-scim-bearer-token-0123456789abcdef';
const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('SCIM 2.0 at /scim/v2 (Entra ID and Okta requests from their documentation)', () => {
  let app: IdentityTestApp;

  const scim = (method: string, path: string, token: string | undefined, body?: unknown) =>
    app.call(method, `/scim/v2${path}`, {
      auth: token,
      ...(body === undefined
        ? {}
        : {
            raw: typeof body === 'string' ? body : JSON.stringify(body),
            headers: { 'content-type': 'application/scim+json' },
          }),
    });
  const eventCount = async () => Number((await app.sql(`SELECT count(*)::int AS n FROM identity.events`))[0].n);
  const lastUserEvent = async (userId: string) =>
    (
      await app.sql(
        `SELECT type, data, metadata FROM identity.events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1`,
        [`user-${userId}`],
      )
    )[0];
  const expectScimError = (
    r: { status: number; body: Record<string, unknown>; headers: Headers },
    status: number,
    scimType?: string,
  ) => {
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toContain('application/scim+json');
    expect(r.body).toMatchObject({
      schemas: [ERROR_SCHEMA],
      status: String(status),
      ...(scimType ? { scimType } : {}),
    });
    expect(typeof r.body.detail).toBe('string');
  };

  beforeAll(async () => {
    app = await startIdentityApp({
      configure: (config) => ({
        ...config,
        idpConnectors: [connector('entra', { scimToken: ENTRA }), connector('okta', { scimToken: OKTA })],
      }),
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('authentication and discovery', () => {
    it('refuses a missing or unknown bearer token with a SCIM 401', async () => {
      expectScimError(await scim('GET', '/Users', undefined), 401);
      const wrong = await scim('GET', '/Users', 'not-the-token');
      expectScimError(wrong, 401);
      expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
      expectScimError(await app.call('GET', '/scim/v2/Users', { auth: ADMIN_KEY }), 401);
    });

    it('serves ServiceProviderConfig, ResourceTypes and Schemas', async () => {
      const config = await scim('GET', '/ServiceProviderConfig', ENTRA);
      expect(config.status).toBe(200);
      expect(config.headers.get('content-type')).toContain('application/scim+json');
      expect(config.body).toMatchObject({
        patch: { supported: true },
        filter: { supported: true },
        bulk: { supported: true, maxOperations: 100, maxPayloadSize: 1048576 },
        sort: { supported: true },
        etag: { supported: true },
        // This instance's OpenAPI UI (the SCIM operations are under its scim tag), not a placeholder.
        documentationUri: `${app.url}/docs#/scim`,
      });
      const types = await scim('GET', '/ResourceTypes', ENTRA);
      expect(types.body.Resources.map((t: { id: string }) => t.id)).toEqual(['User', 'Group']);
      const schemas = await scim('GET', '/Schemas', ENTRA);
      expect(schemas.body.Resources.map((s: { id: string }) => s.id)).toEqual([
        USER_SCHEMA,
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
        GROUP_SCHEMA,
      ]);
      expect((await scim('GET', `/Schemas/${USER_SCHEMA}`, ENTRA)).body.name).toBe('User');
    });
  });

  describe('users, as Microsoft Entra ID provisions them', () => {
    let id: string;

    it('query by userName finds nothing: 200 with totalResults 0', async () => {
      const r = await scim('GET', `/Users?filter=${encodeURIComponent(entra.getUserByQuery)}`, ENTRA);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
        totalResults: 0,
        startIndex: 1,
        itemsPerPage: 0,
        Resources: [],
      });
    });

    it('creates the user: 201, the Tollgate external user linked to (connector, externalId)', async () => {
      const r = await scim('POST', '/Users', ENTRA, entra.createUser);
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        id: expect.stringMatching(/^usr_/),
        externalId: entra.createUser.externalId,
        userName: entra.createUser.userName,
        active: true,
        emails: entra.createUser.emails,
        name: entra.createUser.name,
        meta: { resourceType: 'User', location: expect.stringContaining(`/scim/v2/Users/`) },
      });
      id = r.body.id;
      expect(r.headers.get('location')).toBe(r.body.meta.location);
      const user = await app.call('GET', `/v1/users/${id}`, { auth: ADMIN_KEY });
      expect(user.body).toMatchObject({
        name: `entra:${entra.createUser.externalId}`,
        kind: 'external',
        idp: 'entra',
        externalSubject: entra.createUser.externalId,
        email: entra.createUser.emails[0]!.value,
      });
      expect((await lastUserEvent(id)).metadata).toMatchObject({ actor: 'idp:entra', channel: 'scim' });
    });

    it('query by userName (case-insensitive) and by externalId find it; the other connector sees nothing', async () => {
      const upper = await scim(
        'GET',
        `/Users?filter=${encodeURIComponent(entra.getUserByQuery.toUpperCase().replace('USERNAME EQ', 'userName eq'))}`,
        ENTRA,
      );
      expect(upper.body.totalResults).toBe(1);
      expect(upper.body.Resources[0].id).toBe(id);
      const byExternalId = await scim(
        'GET',
        `/Users?filter=${encodeURIComponent(`externalId eq "${entra.createUser.externalId}"`)}`,
        ENTRA,
      );
      expect(byExternalId.body.totalResults).toBe(1);
      expect(
        (await scim('GET', `/Users?filter=${encodeURIComponent(entra.getUserByQuery)}`, OKTA)).body.totalResults,
      ).toBe(0);
      expectScimError(await scim('GET', `/Users/${id}`, OKTA), 404);
    });

    it('a second create with the same userName or externalId is 409 uniqueness', async () => {
      expectScimError(await scim('POST', '/Users', ENTRA, entra.createUser), 409, 'uniqueness');
      expectScimError(
        await scim('POST', '/Users', ENTRA, { ...entra.createUser, externalId: 'another-subject' }),
        409,
        'uniqueness',
      );
    });

    it('PATCH [multi-valued properties] with capitalised Replace', async () => {
      const r = await scim('PATCH', `/Users/${id}`, ENTRA, entra.updateUserMultiValued);
      expect(r.status).toBe(200);
      expect(r.body.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
      expect(r.body.name.familyName).toBe('updatedFamilyName');
      expect((await scim('GET', `/Users/${id}`, ENTRA)).body.emails[0].value).toBe('updatedEmail@microsoft.com');
    });

    it('PATCH [single-valued]: a new userName is found by the filter', async () => {
      await scim('PATCH', `/Users/${id}`, ENTRA, entra.updateUserSingleValued);
      const r = await scim(
        'GET',
        `/Users?filter=${encodeURIComponent('userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"')}`,
        ENTRA,
      );
      expect(r.body.totalResults).toBe(1);
    });

    it('PATCH with path-less replace (dotted and URN keys) is applied', async () => {
      const r = await scim('PATCH', `/Users/${id}`, ENTRA, entra.replaceMultipleAttributes);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ displayName: 'Bjfe', name: { givenName: 'Kkom', familyName: 'Unua' } });
      expect(r.body['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toEqual({ employeeNumber: 'Aklq' });
      expect(r.body.schemas).toContain('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User');
    });

    it('PATCH is atomic: one bad operation, nothing changed', async () => {
      const before = (await scim('GET', `/Users/${id}`, ENTRA)).body;
      const events = await eventCount();
      const r = await scim('PATCH', `/Users/${id}`, ENTRA, {
        schemas: [PATCH],
        Operations: [
          { op: 'Replace', path: 'active', value: 'False' },
          { op: 'Replace', path: 'displayName', value: 'changed' },
          { op: 'Replace', path: 'emails[type eq "work"', value: 'x' },
        ],
      });
      expectScimError(r, 400, 'invalidPath');
      expect((await scim('GET', `/Users/${id}`, ENTRA)).body).toEqual(before);
      expect(await eventCount()).toBe(events);
    });

    it('externalId cannot change (it is the subject sign-in and webhooks use)', async () => {
      const r = await scim('PATCH', `/Users/${id}`, ENTRA, {
        schemas: [PATCH],
        Operations: [{ op: 'Replace', path: 'externalId', value: 'someone-else' }],
      });
      expectScimError(r, 400, 'mutability');
    });

    it('Disable User with the legacy "False" string: deprovisioned (UserDeactivated, channel scim)', async () => {
      const r = await scim('PATCH', `/Users/${id}`, ENTRA, entra.disableUserLegacy);
      expect(r.status).toBe(200);
      expect(r.body.active).toBe(false);
      expect(await lastUserEvent(id)).toMatchObject({
        type: 'UserDeactivated',
        metadata: { actor: 'idp:entra', channel: 'scim' },
      });
      expect((await app.call('GET', `/v1/users/${id}`, { auth: ADMIN_KEY })).body.deactivatedAt).toEqual(
        expect.any(String),
      );
      // The same request again changes nothing.
      const events = await eventCount();
      expect((await scim('PATCH', `/Users/${id}`, ENTRA, entra.disableUser)).status).toBe(200);
      expect(await eventCount()).toBe(events);
    });

    it('active: true reactivates a deprovisioned user (UserReactivated, channel scim)', async () => {
      const r = await scim('PATCH', `/Users/${id}`, ENTRA, {
        schemas: [PATCH],
        Operations: [{ op: 'Replace', path: 'active', value: true }],
      });
      expect(r.status).toBe(200);
      expect(r.body.active).toBe(true);
      expect(await lastUserEvent(id)).toMatchObject({
        type: 'UserReactivated',
        metadata: { actor: 'idp:entra', channel: 'scim' },
      });
      expect((await app.call('GET', `/v1/users/${id}`, { auth: ADMIN_KEY })).body.deactivatedAt).toBeNull();
      // Entra disables it again: deprovisioned again.
      expect((await scim('PATCH', `/Users/${id}`, ENTRA, entra.disableUser)).body.active).toBe(false);
    });

    it('DELETE: 204; the user leaves SCIM (404) and stays deactivated in Tollgate', async () => {
      const r = await scim('DELETE', `/Users/${id}`, ENTRA);
      expect(r.status).toBe(204);
      expectScimError(await scim('GET', `/Users/${id}`, ENTRA), 404);
      expect((await app.call('GET', `/v1/users/${id}`, { auth: ADMIN_KEY })).body.deactivatedAt).toEqual(
        expect.any(String),
      );
    });
  });

  describe('reactivation (Okta and Entra flip active both ways)', () => {
    const keysOf = async (userId: string) =>
      (await app.call('GET', `/v1/users/${userId}/keys`, { auth: ADMIN_KEY })).body.keys as {
        keyId: string;
        revokedAt: string | null;
      }[];

    it('deactivation revokes the keys; reactivation restores the user and leaves those keys revoked', async () => {
      const created = await scim('POST', '/Users', OKTA, {
        schemas: [USER_SCHEMA],
        userName: 'flip@example.com',
        externalId: '00u-flip',
        active: true,
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      const key = await app.call('POST', `/v1/users/${id}/keys`, {
        auth: ADMIN_KEY,
        body: { name: 'before', scope: 'inference' },
      });
      expect(key.status).toBe(201);

      expect((await scim('PATCH', `/Users/${id}`, OKTA, okta.deactivateUser)).body.active).toBe(false);
      await eventually(async () => {
        const [only] = await keysOf(id);
        expect(only?.revokedAt).toEqual(expect.any(String));
      });

      const back = await scim('PUT', `/Users/${id}`, OKTA, {
        schemas: [USER_SCHEMA],
        userName: 'flip@example.com',
        externalId: '00u-flip',
        active: true,
      });
      expect(back.status).toBe(200);
      expect(back.body.active).toBe(true);
      expect((await app.call('GET', `/v1/users/${id}`, { auth: ADMIN_KEY })).body.deactivatedAt).toBeNull();
      const keys = await keysOf(id);
      expect(keys).toEqual([expect.objectContaining({ keyId: key.body.keyId, revokedAt: expect.any(String) })]);
      // A new key can be issued to the reactivated user.
      const fresh = await app.call('POST', `/v1/users/${id}/keys`, {
        auth: ADMIN_KEY,
        body: { name: 'after', scope: 'inference' },
      });
      expect(fresh.status).toBe(201);
    });

    it('provisioning again after a DELETE adopts and reactivates the same Tollgate user', async () => {
      const first = await scim('POST', '/Users', OKTA, {
        schemas: [USER_SCHEMA],
        userName: 'again@example.com',
        externalId: '00u-again',
      });
      expect(first.status).toBe(201);
      expect((await scim('DELETE', `/Users/${first.body.id}`, OKTA)).status).toBe(204);
      const second = await scim('POST', '/Users', OKTA, {
        schemas: [USER_SCHEMA],
        userName: 'again@example.com',
        externalId: '00u-again',
      });
      expect(second.status).toBe(201);
      expect(second.body.id).toBe(first.body.id);
      expect(second.body.active).toBe(true);
      expect(await lastUserEvent(first.body.id)).toMatchObject({ type: 'UserReactivated' });
    });
  });

  describe('users, as Okta provisions them', () => {
    let id: string;

    it('creates (password never stored, groups ignored), finds by userName, replaces with PUT, deactivates with a path-less replace', async () => {
      const created = await scim('POST', '/Users', OKTA, okta.createUser);
      expect(created.status).toBe(201);
      id = created.body.id;
      expect(created.body).toMatchObject({
        userName: 'test.user@okta.local',
        externalId: '00ujl29u0le5T6Aj10h7',
        locale: 'en-US',
        displayName: 'Test User',
        active: true,
        groups: [],
      });
      expect(created.body.password).toBeUndefined();
      expect(JSON.stringify(await app.sql(`SELECT * FROM identity.scim_users`))).not.toContain(
        okta.createUser.password,
      );

      const found = await scim(
        'GET',
        `/Users?filter=${encodeURIComponent(okta.getUserByQuery)}&startIndex=1&count=100`,
        OKTA,
      );
      expect(found.body.totalResults).toBe(1);

      const put = await scim('PUT', `/Users/${id}`, OKTA, {
        schemas: [USER_SCHEMA],
        id,
        userName: 'test.user@okta.local',
        externalId: '00ujl29u0le5T6Aj10h7',
        name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
        emails: [{ primary: true, value: 'test.user@okta.local', type: 'work', display: 'test.user@okta.local' }],
        active: true,
        groups: [],
        meta: { resourceType: 'User' },
      });
      expect(put.status).toBe(200);
      expect(put.body.name).toEqual({ givenName: 'Another', middleName: 'Excited', familyName: 'User' });
      expect(put.body.locale).toBeUndefined();

      const off = await scim('PATCH', `/Users/${id}`, OKTA, okta.deactivateUser);
      expect(off.body.active).toBe(false);
    });
  });

  describe('groups', () => {
    let ann: string;
    let bo: string;
    let groupId: string;

    beforeAll(async () => {
      ann = (
        await scim('POST', '/Users', ENTRA, {
          schemas: [USER_SCHEMA],
          userName: 'ann@example.com',
          externalId: 'oid-ann',
        })
      ).body.id;
      bo = (
        await scim('POST', '/Users', ENTRA, {
          schemas: [USER_SCHEMA],
          userName: 'bo@example.com',
          externalId: 'oid-bo',
        })
      ).body.id;
    });

    it('creates a group (Entra body); its displayName is the Tollgate group name', async () => {
      const r = await scim('POST', '/Groups', ENTRA, entra.createGroup);
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        id: expect.stringMatching(/^grp_/),
        displayName: 'displayName',
        externalId: entra.createGroup.externalId,
        members: [],
      });
      groupId = r.body.id;
      expectScimError(await scim('POST', '/Groups', ENTRA, entra.createGroup), 409, 'uniqueness');
    });

    it('finds it by displayName without members', async () => {
      const r = await scim(
        'GET',
        `/Groups?excludedAttributes=members&filter=${encodeURIComponent(entra.getGroupByDisplayName)}`,
        ENTRA,
      );
      expect(r.body.totalResults).toBe(1);
      expect(r.body.Resources[0]).not.toHaveProperty('members');
      expect(
        (await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "DISPLAYNAME"')}`, ENTRA)).body
          .totalResults,
      ).toBe(0);
    });

    it('Add members: 204; each member gets GroupsEdited with the full resulting set (no login-clock move)', async () => {
      const r = await scim('PATCH', `/Groups/${groupId}`, ENTRA, {
        schemas: [PATCH],
        Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: ann }, { value: bo }] }],
      });
      expect(r.status).toBe(204);
      expect(await lastUserEvent(ann)).toMatchObject({
        type: 'GroupsEdited',
        data: { groups: ['displayName'] },
        metadata: { channel: 'scim', actor: 'idp:entra' },
      });
      const group = await scim('GET', `/Groups/${groupId}`, ENTRA);
      expect(group.body.members.map((m: { value: string }) => m.value).sort()).toEqual([ann, bo].sort());
      expect((await scim('GET', `/Users/${ann}`, ENTRA)).body.groups).toEqual([
        expect.objectContaining({ value: groupId, display: 'displayName' }),
      ]);
    });

    it('Remove members with a value list (legacy Entra) and with a value filter (Okta, Entra with the flag)', async () => {
      const legacy = await scim('PATCH', `/Groups/${groupId}`, ENTRA, {
        schemas: [PATCH],
        Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: bo }] }],
      });
      expect(legacy.status).toBe(204);
      expect((await lastUserEvent(bo)).data.groups).toEqual([]);
      const filtered = await scim('PATCH', `/Groups/${groupId}`, ENTRA, {
        schemas: [PATCH],
        Operations: [{ op: 'remove', path: `members[value eq "${ann}"]` }],
      });
      expect(filtered.status).toBe(204);
      expect((await scim('GET', `/Groups/${groupId}`, ENTRA)).body.members).toEqual([]);
    });

    it('a rename moves every member to the new group name', async () => {
      await scim('PATCH', `/Groups/${groupId}`, ENTRA, {
        schemas: [PATCH],
        Operations: [{ op: 'add', path: 'members', value: [{ value: ann }] }],
      });
      const r = await scim('PATCH', `/Groups/${groupId}`, ENTRA, entra.updateGroupDisplayName);
      expect(r.status).toBe(204);
      expect((await lastUserEvent(ann)).data.groups).toEqual([
        '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
      ]);
    });

    it('a member of another connector (or no user) is refused, nothing applied', async () => {
      const foreign = (
        await scim('POST', '/Users', OKTA, { schemas: [USER_SCHEMA], userName: 'x@okta.local', externalId: 'okta-x' })
      ).body.id;
      const events = await eventCount();
      const r = await scim('PATCH', `/Groups/${groupId}`, ENTRA, {
        schemas: [PATCH],
        Operations: [{ op: 'add', path: 'members', value: [{ value: bo }, { value: foreign }] }],
      });
      expectScimError(r, 400, 'invalidValue');
      expect(await eventCount()).toBe(events);
      expectScimError(
        await scim('PATCH', `/Groups/${groupId}`, ENTRA, {
          schemas: [PATCH],
          Operations: [{ op: 'add', path: 'members', value: [{ value: 'usr_admin' }] }],
        }),
        400,
        'invalidValue',
      );
    });

    it('Okta: create, rename with the id in the value, membership remove + add in one request, DELETE', async () => {
      const alpha = (
        await scim('POST', '/Users', OKTA, {
          schemas: [USER_SCHEMA],
          userName: 'alpha@okta.local',
          externalId: 'okta-alpha',
        })
      ).body.id;
      const created = await scim('POST', '/Groups', OKTA, okta.createGroup);
      expect(created.status).toBe(201);
      const gid = created.body.id;
      const renamed = await scim('PATCH', `/Groups/${gid}`, OKTA, {
        schemas: [PATCH],
        Operations: [{ op: 'replace', value: { id: gid, displayName: 'Test SCIMv20' } }],
      });
      expect(renamed.status).toBe(204);
      const membership = await scim('PATCH', `/Groups/${gid}`, OKTA, {
        schemas: [PATCH],
        Operations: [
          { op: 'remove', path: 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]' },
          { op: 'add', path: 'members', value: [{ value: alpha, display: 'alpha@okta.local' }] },
        ],
      });
      expect(membership.status).toBe(204);
      expect((await lastUserEvent(alpha)).data.groups).toEqual(['Test SCIMv20']);
      expect((await scim('DELETE', `/Groups/${gid}`, OKTA)).status).toBe(204);
      expect((await lastUserEvent(alpha)).data.groups).toEqual([]);
      expectScimError(await scim('GET', `/Groups/${gid}`, OKTA), 404);
    });
  });

  describe('bad input: a SCIM error with a stable scimType, nothing changed', () => {
    it.each([
      ['not JSON', '{"schemas": [', 'invalidSyntax'],
      ['not an object', '[1,2]', 'invalidSyntax'],
      ['no User schema', { userName: 'a', externalId: 'b' }, 'invalidSyntax'],
      ['no userName', { schemas: [USER_SCHEMA], externalId: 'b' }, 'invalidValue'],
      ['no externalId', { schemas: [USER_SCHEMA], userName: 'nobody@example.com' }, 'invalidValue'],
      [
        'active not a boolean',
        { schemas: [USER_SCHEMA], userName: 'a@b.c', externalId: 'e', active: 'maybe' },
        'invalidValue',
      ],
      ['an empty body', '', 'invalidSyntax'],
    ])('POST /Users with %s', async (_what, body, scimType) => {
      const events = await eventCount();
      expectScimError(await scim('POST', '/Users', ENTRA, body), 400, scimType);
      expect(await eventCount()).toBe(events);
    });

    it.each([
      ['userName eq', 'invalidFilter'],
      ['userName eq alice', 'invalidFilter'],
      ['userName zz "a"', 'invalidFilter'],
      ['(userName eq "a"', 'invalidFilter'],
    ])('GET /Users?filter=%s', async (filter, scimType) => {
      expectScimError(await scim('GET', `/Users?filter=${encodeURIComponent(filter)}`, ENTRA), 400, scimType);
    });

    it('PATCH bodies: no PatchOp schema, unknown op, remove without path', async () => {
      const id = (
        await scim('POST', '/Users', ENTRA, {
          schemas: [USER_SCHEMA],
          userName: 'patchy@example.com',
          externalId: 'oid-patchy',
        })
      ).body.id;
      expectScimError(
        await scim('PATCH', `/Users/${id}`, ENTRA, { Operations: [{ op: 'add', path: 'title', value: 'x' }] }),
        400,
        'invalidSyntax',
      );
      expectScimError(
        await scim('PATCH', `/Users/${id}`, ENTRA, {
          schemas: [PATCH],
          Operations: [{ op: 'copy', path: 'title', value: 'x' }],
        }),
        400,
        'invalidSyntax',
      );
      expectScimError(
        await scim('PATCH', `/Users/${id}`, ENTRA, { schemas: [PATCH], Operations: [{ op: 'remove' }] }),
        400,
        'noTarget',
      );
      expectScimError(await scim('PATCH', `/Users/usr_nobody0000000000`, ENTRA, entra.disableUser), 404);
    });

    it('a userName taken by another user on PATCH is 409 uniqueness', async () => {
      await scim('POST', '/Users', ENTRA, {
        schemas: [USER_SCHEMA],
        userName: 'taken@example.com',
        externalId: 'oid-taken',
      });
      const id = (
        await scim('POST', '/Users', ENTRA, {
          schemas: [USER_SCHEMA],
          userName: 'free@example.com',
          externalId: 'oid-free',
        })
      ).body.id;
      expectScimError(
        await scim('PATCH', `/Users/${id}`, ENTRA, {
          schemas: [PATCH],
          Operations: [{ op: 'replace', path: 'userName', value: 'TAKEN@example.com' }],
        }),
        409,
        'uniqueness',
      );
    });

    describe('hostile bodies and strings (issue 13): refused in the SCIM schema, the process unharmed', () => {
      const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
      const polluted = () => (Object.prototype as Record<string, unknown>).polluted;
      let id: string;

      beforeAll(async () => {
        id = (
          await scim('POST', '/Users', ENTRA, {
            schemas: [USER_SCHEMA],
            userName: 'target@example.com',
            externalId: 'oid-target',
          })
        ).body.id;
      });

      it.each([
        [
          'POST /Users, __proto__ inside the extension object',
          'POST',
          () => '/Users',
          `{"schemas":["${USER_SCHEMA}","${ENTERPRISE}"],"userName":"p@example.com","externalId":"oid-p","${ENTERPRISE}":{"__proto__":{"polluted":"yes"}}}`,
        ],
        [
          'PATCH, path-less add with __proto__ inside the extension object (the request of the report)',
          'PATCH',
          () => `/Users/${id}`,
          `{"schemas":["${PATCH}"],"Operations":[{"op":"add","value":{"${ENTERPRISE}":{"__proto__":{"polluted":"yes"}}}}]}`,
        ],
        [
          'PATCH, path-less add with a __proto__ value key',
          'PATCH',
          () => `/Users/${id}`,
          `{"schemas":["${PATCH}"],"Operations":[{"op":"add","value":{"__proto__":{"polluted":"yes"}}}]}`,
        ],
        [
          'PUT /Groups, constructor.prototype',
          'PUT',
          () => `/Groups/${id}`,
          `{"schemas":["${GROUP_SCHEMA}"],"displayName":"g","constructor":{"prototype":{"polluted":"yes"}}}`,
        ],
      ])('%s: 400 invalidSyntax', async (_what, method, path, body) => {
        const events = await eventCount();
        expectScimError(await scim(method, path(), ENTRA, body), 400, 'invalidSyntax');
        expect(polluted()).toBeUndefined();
        expect(await eventCount()).toBe(events);
        // The metrics call that threw on a polluted prototype, and an ordinary request, still answer.
        expect((await app.call('GET', '/metrics')).status).toBe(200);
        expect((await scim('GET', `/Users/${id}`, ENTRA)).status).toBe(200);
      });

      it.each([
        ['NUL in userName', 'POST', () => '/Users', { schemas: [USER_SCHEMA], userName: 'a\u0000b', externalId: 'x' }],
        [
          'a lone surrogate in a PATCH value',
          'PATCH',
          () => `/Users/${id}`,
          { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: '\ud800' }] },
        ],
        ['NUL in a path parameter', 'GET', () => '/Users/usr%00x', undefined],
        ['NUL in a filter', 'GET', () => `/Users?filter=${encodeURIComponent('userName eq "a\u0000"')}`, undefined],
        [
          'an escaped lone surrogate in a filter',
          'GET',
          () => `/Users?filter=${encodeURIComponent('userName eq "\\ud800"')}`,
          undefined,
        ],
      ])('%s: 400 invalidValue', async (_what, method, path, body) => {
        const events = await eventCount();
        expectScimError(await scim(method, path(), ENTRA, body), 400, 'invalidValue');
        expect(await eventCount()).toBe(events);
      });
    });

    it('DELETE with Content-Type: application/scim+json and no body (as IdPs send it) is accepted', async () => {
      const doomed = (
        await scim('POST', '/Users', ENTRA, {
          schemas: [USER_SCHEMA],
          userName: 'bye@example.com',
          externalId: 'oid-bye',
        })
      ).body.id;
      const r = await app.call('DELETE', `/scim/v2/Users/${doomed}`, {
        auth: ENTRA,
        headers: { 'content-type': 'application/scim+json' },
      });
      expect(r.status).toBe(204);
      expectScimError(await scim('GET', `/Users/${doomed}`, ENTRA), 404);
    });

    it('a body that is not JSON is 415 in the SCIM schema', async () => {
      const r = await app.call('POST', '/scim/v2/Users', {
        auth: ENTRA,
        raw: 'userName=a',
        headers: { 'content-type': 'text/plain' },
      });
      expectScimError(r, 415);
    });

    it('pages with startIndex and count', async () => {
      const all = await scim('GET', '/Users', ENTRA);
      const page = await scim('GET', '/Users?startIndex=2&count=2', ENTRA);
      expect(page.body).toMatchObject({ totalResults: all.body.totalResults, startIndex: 2, itemsPerPage: 2 });
      expect(page.body.Resources.map((u: { id: string }) => u.id)).toEqual(
        all.body.Resources.slice(1, 3).map((u: { id: string }) => u.id),
      );
    });
  });

  describe('versions: meta.version, ETag and If-Match (RFC 7644 section 3.14)', () => {
    it('a user carries its version as ETag; a stale If-Match on PUT, PATCH or DELETE is 412 and changes nothing', async () => {
      const created = await scim('POST', '/Users', ENTRA, {
        schemas: [USER_SCHEMA],
        userName: 'etag@example.com',
        externalId: 'oid-etag',
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      const v1 = created.headers.get('etag')!;
      expect(v1).toBe(created.body.meta.version);
      const got = await scim('GET', `/Users/${id}`, ENTRA);
      expect(got.headers.get('etag')).toBe(v1);

      const patch = (value: string) => ({
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value }],
      });
      const ok = await app.call('PATCH', `/scim/v2/Users/${id}`, {
        auth: ENTRA,
        raw: JSON.stringify(patch('First')),
        headers: { 'content-type': 'application/scim+json', 'if-match': v1 },
      });
      expect(ok.status).toBe(200);
      const v2 = ok.headers.get('etag')!;
      expect(v2).not.toBe(v1);

      const events = await eventCount();
      for (const [method, body] of [
        ['PATCH', patch('Second')],
        ['PUT', { schemas: [USER_SCHEMA], userName: 'etag@example.com', externalId: 'oid-etag', active: false }],
        ['DELETE', undefined],
      ] as const) {
        const stale = await app.call(method, `/scim/v2/Users/${id}`, {
          auth: ENTRA,
          ...(body ? { raw: JSON.stringify(body) } : {}),
          headers: { ...(body ? { 'content-type': 'application/scim+json' } : {}), 'if-match': v1 },
        });
        expectScimError(stale, 412);
      }
      expect(await eventCount()).toBe(events);
      expect((await scim('GET', `/Users/${id}`, ENTRA)).body).toMatchObject({ displayName: 'First', active: true });

      // A change of the Tollgate user behind it (deactivation) is a new version too.
      await scim('PATCH', `/Users/${id}`, ENTRA, entra.disableUser);
      const v3 = (await scim('GET', `/Users/${id}`, ENTRA)).headers.get('etag');
      expect(v3).not.toBe(v2);
      const gone = await app.call('DELETE', `/scim/v2/Users/${id}`, { auth: ENTRA, headers: { 'if-match': v3! } });
      expect(gone.status).toBe(204);
    });

    it('a group: ETag on GET and PATCH (204), 412 for a stale If-Match', async () => {
      const created = await scim('POST', '/Groups', ENTRA, { schemas: [GROUP_SCHEMA], displayName: 'etag-group' });
      const id = created.body.id as string;
      const v1 = created.headers.get('etag')!;
      const rename = {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value: 'etag-group-2' }],
      };
      const patched = await app.call('PATCH', `/scim/v2/Groups/${id}`, {
        auth: ENTRA,
        raw: JSON.stringify(rename),
        headers: { 'content-type': 'application/scim+json', 'if-match': v1 },
      });
      expect(patched.status).toBe(204);
      const v2 = patched.headers.get('etag');
      expect(v2).not.toBe(v1);
      expect((await scim('GET', `/Groups/${id}`, ENTRA)).headers.get('etag')).toBe(v2);
      const stale = await app.call('DELETE', `/scim/v2/Groups/${id}`, { auth: ENTRA, headers: { 'if-match': v1 } });
      expectScimError(stale, 412);
      expect((await scim('GET', `/Groups/${id}`, ENTRA)).status).toBe(200);
    });
  });

  describe('sortBy and sortOrder', () => {
    it('sorts users by userName (case-insensitive) both ways, before paging', async () => {
      for (const name of ['sort-b@x', 'Sort-a@x', 'sort-c@x'])
        await scim('POST', '/Users', OKTA, { schemas: [USER_SCHEMA], userName: name, externalId: `ext-${name}` });
      const names = (r: { body: { Resources: { userName: string }[] } }) =>
        r.body.Resources.map((u) => u.userName).filter((n) => n.toLowerCase().startsWith('sort-'));
      const asc = await scim('GET', '/Users?filter=userName sw "sort-"&sortBy=userName', OKTA);
      expect(names(asc)).toEqual(['Sort-a@x', 'sort-b@x', 'sort-c@x']);
      const desc = await scim('GET', '/Users?filter=userName sw "sort-"&sortBy=userName&sortOrder=descending', OKTA);
      expect(names(desc)).toEqual(['sort-c@x', 'sort-b@x', 'Sort-a@x']);
      const first = await scim('GET', '/Users?filter=userName sw "sort-"&sortBy=userName&count=1', OKTA);
      expect(names(first)).toEqual(['Sort-a@x']);
      expectScimError(await scim('GET', '/Users?sortBy=userName&sortOrder=sideways', OKTA), 400, 'invalidValue');
    });
  });

  describe('/Bulk (RFC 7644 section 3.7)', () => {
    const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
    const bulk = (body: unknown) => scim('POST', '/Bulk', ENTRA, body);

    it('creates a user and a group naming it by bulkId, in order, each reported', async () => {
      const r = await bulk({
        schemas: [BULK],
        Operations: [
          {
            method: 'POST',
            path: '/Users',
            bulkId: 'u1',
            data: { schemas: [USER_SCHEMA], userName: 'bulk-1@example.com', externalId: 'oid-bulk-1' },
          },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'g1',
            data: { schemas: [GROUP_SCHEMA], displayName: 'bulk-group', members: [{ value: 'bulkId:u1' }] },
          },
          {
            method: 'PATCH',
            path: '/Users/bulkId:u1',
            data: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Bulk One' }] },
          },
        ],
      });
      expect(r.status).toBe(200);
      expect(r.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
      expect(r.body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '201', '200']);
      const userId = (r.body.Operations[0].location as string).split('/').pop()!;
      expect(r.body.Operations[0]).toMatchObject({ method: 'POST', bulkId: 'u1', version: expect.any(String) });
      const user = await scim('GET', `/Users/${userId}`, ENTRA);
      expect(user.body).toMatchObject({
        displayName: 'Bulk One',
        groups: [expect.objectContaining({ display: 'bulk-group' })],
      });
      const me = await app.call('GET', `/v1/users/${userId}`, { auth: ADMIN_KEY });
      expect(me.status).toBe(200);
    });

    it('failOnErrors stops after that many errors; earlier operations stay done; errors in the SCIM schema', async () => {
      const r = await bulk({
        schemas: [BULK],
        failOnErrors: 1,
        Operations: [
          {
            method: 'POST',
            path: '/Users',
            bulkId: 'a',
            data: { schemas: [USER_SCHEMA], userName: 'bulk-2@example.com', externalId: 'oid-bulk-2' },
          },
          {
            method: 'POST',
            path: '/Users',
            bulkId: 'dup',
            data: { schemas: [USER_SCHEMA], userName: 'bulk-2@example.com', externalId: 'oid-bulk-2b' },
          },
          {
            method: 'POST',
            path: '/Users',
            bulkId: 'never',
            data: { schemas: [USER_SCHEMA], userName: 'bulk-3@example.com', externalId: 'oid-bulk-3' },
          },
        ],
      });
      expect(r.status).toBe(200);
      expect(r.body.Operations).toHaveLength(2);
      expect(r.body.Operations[1]).toMatchObject({
        bulkId: 'dup',
        status: '409',
        response: { schemas: [ERROR_SCHEMA], scimType: 'uniqueness' },
      });
      const list = await scim('GET', '/Users?filter=userName sw "bulk-"', ENTRA);
      expect(list.body.Resources.map((u: { userName: string }) => u.userName).sort()).toEqual([
        'bulk-1@example.com',
        'bulk-2@example.com',
      ]);
    });

    it('a stale version, an unknown bulkId reference and a bad path are each reported, not fatal', async () => {
      const created = await scim('POST', '/Users', ENTRA, {
        schemas: [USER_SCHEMA],
        userName: 'bulk-4@example.com',
        externalId: 'oid-bulk-4',
      });
      const r = await bulk({
        schemas: [BULK],
        Operations: [
          { method: 'DELETE', path: `/Users/${created.body.id}`, version: 'W/"0.0"' },
          { method: 'DELETE', path: '/Users/bulkId:nobody' },
          { method: 'PUT', path: '/Elsewhere/1', data: {} },
        ],
      });
      expect(r.body.Operations.map((o: { status: string }) => o.status)).toEqual(['412', '400', '400']);
      expect((await scim('GET', `/Users/${created.body.id}`, ENTRA)).status).toBe(200);
    });

    it('refuses a malformed BulkRequest or too many operations as a whole, changing nothing', async () => {
      const events = await eventCount();
      expectScimError(await bulk({ Operations: [] }), 400, 'invalidSyntax');
      expectScimError(await bulk({ schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', data: {} }] }), 400);
      const many = Array.from({ length: 101 }, (_, i) => ({ method: 'DELETE', path: `/Users/x${i}` }));
      expectScimError(await bulk({ schemas: [BULK], Operations: many }), 413, 'tooMany');
      expect(await eventCount()).toBe(events);
    });
  });

  describe('provisioning sequences as each IdP sends them (from their published docs)', () => {
    it('Okta: look up, create, deactivate, reactivate, look up again', async () => {
      const filter = encodeURIComponent('userName eq "seq.user@okta.local"');
      expect((await scim('GET', `/Users?filter=${filter}&startIndex=1&count=100`, OKTA)).body.totalResults).toBe(0);
      const created = await scim('POST', '/Users', OKTA, {
        ...okta.createUser,
        userName: 'seq.user@okta.local',
        externalId: '00u-seq',
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      expect((await scim('PATCH', `/Users/${id}`, OKTA, okta.deactivateUser)).body.active).toBe(false);
      expect((await scim('PATCH', `/Users/${id}`, OKTA, okta.reactivateUser)).body.active).toBe(true);
      const found = await scim('GET', `/Users?filter=${filter}&startIndex=1&count=100`, OKTA);
      expect(found.body.Resources).toEqual([expect.objectContaining({ id, active: true })]);
      const types = await app.sql(`SELECT type FROM identity.events WHERE stream_id = $1 ORDER BY stream_version`, [
        `user-${id}`,
      ]);
      expect(types.map((t) => t.type)).toEqual(['UserCreated', 'UserDeactivated', 'UserReactivated']);
    });

    it('Entra ID: create, add to a group, disable, enable (the "True" string), delete', async () => {
      const created = await scim('POST', '/Users', ENTRA, {
        ...entra.createUser,
        userName: 'seq-entra@example.com',
        externalId: 'oid-seq-entra',
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      const group = await scim('POST', '/Groups', ENTRA, { ...entra.createGroup, displayName: 'seq-entra-group' });
      const added = await scim('PATCH', `/Groups/${group.body.id}`, ENTRA, {
        schemas: [PATCH],
        Operations: [{ op: 'Add', path: 'members', value: [{ value: id }] }],
      });
      expect(added.status).toBe(204);
      expect((await scim('PATCH', `/Users/${id}`, ENTRA, entra.disableUser)).body.active).toBe(false);
      const enabled = await scim('PATCH', `/Users/${id}`, ENTRA, entra.enableUser);
      expect(enabled.body).toMatchObject({
        active: true,
        groups: [expect.objectContaining({ display: 'seq-entra-group' })],
      });
      expect((await scim('DELETE', `/Users/${id}`, ENTRA)).status).toBe(204);
      expect((await app.call('GET', `/v1/users/${id}`, { auth: ADMIN_KEY })).body.deactivatedAt).toEqual(
        expect.any(String),
      );
    });
  });
});
