import type { ListedStream } from '../storage/directory-listing';

/** A page request of a list: the creation position to start after (0 first) and the page size. */
export interface ListWindow {
  after: number;
  limit: number;
}

/** A page of a list: the items and, when more follow, the creation position of the last one examined. */
export interface ListPage<T> {
  items: T[];
  /** Pass as the next window's `after`; undefined on the last page. */
  next?: number;
}

/**
 * One page of rows read `limit + 1` at a time (the extra row only says another page follows), each folded
 * into its view by `view`, which answers undefined for an object the caller may not see (the query
 * filtered by visibility already; this re-check covers a change committed between query and fold).
 */
export async function readPage<T>(
  window: ListWindow,
  read: (take: number) => Promise<ListedStream[]>,
  view: (row: ListedStream) => Promise<T | undefined>,
): Promise<ListPage<T>> {
  const rows = await read(window.limit + 1);
  const taken = rows.slice(0, window.limit);
  const views = await Promise.all(taken.map(view));
  return {
    items: views.filter((v): v is Awaited<T> => v !== undefined) as T[],
    next: rows.length > window.limit ? taken.at(-1)!.position : undefined,
  };
}
