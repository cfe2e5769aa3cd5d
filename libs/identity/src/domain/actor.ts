/**
 * Who asks for a change, as the deciders see it. `admin` is the Tollgate admin flag; IdP channels act as
 * `idp:<connectorId>` and are never admins: what they may touch is decided by the channel (only the users
 * linked to their own connector).
 */
export interface Actor {
  userId: string;
  admin: boolean;
}

/** Group names are exact, case-sensitive strings (CONTRACT section 1); this bounds their size. */
export const MAX_GROUP_NAME_LENGTH = 256;
export const MAX_GROUPS_PER_USER = 1000;

/** Characters, not UTF-16 units: a name of 200 emoji is 200 characters. */
export const characterCount = (value: string): number => [...value].length;

/** The distinct group names of `groups` in first-seen order. */
export function distinctGroups(groups: Iterable<string>): string[] {
  return [...new Set(groups)];
}

/** Same set, whatever the order. */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}
