import type { UserCreated } from '@tollgate/contracts';

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
