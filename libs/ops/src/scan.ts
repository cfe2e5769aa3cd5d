import { findKeysInText, hashSecret } from '@tollgate/authn';
import type { AccessModel } from '@tollgate/access-model';
import { keyState } from '@tollgate/access-model';

export interface ScanFinding {
  /** Where in the text: 1-based line and column. */
  line: number;
  column: number;
  kind: 'inference' | 'management' | 'access';
  /** Only the prefix and the last 4 characters: the report itself must not leak the key. */
  redacted: string;
  /** Known to Tollgate: its id, owner and state at the time of the scan. */
  keyId: string | null;
  owner: string | null;
  deploymentId: string | null;
  state: 'valid' | 'revoked' | 'expired' | 'unknown';
  /** The secret, kept in memory only for `--revoke`; never printed. */
  readonly secretHash: string;
}

/**
 * Finds Tollgate keys in text by prefix and checksum (so random look-alikes are not reported), and tells
 * for each whether Tollgate knows it: the GitHub secret-scanning case.
 */
export function scanText(text: string, model: AccessModel | undefined, now = Date.now()): ScanFinding[] {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (index: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  return findKeysInText(text).map((match) => {
    const line = lineOf(match.index);
    const secretHash = hashSecret(match.key);
    const record = model?.keyByHash(secretHash);
    const owner = record?.userId ? (model?.user(record.userId)?.name ?? record.userId) : null;
    return {
      line: line + 1,
      column: match.index - lineStarts[line]! + 1,
      kind: match.kind,
      redacted: `${match.key.slice(0, 4)}…${match.key.slice(-4)}`,
      keyId: record?.keyId ?? null,
      owner,
      deploymentId: record?.deploymentId ?? null,
      state: record ? keyState(record, now) : 'unknown',
      secretHash,
    };
  });
}
