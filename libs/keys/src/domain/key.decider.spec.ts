import type { KeyCreated, KeyEvent } from '@tollgate/contracts';
import { givenWhen } from './given-when-then';
import { keyDecider, keyStopsAt, type KeyCommand } from './key.decider';
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

describe('key decider: rotation', () => {
  const successor = 'key_0000000000000002';
  const rotate = (overlapMs: number, at = now + 60_000): KeyCommand => ({
    type: 'RotateKey',
    successorKeyId: successor,
    revokesAt: at + overlapMs,
    now: at,
  });
  const KeyRotated = (revokesAt: string, rotatedAt = '2026-11-26T06:31:00.000Z'): KeyEvent => ({
    type: 'KeyRotated',
    data: { keyId: created.keyId, successorKeyId: successor, rotatedAt, revokesAt },
  });
  const accessKey: KeyCreated = {
    keyId: created.keyId,
    kind: 'access-key',
    secretHash: hash,
    deploymentId: 'dep_0000000000000001',
    slot: 'primary',
    expiresAt: null,
    createdAt: created.createdAt,
  };

  it.each<[string, KeyEvent[], KeyCommand, ReturnType<typeof givenWhen>]>([
    [
      'rotate an active key: it ends after the overlap',
      [KeyCreated()],
      rotate(3_600_000),
      { events: [KeyRotated('2026-11-26T07:31:00.000Z')] },
    ],
    ['overlap 0: it ends now', [KeyCreated()], rotate(0), { events: [KeyRotated('2026-11-26T06:31:00.000Z')] }],
    [
      'an overlap past the key expiry ends at the expiry (never extends a key)',
      [KeyCreated({ ...created, expiresAt: '2026-11-26T08:00:00.000Z' })],
      rotate(7 * DAY_MS),
      { events: [KeyRotated('2026-11-26T08:00:00.000Z')] },
    ],
    [
      'a never-expiring key ends after the overlap',
      [KeyCreated({ ...created, expiresAt: null })],
      rotate(DAY_MS),
      { events: [KeyRotated('2026-11-27T06:31:00.000Z')] },
    ],
    ['rotate a revoked key: 409', [KeyCreated(), KeyRevoked()], rotate(1000), { error: 'conflict' }],
    [
      'rotate an expired key: 409',
      [KeyCreated({ ...created, expiresAt: '2026-11-26T06:30:30.000Z' })],
      rotate(1000),
      { error: 'conflict' },
    ],
    [
      'rotate again while the overlap runs: 409',
      [KeyCreated(), KeyRotated('2026-11-26T07:31:00.000Z')],
      rotate(1000),
      { error: 'conflict' },
    ],
    [
      'rotate again after the overlap, before the sweeper revoked it: 409',
      [KeyCreated(), KeyRotated('2026-11-26T06:30:50.000Z')],
      rotate(1000),
      { error: 'conflict' },
    ],
    ['rotate an unknown key: 404', [], rotate(1000), { error: 'not-found' }],
    [
      'rotate an access key: 404 (slots rotate their own way)',
      [KeyCreated(accessKey)],
      rotate(1000),
      {
        error: 'not-found',
      },
    ],
    [
      'the sweeper revokes a rotated key (reason rotated)',
      [KeyCreated(), KeyRotated('2026-11-26T06:31:00.000Z')],
      { type: 'RevokeKey', reason: 'rotated', now: now + 120_000 },
      {
        events: [
          {
            type: 'KeyRevoked',
            data: { keyId: created.keyId, reason: 'rotated', revokedAt: '2026-11-26T06:32:00.000Z' },
          },
        ],
      },
    ],
    [
      'a second sweep writes nothing',
      [KeyCreated(), KeyRotated('2026-11-26T06:31:00.000Z'), KeyRevoked()],
      { type: 'RevokeKey', reason: 'rotated', now: now + 120_000 },
      { events: [] },
    ],
  ])('%s', (_what, given, when, then) => {
    expect(givenWhen(keyDecider, given, when)).toEqual(then);
  });

  it('keyStopsAt is min(expiresAt, revokesAt)', () => {
    const r = (revokesAt: string) => ({ revokesAt });
    expect(keyStopsAt({ expiresAt: '2027-01-01T00:00:00.000Z' })).toBe(Date.parse('2027-01-01T00:00:00.000Z'));
    expect(keyStopsAt({ expiresAt: '2027-01-01T00:00:00.000Z' }, r('2026-12-01T00:00:00.000Z'))).toBe(
      Date.parse('2026-12-01T00:00:00.000Z'),
    );
    expect(keyStopsAt({ expiresAt: '2026-11-01T00:00:00.000Z' }, r('2026-12-01T00:00:00.000Z'))).toBe(
      Date.parse('2026-11-01T00:00:00.000Z'),
    );
    expect(keyStopsAt({ expiresAt: null }, r('2026-12-01T00:00:00.000Z'))).toBe(Date.parse('2026-12-01T00:00:00.000Z'));
    expect(keyStopsAt({ expiresAt: null })).toBeNull();
  });
});
