import { describe, expect, it } from '@jest/globals';
import { scimErrorOf } from '../../testing/scim';
import { entra, okta } from './fixtures';
import { matches, parseFilter, parsePatchPath, simpleEquality } from './filter';

const user = {
  id: 'usr_1',
  userName: 'Alice@Example.com',
  externalId: '00u1',
  active: true,
  name: { givenName: 'Alice', familyName: 'Liddell' },
  emails: [
    { type: 'work', value: 'alice@example.com', primary: true },
    { type: 'home', value: 'alice@home.example' },
  ],
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'ML' },
};

describe('SCIM filters', () => {
  it('parses the filters Entra ID and Okta send', () => {
    expect(parseFilter(entra.getUserByQuery)).toEqual({
      op: 'eq',
      path: { attr: 'userName' },
      value: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
    });
    expect(simpleEquality(parseFilter(okta.getUserByQuery))).toEqual({
      attr: 'username',
      value: 'test.user@okta.local',
    });
    expect(simpleEquality(parseFilter(entra.getGroupByDisplayName))).toEqual({
      attr: 'displayname',
      value: 'displayName',
    });
  });

  it('operators and attribute names are case-insensitive; userName compares case-insensitively', () => {
    expect(matches(parseFilter('USERNAME EQ "alice@example.com"'), user)).toBe(true);
    expect(matches(parseFilter('externalId eq "00U1"'), user)).toBe(false);
    expect(matches(parseFilter('externalId eq "00u1"'), user)).toBe(true);
  });

  it('supports and/or/not, grouping, pr, value filters and URN-prefixed paths', () => {
    expect(matches(parseFilter('userName sw "alice" and (active eq false or name.familyName co "dell")'), user)).toBe(
      true,
    );
    expect(matches(parseFilter('not (active eq true)'), user)).toBe(false);
    expect(matches(parseFilter('emails[type eq "work" and value ew "example.com"]'), user)).toBe(true);
    expect(matches(parseFilter('emails[type eq "work"].value eq "alice@example.com"'), user)).toBe(true);
    expect(matches(parseFilter('emails[type eq "other"]'), user)).toBe(false);
    expect(
      matches(parseFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "ml"'), user),
    ).toBe(true);
    expect(matches(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName pr'), user)).toBe(true);
    expect(matches(parseFilter('title pr'), user)).toBe(false);
  });

  it('and binds tighter than or', () => {
    const f = parseFilter('active eq false and userName eq "x" or externalId eq "00u1"');
    expect(f.op).toBe('or');
    expect(matches(f, user)).toBe(true);
  });

  it.each([
    ['userName eq', 'value'],
    ['userName eq alice', 'quoted'],
    ['userName xx "a"', 'unknown operator'],
    ['userName eq "a" and', 'expected an attribute'],
    ['(userName eq "a"', 'missing )'],
    ['userName eq "unterminated', 'unterminated'],
    ['emails[type eq "work"', 'missing ]'],
    ['userName eq "a" garbage', 'unexpected'],
    ['', 'expected an attribute'],
    ['userName eq "a" ; drop table', 'unexpected character'],
  ])('refuses %j with 400 invalidFilter (%s)', (text, detail) => {
    const error = scimErrorOf(() => parseFilter(text));
    expect(error.status).toBe(400);
    expect(error.scimType).toBe('invalidFilter');
    expect(error.detail).toContain(detail);
  });

  it.each([
    ['an escaped NUL', String.raw`userName eq "a\u0000"`, parseFilter],
    ['an escaped lone surrogate', String.raw`externalId eq "\ud800"`, parseFilter],
    ['an escaped NUL in a PATCH value filter', String.raw`emails[value eq "\u0000"].type`, parsePatchPath],
  ])('refuses %s in a string literal with 400 invalidValue', (_what, text, parse) => {
    const error = scimErrorOf(() => parse(text));
    expect(error.status).toBe(400);
    expect(error.scimType).toBe('invalidValue');
  });
});

describe('SCIM PATCH paths', () => {
  it('parses attribute, sub-attribute, value-filter and URN paths', () => {
    expect(parsePatchPath('active')).toEqual({ path: { attr: 'active' } });
    expect(parsePatchPath('name.familyName')).toEqual({ path: { attr: 'name', sub: 'familyName' } });
    expect(parsePatchPath('emails[type eq "work"].value')).toEqual({
      path: { attr: 'emails' },
      filter: { op: 'eq', path: { attr: 'type' }, value: 'work' },
      sub: 'value',
    });
    expect(parsePatchPath('members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]')).toEqual({
      path: { attr: 'members' },
      filter: { op: 'eq', path: { attr: 'value' }, value: '7f4bc1a3-285e-48ae-8202-5accb43efb0e' },
    });
    expect(parsePatchPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber')).toEqual({
      path: { schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attr: 'employeeNumber' },
    });
  });

  it.each(['members[value eq', 'a.b.c', 'emails[type eq "work"]value', '9lives', 'name.givenName[type eq "x"]'])(
    'refuses %j with invalidPath',
    (text) => {
      const error = scimErrorOf(() => parsePatchPath(text));
      expect(error.scimType).toBe('invalidPath');
    },
  );
});
