import { describe, expect, it } from '@jest/globals';
import { foldKeyUsage, KEY_USAGE_MAX_AHEAD_MS } from './key-usage';

const NOW = Date.parse('2026-12-05T08:30:10.000Z');
const batch = (keys: [string, string][], replicaId = 'authz-1') => ({
  type: 'KeysUsed',
  replicaId,
  publishedAt: '2026-12-05T08:30:00.000Z',
  keys: keys.map(([keyId, lastUsedAt]) => ({ keyId, lastUsedAt })),
});

describe('foldKeyUsage', () => {
  it('keeps the latest minute per key across replicas and batches, sorted by key id', () => {
    const folded = foldKeyUsage(
      [
        batch([
          ['key_b', '2026-12-05T08:20:00.000Z'],
          ['key_a', '2026-12-05T08:29:00.000Z'],
        ]),
        batch([['key_b', '2026-12-05T08:25:00.000Z']], 'authz-2'),
        batch([['key_a', '2026-12-05T08:21:00.000Z']], 'authz-2'),
      ],
      NOW,
    );
    expect(folded).toEqual({
      uses: [
        { keyId: 'key_a', lastUsedAt: '2026-12-05T08:29:00.000Z' },
        { keyId: 'key_b', lastUsedAt: '2026-12-05T08:25:00.000Z' },
      ],
      invalid: 0,
      ahead: 0,
    });
  });

  it('skips messages that are not a valid KeysUsed, and entries too far in the future', () => {
    const ahead = new Date(NOW + KEY_USAGE_MAX_AHEAD_MS + 60_000).toISOString().replace(/:\d\d\.\d{3}Z$/, ':00.000Z');
    const folded = foldKeyUsage(
      [
        undefined,
        { type: 'KeysUsed', replicaId: 'r', publishedAt: '2026-12-05T08:30:00.000Z', keys: [] },
        batch([['key_a', '2026-12-05T08:29:30.000Z']]), // not on a minute
        batch([['../etc', '2026-12-05T08:29:00.000Z']]), // not a key id
        { ...batch([['key_a', '2026-12-05T08:29:00.000Z']]), extra: 1 },
        batch([
          ['key_future', ahead],
          ['key_ok', '2026-12-05T08:34:00.000Z'],
        ]),
      ],
      NOW,
    );
    expect(folded).toEqual({
      uses: [{ keyId: 'key_ok', lastUsedAt: '2026-12-05T08:34:00.000Z' }],
      invalid: 5,
      ahead: 1,
    });
  });
});
