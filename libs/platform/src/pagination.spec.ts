import { ApiError } from '@tollgate/contracts';
import { compareKeys, decodeCursor, encodeCursor, type CursorScope, pageOf, pageRequest } from './pagination';

const scope: CursorScope = { list: 'things', caller: 'usr_a', filters: { q: 'x', kind: undefined } };

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof ApiError ? `${error.code}:${error.details?.[0]?.field}` : 'other';
  }
};

describe('cursor pagination', () => {
  it('a cursor round-trips within its scope', () => {
    const cursor = encodeCursor(scope, ['2026-12-04T00:00:00.000Z', 'key_1']);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(scope, cursor, 2)).toEqual(['2026-12-04T00:00:00.000Z', 'key_1']);
    // An undefined filter is the same as an absent one.
    expect(decodeCursor({ list: 'things', caller: 'usr_a', filters: { q: 'x' } }, cursor, 2)).toHaveLength(2);
  });

  it('a cursor of another list, caller or filter, of another arity, or malformed is 400 naming cursor', () => {
    const cursor = encodeCursor(scope, [7]);
    for (const other of [
      { ...scope, list: 'others' },
      { ...scope, caller: 'usr_b' },
      { ...scope, filters: { q: 'y' } },
      { ...scope, filters: {} },
    ]) {
      expect(codeOf(() => decodeCursor(other, cursor, 1))).toBe('validation-failed:cursor');
    }
    expect(codeOf(() => decodeCursor(scope, cursor, 2))).toBe('validation-failed:cursor');
    for (const bad of ['', '!!', 'e30', Buffer.from('{"v":1,"s":"x","k":[]}').toString('base64url'), 'a.b']) {
      expect(codeOf(() => decodeCursor(scope, bad, 1))).toBe('validation-failed:cursor');
    }
    const proto = Buffer.from('{"__proto__":{"v":1},"s":"x","k":[1]}').toString('base64url');
    expect(codeOf(() => decodeCursor(scope, proto, 1))).toBe('validation-failed:cursor');
  });

  it('pageOf lists every item exactly once across pages, in key order, whatever the limit', () => {
    const items = Array.from({ length: 23 }, (_, i) => ({
      at: `t${String(i % 5)}`,
      id: `id${String(i).padStart(2, '0')}`,
    }));
    const keyOf = (x: (typeof items)[number]) => [x.at, x.id];
    for (const limit of [1, 2, 5, 22, 23, 200]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 100; i++) {
        const page = pageOf(items, keyOf, pageRequest(scope, { limit, cursor }, 2), scope);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((x) => x.id));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(seen).toEqual([...items].sort((a, b) => compareKeys(keyOf(a), keyOf(b))).map((x) => x.id));
    }
  });

  it('pageRequest defaults to 50 items and orders keys part by part', () => {
    expect(pageRequest(scope, {}, 1)).toEqual({ limit: 50, after: undefined });
    expect(compareKeys([1, 'b'], [1, 'a'])).toBeGreaterThan(0);
    expect(compareKeys([2], [10])).toBeLessThan(0);
    expect(compareKeys(['a'], ['a'])).toBe(0);
  });
});
