import type { KeyEvent } from '@tollgate/contracts';
import { accessKeySlotsDecider, type AccessKeySlotsCommand } from './access-key-slots.decider';
import { givenWhen } from './given-when-then';

const now = Date.parse('2026-11-26T06:30:00.000Z');
const at = '2026-11-26T06:30:00.000Z';
const dep = 'dep_0000000000000001';
const hash = 'b'.repeat(64);
const created = (keyId: string, slot: 'primary' | 'secondary'): KeyEvent => ({
  type: 'KeyCreated',
  data: {
    keyId,
    kind: 'access-key',
    secretHash: hash,
    deploymentId: dep,
    slot,
    expiresAt: null,
    createdAt: '2026-11-01T00:00:00.000Z',
  },
});
const revoked = (keyId: string): KeyEvent => ({
  type: 'KeyRevoked',
  data: { keyId, reason: 'slot-revoked', revokedAt: '2026-11-02T00:00:00.000Z' },
});
const rotate = (slot: 'primary' | 'secondary', keyId = 'key_new'): AccessKeySlotsCommand => ({
  type: 'RotateSlot',
  deploymentId: dep,
  slot,
  keyId,
  secretHash: hash,
  now,
});
const revokeSlot = (slot: 'primary' | 'secondary'): AccessKeySlotsCommand => ({
  type: 'RevokeSlot',
  deploymentId: dep,
  slot,
  now,
});
const newKey = (slot: 'primary' | 'secondary'): KeyEvent => ({
  type: 'KeyCreated',
  data: {
    keyId: 'key_new',
    kind: 'access-key',
    secretHash: hash,
    deploymentId: dep,
    slot,
    expiresAt: null,
    createdAt: at,
  },
});
const revokedNow = (keyId: string, reason: 'rotated' | 'slot-revoked'): KeyEvent => ({
  type: 'KeyRevoked',
  data: { keyId, reason, revokedAt: at },
});

describe('access-key slots decider', () => {
  it.each<[string, KeyEvent[], AccessKeySlotsCommand, ReturnType<typeof givenWhen>]>([
    ['rotate an empty slot: a new key, nothing revoked', [], rotate('primary'), { events: [newKey('primary')] }],
    [
      'rotate an occupied slot: the new key first, then the old one revoked as rotated',
      [created('key_a', 'primary')],
      rotate('primary'),
      { events: [newKey('primary'), revokedNow('key_a', 'rotated')] },
    ],
    [
      'rotate one slot leaves the other alone',
      [created('key_a', 'primary')],
      rotate('secondary'),
      { events: [newKey('secondary')] },
    ],
    [
      'a revoked key is no longer in its slot',
      [created('key_a', 'primary'), revoked('key_a')],
      rotate('primary'),
      { events: [newKey('primary')] },
    ],
    [
      'after a crash mid-rotation (two active keys), the next rotation revokes both',
      [created('key_a', 'primary'), created('key_b', 'primary')],
      rotate('primary'),
      { events: [newKey('primary'), revokedNow('key_a', 'rotated'), revokedNow('key_b', 'rotated')] },
    ],
    [
      'revoke an occupied slot',
      [created('key_a', 'secondary')],
      revokeSlot('secondary'),
      { events: [revokedNow('key_a', 'slot-revoked')] },
    ],
    ['revoke an empty slot: 404', [created('key_a', 'primary')], revokeSlot('secondary'), { error: 'not-found' }],
    [
      'revoke a slot twice: 404 the second time',
      [created('key_a', 'primary'), revoked('key_a')],
      revokeSlot('primary'),
      { error: 'not-found' },
    ],
  ])('%s', (_what, given, when, then) => {
    expect(givenWhen(accessKeySlotsDecider, given, when)).toEqual(then);
  });
});
