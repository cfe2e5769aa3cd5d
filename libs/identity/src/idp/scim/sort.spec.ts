import { describe, expect, it } from '@jest/globals';
import { ScimError } from './scim-error';
import { sortResources } from './sort';
import { checkIfMatch, groupVersion, userVersion } from './versions';

const users = [
  { id: 'u3', userName: 'carol@x', name: { familyName: 'Young' }, emails: [{ value: 'c@x', primary: true }] },
  { id: 'u1', userName: 'Alice@x', name: { familyName: 'adams' } },
  { id: 'u2', userName: 'bob@x', emails: [{ value: 'z@x' }, { value: 'a@x', primary: true }] },
];
const ids = (list: Record<string, unknown>[]) => list.map((r) => r.id);

describe('SCIM sortBy / sortOrder', () => {
  it('sorts by userName case-insensitively, ascending by default', () => {
    expect(ids(sortResources(users, 'userName', undefined))).toEqual(['u1', 'u2', 'u3']);
    expect(ids(sortResources(users, 'USERNAME', 'descending'))).toEqual(['u3', 'u2', 'u1']);
  });

  it('sorts by a sub-attribute, unassigned values last (first when descending)', () => {
    expect(ids(sortResources(users, 'name.familyName', 'ascending'))).toEqual(['u1', 'u3', 'u2']);
    expect(ids(sortResources(users, 'name.familyName', 'descending'))).toEqual(['u2', 'u3', 'u1']);
  });

  it('a multi-valued attribute sorts by its primary value', () => {
    expect(ids(sortResources(users, 'emails', undefined))).toEqual(['u2', 'u3', 'u1']);
    expect(ids(sortResources(users, 'emails.value', undefined))).toEqual(['u2', 'u3', 'u1']);
  });

  it('no sortBy keeps the order; a bad sortBy or sortOrder is 400 invalidValue', () => {
    expect(ids(sortResources(users, undefined, undefined))).toEqual(['u3', 'u1', 'u2']);
    for (const [by, order] of [
      ['userName', 'sideways'],
      ['user name', undefined],
      ['a.b.c', undefined],
      ['__proto__', undefined],
      [undefined, 'up'],
    ] as const) {
      let error: unknown;
      try {
        sortResources(users, by, order);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ScimError);
      expect((error as ScimError).scimType).toBe('invalidValue');
    }
  });

  it('prototype keys are no attribute: __proto__ is 400, constructor.prototype reads nothing', () => {
    expect(() => sortResources(users, '__proto__', undefined)).toThrow(ScimError);
    expect(ids(sortResources(users, 'constructor.prototype', undefined))).toEqual(['u3', 'u1', 'u2']);
  });
});

describe('SCIM versions and If-Match', () => {
  it('a user version follows its row and the Tollgate user; a group version its row', () => {
    expect(userVersion(2, 5)).toBe('W/"2.5"');
    expect(groupVersion(3)).toBe('W/"3"');
  });

  it('passes without If-Match, with *, with the current tag (weak or strong) or a list holding it', () => {
    for (const header of [undefined, '', '*', 'W/"2.5"', '"2.5"', 'W/"1.1", W/"2.5"']) {
      expect(() => checkIfMatch(header, 'W/"2.5"')).not.toThrow();
    }
  });

  it('a stale If-Match is 412', () => {
    let error: unknown;
    try {
      checkIfMatch('W/"2.4"', 'W/"2.5"');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).status).toBe(412);
  });
});
