import { createHash } from 'node:crypto';
import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { ApiError } from '@tollgate/contracts';
import { z } from 'zod';

/**
 * Cursor pagination for list endpoints: `?limit=` (1–200, default 50) and `?cursor=` (opaque, from the
 * previous page's `nextCursor`). A list is in a stable order (its sort key ends with a unique id), and a
 * page holds the items whose key comes after the cursor's: every item that exists when the first page is
 * read is listed exactly once, whatever is inserted meanwhile.
 *
 * A cursor carries only a position in that order and a fingerprint of what it belongs to (the list, the
 * caller and the filters). It grants nothing: every page re-applies the caller's visibility filter, so a
 * forged position can only skip items the caller may see anyway. A cursor that does not parse, or that was
 * made for another list, caller or filter, is 400 `validation-failed` (field `cursor`).
 */

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;
const MAX_CURSOR_LENGTH = 1024;

/** A position in a list's order: the sort key of the last item of a page. */
export type CursorKey = readonly (string | number)[];

/** The query fields every paginated list takes (merge them into the list's own query schema). */
export const pageQueryFields = {
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `an integer from 1 to ${MAX_PAGE_LIMIT}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE_LIMIT))
    .optional(),
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
};

/** `?limit=&cursor=` alone. */
export const pageQuery = z.strictObject(pageQueryFields);

export interface PageRequest {
  limit: number;
  /** The key after which the page starts; undefined for the first page. */
  after?: CursorKey;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** What a cursor is bound to: the list's name, the caller and every filter that shapes the list. */
export interface CursorScope {
  list: string;
  caller: string;
  filters?: Record<string, string | number | boolean | null | undefined>;
}

const fingerprint = (scope: CursorScope): string => {
  const filters = Object.entries(scope.filters ?? {})
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256')
    .update(JSON.stringify([scope.list, scope.caller, filters]))
    .digest('base64url')
    .slice(0, 16);
};

const cursorBody = z.strictObject({
  v: z.literal(1),
  s: z.string(),
  k: z
    .array(z.union([z.string().max(MAX_CURSOR_LENGTH), z.number().finite()]))
    .min(1)
    .max(8),
});

const badCursor = (message: string): ApiError =>
  new ApiError('validation-failed', `invalid query: cursor ${message}`, [{ field: 'cursor', message }]);

export function encodeCursor(scope: CursorScope, key: CursorKey): string {
  return Buffer.from(JSON.stringify({ v: 1, s: fingerprint(scope), k: key }), 'utf8').toString('base64url');
}

/** The key a cursor names, checked against the scope it must belong to; 400 when it is malformed or foreign. */
export function decodeCursor(scope: CursorScope, cursor: string, arity: number): CursorKey {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor('is not a cursor this API issued');
  let parsed: z.infer<typeof cursorBody>;
  try {
    parsed = cursorBody.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw badCursor('is not a cursor this API issued');
  }
  if (parsed.s !== fingerprint(scope) || parsed.k.length !== arity) {
    throw badCursor('belongs to another list, caller or filter: start again without it');
  }
  return parsed.k;
}

/** The page request of a parsed `?limit=&cursor=`, for a list whose sort key has `arity` parts. */
export function pageRequest(
  scope: CursorScope,
  query: { limit?: number; cursor?: string },
  arity: number,
): PageRequest {
  return {
    limit: query.limit ?? DEFAULT_PAGE_LIMIT,
    after: query.cursor === undefined ? undefined : decodeCursor(scope, query.cursor, arity),
  };
}

/** Orders two sort keys part by part (numbers numerically, strings by UTF-16 code units). */
export function compareKeys(a: CursorKey, b: CursorKey): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/**
 * One page of a list already held in memory: sorts by `keyOf`, keeps what comes after `request.after`,
 * takes `request.limit`. `nextCursor` is null on the last page.
 */
export function pageOf<T>(
  items: readonly T[],
  keyOf: (item: T) => CursorKey,
  request: PageRequest,
  scope: CursorScope,
): Page<T> {
  const after = request.after;
  const sorted = [...items]
    .map((item) => ({ item, key: keyOf(item) }))
    .filter((x) => after === undefined || compareKeys(x.key, after) > 0)
    .sort((a, b) => compareKeys(a.key, b.key));
  const taken = sorted.slice(0, request.limit);
  const more = sorted.length > request.limit;
  return {
    items: taken.map((x) => x.item),
    nextCursor: more ? encodeCursor(scope, taken.at(-1)!.key) : null,
  };
}

/** The OpenAPI description of `?limit=&cursor=`. */
export const ApiPageQuery = () =>
  applyDecorators(
    ApiQuery({
      name: 'limit',
      required: false,
      description: `Items per page, 1–${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT})`,
      example: DEFAULT_PAGE_LIMIT,
    }),
    ApiQuery({
      name: 'cursor',
      required: false,
      description:
        "The previous page's `nextCursor` (opaque; valid only with the same caller and filters, else 400 `validation-failed`)",
    }),
  );

/** `nextCursor` in a list response's schema. */
export const nextCursorField = z
  .string()
  .nullable()
  .describe('Pass as `?cursor=` for the next page; null on the last page');
