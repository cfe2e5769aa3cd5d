import { describe, expect, it } from '@jest/globals';
import { scimErrorOf } from '../../testing/scim';
import { entra, okta } from './fixtures';
import { applyPatch, parsePatchRequest } from './patch';
import { GROUP_SHAPE, USER_SHAPE } from './schema';

const entraUser = () => {
  const { schemas: _s, meta: _m, ...rest } = entra.createUser;
  return { id: 'usr_1', ...rest } as Record<string, unknown>;
};

const patchUser = (resource: Record<string, unknown>, body: unknown) =>
  applyPatch(resource, parsePatchRequest(body), USER_SHAPE);
const patchGroup = (resource: Record<string, unknown>, body: unknown) =>
  applyPatch(resource, parsePatchRequest(body), GROUP_SHAPE);

describe('SCIM PATCH, with the requests Entra ID sends', () => {
  it('Update User [Multi-valued properties]: capitalised Replace, value-filter path, sub-attribute', () => {
    const out = patchUser(entraUser(), entra.updateUserMultiValued);
    expect(out.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
    expect(out.name).toEqual({
      formatted: 'givenName familyName',
      familyName: 'updatedFamilyName',
      givenName: 'givenName',
    });
  });

  it('Update User [Single-valued properties]', () => {
    expect(patchUser(entraUser(), entra.updateUserSingleValued).userName).toBe(
      '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
    );
  });

  it('Disable User, with a boolean and with the legacy "False" string', () => {
    expect(patchUser(entraUser(), entra.disableUser).active).toBe(false);
    expect(patchUser(entraUser(), entra.disableUserLegacy).active).toBe(false);
  });

  it('path-less replace with dotted and URN-prefixed keys (aadOptscim062020)', () => {
    const out = patchUser(entraUser(), entra.replaceMultipleAttributes);
    expect(out.displayName).toBe('Bjfe');
    expect(out.name).toMatchObject({ givenName: 'Kkom', familyName: 'Unua' });
    expect(out['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toEqual({ employeeNumber: 'Aklq' });
    expect(out.emails).toEqual([{ primary: true, type: 'work', value: 'TestMhvaes@test.microsoft.com' }]);
  });

  it('one Replace per attribute (legacy)', () => {
    const out = patchUser(entraUser(), entra.replaceMultipleAttributesLegacy);
    expect(out).toMatchObject({ displayName: 'Pvlo', name: { givenName: 'Gtfd', familyName: 'Pkqf' } });
    expect(out['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toEqual({ employeeNumber: 'Eqpj' });
  });

  it('Add of a single-valued attribute', () => {
    expect(patchUser(entraUser(), entra.addSingleValueLegacy).nickName).toBe('Babs');
  });

  it('replace of a work email on a user without one creates it', () => {
    const out = patchUser({ id: 'usr_1', userName: 'u' }, entra.updateUserMultiValued);
    expect(out.emails).toEqual([{ type: 'work', value: 'updatedEmail@microsoft.com' }]);
  });

  it('group: rename, add members, remove members (value list and value filter)', () => {
    const group = { id: 'grp_1', displayName: 'displayName', members: [] as unknown[] };
    expect(patchGroup(group, entra.updateGroupDisplayName).displayName).toBe(
      '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
    );
    const added = patchGroup(group, entra.addMembers);
    expect(added.members).toEqual([{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }]);
    expect(patchGroup(added, entra.removeMembersLegacy).members).toEqual([]);
    const two = { ...group, members: [{ value: '7f4bc1a3-285e-48ae-8202-5accb43efb0e' }, { value: 'keep' }] };
    expect(patchGroup(two, entra.removeMember).members).toEqual([{ value: 'keep' }]);
  });
});

describe('SCIM PATCH, with the requests Okta sends', () => {
  it('deactivation: path-less replace { active: false }', () => {
    expect(patchUser({ id: 'usr_1', userName: 'test.user@okta.local', active: true }, okta.deactivateUser).active).toBe(
      false,
    );
  });

  it('group rename carries the group id: same id is accepted, another is refused', () => {
    const group = { id: 'abf4dd94-a4c0-4f67-89c9-76b03340cb9b', displayName: 'old' };
    expect(patchGroup(group, okta.renameGroup).displayName).toBe('Test SCIMv2');
    expect(scimErrorOf(() => patchGroup({ ...group, id: 'grp_other' }, okta.renameGroup)).scimType).toBe('mutability');
  });

  it('membership: remove by value filter and add in one request', () => {
    const group = { id: 'g', displayName: 'g', members: [{ value: '89bb1940-b905-4575-9e7f-6f887cfb368e' }] };
    expect(patchGroup(group, okta.updateMembership).members).toEqual([
      { value: '23a35c27-23d3-4c03-b4c5-6443c09e7173', display: 'test.user@okta.local' },
    ]);
  });

  it('membership: replace the whole list', () => {
    const out = patchGroup({ id: 'g', displayName: 'g', members: [{ value: 'x' }] }, okta.replaceMembers);
    expect((out.members as { value: string }[]).map((m) => m.value)).toEqual([
      '23a35c27-23d3-4c03-b4c5-6443c09e7173',
      '89bb1940-b905-4575-9e7f-6f887cfb368e',
    ]);
  });
});

describe('SCIM PATCH rules', () => {
  it('is atomic: one bad operation, nothing applied, the input untouched', () => {
    const original = entraUser();
    const body = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { op: 'replace', path: 'displayName', value: 'changed' },
        { op: 'replace', path: 'active', value: 'maybe' },
      ],
    };
    expect(scimErrorOf(() => patchUser(original, body)).scimType).toBe('invalidValue');
    expect(original.displayName).toBeUndefined();
  });

  it('add to a multi-valued attribute appends without duplicates; replace swaps the list', () => {
    const u = { id: 'u', emails: [{ value: 'a@x' }] };
    const add = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'add', path: 'emails', value: [{ value: 'a@x' }, { value: 'b@x' }] }],
    };
    expect(patchUser(u, add).emails).toEqual([{ value: 'a@x' }, { value: 'b@x' }]);
    const replace = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'emails', value: { value: 'c@x' } }],
    };
    expect(patchUser(u, replace).emails).toEqual([{ value: 'c@x' }]);
  });

  it('remove deletes an attribute; remove without a path is noTarget', () => {
    const u = { id: 'u', nickName: 'n', title: 't' };
    const remove = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Remove', path: 'NICKNAME' }],
    };
    expect(patchUser(u, remove)).toEqual({ id: 'u', title: 't' });
    const bad = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove' }] };
    expect(scimErrorOf(() => parsePatchRequest(bad)).scimType).toBe('noTarget');
  });

  it('read-only groups are ignored on add, refused on remove', () => {
    const add = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'add', path: 'groups', value: [{ value: 'g' }] }],
    };
    expect(patchUser({ id: 'u' }, add)).toEqual({ id: 'u' });
    const remove = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'remove', path: 'groups' }],
    };
    expect(scimErrorOf(() => patchUser({ id: 'u' }, remove)).scimType).toBe('mutability');
  });

  it.each([
    ['not an object', [], 'invalidSyntax'],
    ['no PatchOp schema', { Operations: [{ op: 'add', path: 'title', value: 'x' }] }, 'invalidSyntax'],
    ['no operations', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [] }, 'invalidSyntax'],
    [
      'unknown op',
      { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'move', path: 'a', value: 1 }] },
      'invalidSyntax',
    ],
    [
      'add without value',
      { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'title' }] },
      'invalidSyntax',
    ],
    [
      'path-less add with a string',
      { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', value: 'x' }] },
      'invalidValue',
    ],
    [
      'bad path',
      {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'add', path: 'emails[type eq', value: 'x' }],
      },
      'invalidPath',
    ],
  ])('refuses a malformed request: %s', (_name, body, scimType) => {
    expect(scimErrorOf(() => patchUser({ id: 'u' }, body)).scimType).toBe(scimType);
  });
});

describe('SCIM PATCH never turns a body key into a prototype write', () => {
  const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
  const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
  // JSON.parse keeps `__proto__` as an own key, as a body parser without the request policy did.
  const hostile = (value: string) =>
    JSON.parse(`{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","value":${value}}]}`) as unknown;
  const polluted = () => (Object.prototype as Record<string, unknown>).polluted;

  afterEach(() => delete (Object.prototype as Record<string, unknown>).polluted);

  it.each([
    ['a __proto__ key inside an extension object (issue 13)', `{"${ENTERPRISE}":{"__proto__":{"polluted":"yes"}}}`],
    ['a __proto__ sub-attribute of a complex value', `{"name":{"__proto__":{"polluted":"yes"}}}`],
    ['a __proto__ key inside a multi-valued element', `{"emails":[{"__proto__":{"polluted":"yes"}}]}`],
  ])('refuses %s without touching Object.prototype', (_what, value) => {
    expect(scimErrorOf(() => patchUser(entraUser(), hostile(value))).scimType).toBe('invalidPath');
    expect(polluted()).toBeUndefined();
  });
});
