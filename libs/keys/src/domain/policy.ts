import {
  SERVICE_TOKEN_CEILING_LIFETIME_SECONDS,
  SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS,
} from '@tollgate/contracts';
import { DAY_MS, iso } from './time';
import { invalidField, lifetimeExceedsPolicy, neverExpiringNotAllowed } from './errors';

/**
 * The key policy (CONTRACT section 3): default and maximum lifetime of user API keys, in days, and the longest
 * service token a machine user may ask for, in seconds (others: always 3600).
 */
export interface KeyPolicy {
  defaultLifetimeDays: number;
  /** null: no maximum; only then may a key be created that never expires. */
  maxLifetimeDays: number | null;
  /** 3600..86400, default 3600. Applies to machine users' `POST /v1/tokens` only. */
  maxServiceTokenLifetimeSeconds: number;
}

export const DEFAULT_KEY_POLICY: Readonly<KeyPolicy> = Object.freeze({
  defaultLifetimeDays: 365,
  maxLifetimeDays: 365,
  maxServiceTokenLifetimeSeconds: SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS,
});

/**
 * The longest service token a user of this kind may get under `policy` (seconds): machine users up to the
 * policy's `maxServiceTokenLifetimeSeconds`, everyone else 3600 (CONTRACT section 3), whatever the policy says.
 */
export function maxServiceTokenLifetime(policy: KeyPolicy, userKind: string | undefined): number {
  return userKind === 'machine' ? policy.maxServiceTokenLifetimeSeconds : SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS;
}

/**
 * Upper bound of any lifetime, in days (100 years). A larger policy value or a later `expiresAt` is refused as
 * absurd (400), which also keeps every computed date far inside what `Date` can represent.
 */
export const ABSOLUTE_MAX_LIFETIME_DAYS = 36_500;

/** Checks a policy: the service-token range and the cross-field rule (the request schema checks the rest). */
export function validateKeyPolicy(policy: KeyPolicy): void {
  const tokens = policy.maxServiceTokenLifetimeSeconds;
  if (
    !Number.isInteger(tokens) ||
    tokens < SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS ||
    tokens > SERVICE_TOKEN_CEILING_LIFETIME_SECONDS
  ) {
    throw invalidField(
      'maxServiceTokenLifetimeSeconds',
      `must be an integer from ${SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS} to ${SERVICE_TOKEN_CEILING_LIFETIME_SECONDS}`,
    );
  }
  if (policy.maxLifetimeDays !== null && policy.defaultLifetimeDays > policy.maxLifetimeDays) {
    throw invalidField('defaultLifetimeDays', `must not exceed maxLifetimeDays (${policy.maxLifetimeDays})`);
  }
}

/**
 * The expiry of a new user key under `policy`, as epoch ms, or null for a key that never expires.
 * - no `expiresAt` (undefined): now + the default lifetime;
 * - `null`: never expires, allowed only when the policy has no maximum (else 422);
 * - in the past (or now): 400;
 * - beyond now + the maximum lifetime: 422 `key-lifetime-exceeds-policy`, stating the maximum;
 * - without a maximum, more than 100 years ahead: 400 (absurd).
 */
export function resolveKeyExpiry(policy: KeyPolicy, requested: number | null | undefined, now: number): number | null {
  if (requested === undefined) return now + policy.defaultLifetimeDays * DAY_MS;
  if (requested === null) {
    if (policy.maxLifetimeDays !== null) throw neverExpiringNotAllowed(policy.maxLifetimeDays);
    return null;
  }
  if (!Number.isFinite(requested)) throw invalidField('expiresAt', 'must be a valid time');
  if (requested <= now) throw invalidField('expiresAt', 'must be in the future');
  if (policy.maxLifetimeDays !== null) {
    const latest = now + policy.maxLifetimeDays * DAY_MS;
    if (requested > latest) throw lifetimeExceedsPolicy(policy.maxLifetimeDays, iso(latest));
  }
  // Without a maximum, still nothing absurd (the policy's own maximum is within this bound).
  if (requested > now + ABSOLUTE_MAX_LIFETIME_DAYS * DAY_MS) {
    throw invalidField('expiresAt', `must be within ${ABSOLUTE_MAX_LIFETIME_DAYS} days from now`);
  }
  return requested;
}
