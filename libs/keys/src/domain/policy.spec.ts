import { ApiError } from '@tollgate/contracts';
import {
  ABSOLUTE_MAX_LIFETIME_DAYS,
  DEFAULT_KEY_POLICY,
  maxServiceTokenLifetime,
  resolveKeyExpiry,
  validateKeyPolicy,
  type KeyPolicy,
} from './policy';
import { DAY_MS } from './time';

const now = Date.parse('2026-11-26T06:30:00.000Z');
const T = { maxServiceTokenLifetimeSeconds: 3600 };
const capped: KeyPolicy = { defaultLifetimeDays: 30, maxLifetimeDays: 90, ...T };
const unbounded: KeyPolicy = { defaultLifetimeDays: 30, maxLifetimeDays: null, ...T };

const outcome = (policy: KeyPolicy, requested: number | null | undefined): number | null | string => {
  try {
    return resolveKeyExpiry(policy, requested, now);
  } catch (error) {
    return (error as ApiError).code;
  }
};

describe('resolveKeyExpiry (policy math)', () => {
  it.each<[string, KeyPolicy, number | null | undefined, number | null | string]>([
    ['no expiresAt: now + default (365/365)', DEFAULT_KEY_POLICY, undefined, now + 365 * DAY_MS],
    ['no expiresAt: now + default', capped, undefined, now + 30 * DAY_MS],
    ['no expiresAt, no maximum: now + default', unbounded, undefined, now + 30 * DAY_MS],
    ['a time within the maximum is kept', capped, now + 10 * DAY_MS, now + 10 * DAY_MS],
    ['exactly the maximum is allowed', capped, now + 90 * DAY_MS, now + 90 * DAY_MS],
    ['one ms past the maximum: 422', capped, now + 90 * DAY_MS + 1, 'key-lifetime-exceeds-policy'],
    ['never expiring with a maximum: 422', capped, null, 'key-lifetime-exceeds-policy'],
    ['never expiring without a maximum: null', unbounded, null, null],
    ['in the past: 400', capped, now - 1, 'validation-failed'],
    ['exactly now: 400', capped, now, 'validation-failed'],
    [
      'year 9999 under a maximum: 422 (past the maximum)',
      capped,
      Date.parse('9999-12-31T23:59:59.999Z'),
      'key-lifetime-exceeds-policy',
    ],
    [
      'far beyond the maximum, no maximum: 400 (absurd)',
      unbounded,
      now + (ABSOLUTE_MAX_LIFETIME_DAYS + 1) * DAY_MS,
      'validation-failed',
    ],
    [
      '100 years without a maximum is allowed',
      unbounded,
      now + ABSOLUTE_MAX_LIFETIME_DAYS * DAY_MS,
      now + ABSOLUTE_MAX_LIFETIME_DAYS * DAY_MS,
    ],
    ['not a number: 400', unbounded, Number.NaN, 'validation-failed'],
  ])('%s', (_what, policy, requested, expected) => {
    expect(outcome(policy, requested)).toEqual(expected);
  });

  it('states the maximum in the 422 message', () => {
    expect(() => resolveKeyExpiry(capped, now + 91 * DAY_MS, now)).toThrow(/maximum lifetime of 90 days/);
    expect(() => resolveKeyExpiry(capped, null, now)).toThrow(/maximum lifetime is 90 days/);
  });
});

describe('validateKeyPolicy', () => {
  it.each<[KeyPolicy, boolean]>([
    [{ defaultLifetimeDays: 365, maxLifetimeDays: 365, ...T }, true],
    [{ defaultLifetimeDays: 1, maxLifetimeDays: 2, ...T }, true],
    [{ defaultLifetimeDays: 400, maxLifetimeDays: null, ...T }, true],
    [{ defaultLifetimeDays: 31, maxLifetimeDays: 30, ...T }, false],
    [{ defaultLifetimeDays: 30, maxLifetimeDays: 30, maxServiceTokenLifetimeSeconds: 86_400 }, true],
    [{ defaultLifetimeDays: 30, maxLifetimeDays: 30, maxServiceTokenLifetimeSeconds: 3599 }, false],
    [{ defaultLifetimeDays: 30, maxLifetimeDays: 30, maxServiceTokenLifetimeSeconds: 86_401 }, false],
    [{ defaultLifetimeDays: 30, maxLifetimeDays: 30, maxServiceTokenLifetimeSeconds: 3600.5 }, false],
  ])('%j valid: %s', (policy, valid) => {
    if (valid) expect(() => validateKeyPolicy(policy)).not.toThrow();
    else expect(() => validateKeyPolicy(policy)).toThrow(expect.objectContaining({ code: 'validation-failed' }));
  });
});

describe('maxServiceTokenLifetime', () => {
  const raised: KeyPolicy = { ...capped, maxServiceTokenLifetimeSeconds: 86_400 };
  it('gives machine users what the policy allows and everyone else 3600', () => {
    expect(maxServiceTokenLifetime(raised, 'machine')).toBe(86_400);
    expect(maxServiceTokenLifetime(raised, 'internal')).toBe(3600);
    expect(maxServiceTokenLifetime(raised, 'external')).toBe(3600);
    expect(maxServiceTokenLifetime(raised, undefined)).toBe(3600);
    expect(maxServiceTokenLifetime(capped, 'machine')).toBe(3600);
  });
});
