import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@tollgate/contracts';
import { parseGroupsPage, retryAfter } from './group-overage';

describe('group overage: reading a Graph page', () => {
  it('takes ids from getMemberObjects (strings) and from directory objects', () => {
    expect(parseGroupsPage({ value: ['a', 'b'] })).toEqual({ groups: ['a', 'b'] });
    expect(parseGroupsPage({ value: [{ id: 'g1', displayName: 'x' }], '@odata.nextLink': 'https://g/next' })).toEqual({
      groups: ['g1'],
      nextLink: 'https://g/next',
    });
  });

  it.each([
    ['no value array', {}],
    ['null', null],
    ['a number in value', { value: [1] }],
    ['an empty id', { value: [''] }],
    ['NUL in a group', { value: ['a\u0000b'] }],
    ['a lone surrogate', { value: ['a\ud800'] }],
    ['a non-string nextLink', { value: [], '@odata.nextLink': 5 }],
  ])('%s is 503 unavailable, not a partial group set', (_name, body) => {
    let thrown: unknown;
    try {
      parseGroupsPage(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).code).toBe('unavailable');
    expect((thrown as ApiError).headers?.['Retry-After']).toMatch(/^\d+$/);
  });

  it('keeps a paired surrogate (an emoji) as a group name', () => {
    expect(parseGroupsPage({ value: ['ml-🚀'] }).groups).toEqual(['ml-🚀']);
  });
});

describe('group overage: Retry-After', () => {
  const headers = (value?: string) => new Headers(value === undefined ? {} : { 'retry-after': value });
  it('reads seconds and HTTP dates, clamped to 1 s – 5 min, 5 s when absent', () => {
    expect(retryAfter(headers('7'))).toBe(7);
    expect(retryAfter(headers())).toBe(5);
    expect(retryAfter(headers('0'))).toBe(1);
    expect(retryAfter(headers('86400'))).toBe(300);
    const now = Date.parse('2026-12-04T10:00:00.000Z');
    expect(retryAfter(headers('Fri, 04 Dec 2026 10:00:30 GMT'), now)).toBe(30);
    expect(retryAfter(headers('soon'))).toBe(5);
  });
});
