import type { KeyCreated, KeyEvent, KeyRevocationReason, KeyRevoked, KeyScope } from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import { keyAlreadyExists, keyNotFound } from './errors';
import { resolveKeyExpiry, type KeyPolicy } from './policy';
import { iso } from './time';

/**
 * One key's lifecycle (stream `key-<keyId>`): created once, revoked at most once. User API keys and model
 * access keys share it, so a revocation is the same event whatever the key.
 */
export type KeyState =
  | { status: 'absent' }
  | { status: 'active'; key: KeyCreated }
  | { status: 'revoked'; key: KeyCreated; revocation: KeyRevoked };

export interface CreateUserKey {
  type: 'CreateUserKey';
  keyId: string;
  /** SHA-256 hex of the secret; the secret itself never reaches a command or an event. */
  secretHash: string;
  userId: string;
  name: string;
  scope: KeyScope;
  /** What the client asked for: undefined (policy default), null (never) or epoch ms. */
  requestedExpiresAt: number | null | undefined;
  policy: KeyPolicy;
  now: number;
}

/** Appends a fully formed `KeyCreated` (access keys: the slot decider builds it). */
export interface CreateKey {
  type: 'CreateKey';
  key: KeyCreated;
}

export interface RevokeKey {
  type: 'RevokeKey';
  reason: KeyRevocationReason;
  now: number;
}

export type KeyCommand = CreateUserKey | CreateKey | RevokeKey;

/** The revocation of an active key (the decider's, and a bulk revocation's for each key it covers). */
export const keyRevoked = (keyId: string, reason: KeyRevocationReason, now: number): KeyEvent => ({
  type: 'KeyRevoked',
  data: { keyId, reason, revokedAt: iso(now) },
});

export const keyDecider: Decider<KeyCommand, KeyEvent, KeyState> = {
  initialState: { status: 'absent' },

  decide(command, state) {
    switch (command.type) {
      case 'CreateUserKey': {
        if (state.status !== 'absent') throw keyAlreadyExists(command.keyId);
        const expiresAt = resolveKeyExpiry(command.policy, command.requestedExpiresAt, command.now);
        return [
          {
            type: 'KeyCreated',
            data: {
              keyId: command.keyId,
              kind: 'user-key',
              secretHash: command.secretHash,
              name: command.name,
              userId: command.userId,
              scope: command.scope,
              expiresAt: expiresAt === null ? null : iso(expiresAt),
              createdAt: iso(command.now),
            },
          },
        ];
      }
      case 'CreateKey':
        if (state.status !== 'absent') throw keyAlreadyExists(command.key.keyId);
        return [{ type: 'KeyCreated', data: command.key }];
      case 'RevokeKey':
        if (state.status === 'absent') throw keyNotFound();
        // Revoking twice is a no-op: a redelivered or repeated request never writes a second revocation.
        if (state.status === 'revoked') return [];
        return [keyRevoked(state.key.keyId, command.reason, command.now)];
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'KeyCreated':
        return { status: 'active', key: event.data };
      case 'KeyRevoked':
        return state.status === 'absent' ? state : { status: 'revoked', key: state.key, revocation: event.data };
      default:
        return state;
    }
  },
};
