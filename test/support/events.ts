import { hashSecret } from '@tollgate/authn';
import type { KeyCreated, UserCreated } from '@tollgate/contracts';

/**
 * Builders of domain events for integration tests that write the writers' stores directly (the way the keys
 * and identity services would), so each test names only what matters to it.
 */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** `UserCreated` for an internal, non-admin user named after its id (`usr_alice` → `alice`), overridable. */
export function userCreated(
  userId: string,
  createdAt: number,
  over: Partial<UserCreated> = {},
): { type: 'UserCreated'; data: UserCreated } {
  return {
    type: 'UserCreated',
    data: {
      userId,
      name: userId.replace(/^usr_/, ''),
      kind: 'internal',
      admin: false,
      email: null,
      createdAt: iso(createdAt),
      ...over,
    },
  };
}

/** `KeyCreated` for a user's never-expiring management key with this secret, overridable. */
export function userKeyCreated(
  keyId: string,
  userId: string,
  secret: string,
  createdAt: number,
  over: Partial<KeyCreated> = {},
): { type: 'KeyCreated'; data: KeyCreated } {
  return {
    type: 'KeyCreated',
    data: {
      keyId,
      kind: 'user-key',
      secretHash: hashSecret(secret),
      userId,
      scope: 'management',
      expiresAt: null,
      createdAt: iso(createdAt),
      ...over,
    },
  };
}
