import type { KeyCreated, KeyEvent } from '@tollgate/contracts';
import { givenWhen } from './given-when-then';
import { keyDecider, type KeyCommand } from './key.decider';
import { DEFAULT_KEY_POLICY } from './policy';
import { DAY_MS } from './time';

const now = Date.parse('2026-11-26T06:30:00.000Z');
const hash = 'a'.repeat(64);
const created: KeyCreated = {
  keyId: 'key_0000000000000001',
  kind: 'user-key',
  secretHash: hash,
  name: 'ci',
  userId: 'usr_0000000000000001',
  scope: 'inference',
  expiresAt: '2027-11-26T06:30:00.000Z',
  createdAt: '2026-11-26T06:30:00.000Z',
};
const KeyCreated = (data = created): KeyEvent => ({ type: 'KeyCreated', data });
const KeyRevoked = (reason: 'user' | 'admin' = 'user', revokedAt = '2026-11-26T07:00:00.000Z'): KeyEvent => ({
  type: 'KeyRevoked',
  data: { keyId: created.keyId, reason, revokedAt },
});
const createUserKey = (requestedExpiresAt?: number | null): KeyCommand => ({
  type: 'CreateUserKey',
  keyId: created.keyId,
  secretHash: hash,
  userId: created.userId!,
  name: 'ci',
  scope: 'inference',
  requestedExpiresAt,
  policy: DEFAULT_KEY_POLICY,
  now,
});
const revoke = (reason: 'user' | 'admin' | 'user-deactivated' = 'user'): KeyCommand => ({
  type: 'RevokeKey',
  reason,
  now: now + 60_000,
});

describe('key decider: given events, when a command, then events', () => {
  it.each<[string, KeyEvent[], KeyCommand, ReturnType<typeof givenWhen>]>([
    ['create with the policy default expiry', [], createUserKey(), { events: [KeyCreated()] }],
    [
      'create with an explicit expiry',
      [],
      createUserKey(now + DAY_MS),
      { events: [KeyCreated({ ...created, expiresAt: '2026-11-27T06:30:00.000Z' })] },
    ],
    ['create beyond the maximum', [], createUserKey(now + 366 * DAY_MS), { error: 'key-lifetime-exceeds-policy' }],
    ['create in the past', [], createUserKey(now - 1), { error: 'validation-failed' }],
    ['create never-expiring under a maximum', [], createUserKey(null), { error: 'key-lifetime-exceeds-policy' }],
    ['create an existing key', [KeyCreated()], createUserKey(), { error: 'conflict' }],
    [
      'revoke an active key',
      [KeyCreated()],
      revoke(),
      {
        events: [
          { type: 'KeyRevoked', data: { keyId: created.keyId, reason: 'user', revokedAt: '2026-11-26T06:31:00.000Z' } },
        ],
      },
    ],
    [
      'revoke on deactivation',
      [KeyCreated()],
      revoke('user-deactivated'),
      {
        events: [
          {
            type: 'KeyRevoked',
            data: { keyId: created.keyId, reason: 'user-deactivated', revokedAt: '2026-11-26T06:31:00.000Z' },
          },
        ],
      },
    ],
    [
      'revoke a revoked key: nothing (idempotent)',
      [KeyCreated(), KeyRevoked()],
      revoke('user-deactivated'),
      { events: [] },
    ],
    ['revoke an unknown key', [], revoke(), { error: 'not-found' }],
  ])('%s', (_what, given, when, then) => {
    expect(givenWhen(keyDecider, given, when)).toEqual(then);
  });

  it('never puts a secret in an event: only the hash', () => {
    const result = givenWhen(keyDecider, [], createUserKey());
    expect(JSON.stringify(result)).not.toMatch(/tg[ima]_/);
    expect(result).toMatchObject({ events: [{ data: { secretHash: hash } }] });
  });
});
