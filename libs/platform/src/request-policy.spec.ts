import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@tollgate/contracts';
import { assertSafeParameters, isJsonMediaType, MAX_JSON_DEPTH, parseJsonBody } from './request-policy';

const errorOf = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected an ApiError');
};

describe('the one JSON body policy', () => {
  it('parses ordinary JSON, and reads a blank body as no body', () => {
    expect(parseJsonBody('{"name":"a","tags":["x",1,null,{"ok":true}]}')).toEqual({
      name: 'a',
      tags: ['x', 1, null, { ok: true }],
    });
    expect(parseJsonBody('')).toBeUndefined();
    expect(parseJsonBody(' \n')).toBeUndefined();
    expect(parseJsonBody('"\ud83d\ude00"')).toBe('😀');
  });

  it('answers text that is not JSON with malformed-json', () => {
    expect(errorOf(() => parseJsonBody('{"name":')).code).toBe('malformed-json');
  });

  it.each([
    ['a top-level __proto__', '{"__proto__":{"polluted":1}}'],
    ['a nested __proto__', '{"a":{"b":[{"__proto__":{"polluted":1}}]}}'],
    ['an empty __proto__', '{"__proto__":null}'],
    ['constructor holding prototype', '{"constructor":{"prototype":{"polluted":1}}}'],
    ['a nested constructor.prototype', '{"x":[1,{"constructor":{"prototype":{}}}]}'],
    ['a prototype key after an unsafe string', '{"a":"\\u0000","b":{"__proto__":{}}}'],
  ])('refuses %s as malformed-json', (_what, text) => {
    expect(errorOf(() => parseJsonBody(text)).code).toBe('malformed-json');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts the words themselves where they are harmless', () => {
    expect(parseJsonBody('{"constructor":"x","prototype":{},"name":"__proto__"}')).toEqual({
      constructor: 'x',
      prototype: {},
      name: '__proto__',
    });
  });

  it('refuses nesting deeper than the limit, without overflowing the stack', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(parseJsonBody(deep(MAX_JSON_DEPTH))).toBeDefined();
    expect(errorOf(() => parseJsonBody(deep(MAX_JSON_DEPTH + 1))).code).toBe('malformed-json');
    expect(errorOf(() => parseJsonBody(deep(400_000))).code).toBe('malformed-json');
  });

  it.each([
    ['NUL in a value', '{"name":"a\\u0000b"}', ['name']],
    ['a lone high surrogate', '{"name":"\\ud800"}', ['name']],
    ['a lone low surrogate, deep', '{"a":{"b":["ok","\\udc00"]}}', ['a.b.1']],
    ['surrogates in the wrong order', '{"name":"\\ude00\\ud83d"}', ['name']],
    ['NUL in a key', '{"a\\u0000":1}', ['a\ufffd']],
    ['a whole-string body', '"\\u0000"', ['body']],
    ['two fields', '{"a":"\\u0000","b":"\\ud800"}', ['a', 'b']],
  ])('refuses %s as validation-failed naming the fields', (_what, text, fields) => {
    const error = errorOf(() => parseJsonBody(text));
    expect(error.code).toBe('validation-failed');
    expect(error.details?.map((d) => d.field)).toEqual(fields);
  });
});

describe('path and query parameters under the same policy', () => {
  it('accepts ordinary parameters, repeated query parameters and paired surrogates', () => {
    expect(() => assertSafeParameters({ id: 'usr_1' }, { filter: 'userName eq "😀"', tag: ['a', 'b'] })).not.toThrow();
    expect(() => assertSafeParameters(undefined, Object.assign(Object.create(null), { a: 'b' }))).not.toThrow();
  });

  it.each([
    ['NUL in a path parameter', { id: 'usr\u0000' }, {}, ['path.id']],
    ['a lone surrogate in a query parameter', {}, { filter: 'userName eq "\ud800"' }, ['query.filter']],
    ['NUL in one value of a repeated query parameter', {}, { tag: ['a', '\u0000'] }, ['query.tag']],
    ['NUL in a query parameter name', {}, { 'a\u0000': 'b' }, ['query.a\ufffd']],
  ])('refuses %s', (_what, params, query, fields) => {
    const error = errorOf(() => assertSafeParameters(params, query));
    expect(error.code).toBe('validation-failed');
    expect(error.details?.map((d) => d.field)).toEqual(fields);
  });
});

describe('JSON media types', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/SCIM+JSON', true],
    ['application/merge-patch+json', true],
    ['text/plain', false],
    ['application/x-www-form-urlencoded', false],
    [undefined, false],
  ])('%s → %s', (type, json) => expect(isJsonMediaType(type)).toBe(json));
});
