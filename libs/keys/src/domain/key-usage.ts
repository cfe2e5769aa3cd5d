import { keysUsed, type KeyUse } from '@tollgate/contracts';

/**
 * A `KeysUsed` minute further ahead of the keys service's clock than this is not believed: replicas' clocks
 * drift by seconds, not minutes, and a value from the future would pin a key's "last used" (it only moves
 * forward) until that time.
 */
export const KEY_USAGE_MAX_AHEAD_MS = 5 * 60_000;

export interface FoldedUsage {
  /** One entry per key: the latest minute any of the messages gave it, by key id (a stable lock order). */
  uses: KeyUse[];
  /** Messages that are not a valid `KeysUsed` (skipped: usage is informative, never a reason to halt). */
  invalid: number;
  /** Entries dropped for being too far in the future. */
  ahead: number;
}

/**
 * Folds raw messages of the key-usage topic into what to store: validated, at most one entry per key with
 * its latest minute (ISO minutes compare as strings), entries from the future dropped.
 */
export function foldKeyUsage(messages: readonly unknown[], now: number): FoldedUsage {
  const latest = new Map<string, string>();
  const limit = now + KEY_USAGE_MAX_AHEAD_MS;
  let invalid = 0;
  let ahead = 0;
  for (const raw of messages) {
    const parsed = keysUsed.safeParse(raw);
    if (!parsed.success) {
      invalid++;
      continue;
    }
    for (const { keyId, lastUsedAt } of parsed.data.keys) {
      if (Date.parse(lastUsedAt) > limit) {
        ahead++;
        continue;
      }
      const current = latest.get(keyId);
      if (current === undefined || current < lastUsedAt) latest.set(keyId, lastUsedAt);
    }
  }
  const uses = [...latest]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([keyId, lastUsedAt]) => ({ keyId, lastUsedAt }));
  return { uses, invalid, ahead };
}
