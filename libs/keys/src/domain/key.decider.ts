import type { KeyCreated, KeyEvent, KeyRevocationReason, KeyRevoked, KeyRotated, KeyScope } from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import { keyAlreadyExists, keyAlreadyRotated, keyNotFound, keyNotRotatable } from './errors';
import { resolveKeyExpiry, type KeyPolicy } from './policy';
import { iso } from './time';

/**
 * One key's lifecycle (stream `key-<keyId>`): created once, revoked at most once. User API keys and model
 * access keys share it, so a revocation is the same event whatever the key.
 */
export type KeyState =
  | { status: 'absent' }
  | { status: 'active'; key: KeyCreated; rotation?: KeyRotated }
  | { status: 'revoked'; key: KeyCreated; revocation: KeyRevoked; rotation?: KeyRotated };

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

/**
 * Starts a rotation: `successorKeyId` (created in the same transaction) replaces the key, which stops working
 * at `revokesAt` (never later than its own expiry). Only an active, unexpired user key that is not already
 * being rotated can be rotated (else 409).
 */
export interface RotateKey {
  type: 'RotateKey';
  successorKeyId: string;
  /** epoch ms; at least `now`. */
  revokesAt: number;
  now: number;
}

export type KeyCommand = CreateUserKey | CreateKey | RevokeKey | RotateKey;

/** When a key stops working (epoch ms): min(expiresAt, a rotation's revokesAt); null: never. */
export function keyStopsAt(
  key: Pick<KeyCreated, 'expiresAt'>,
  rotation?: Pick<KeyRotated, 'revokesAt'>,
): number | null {
  const expires = key.expiresAt === null ? null : Date.parse(key.expiresAt);
  const revokes = rotation === undefined ? null : Date.parse(rotation.revokesAt);
  if (expires === null) return revokes;
  return revokes === null ? expires : Math.min(expires, revokes);
}

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
      case 'RotateKey': {
        if (state.status === 'absent' || state.key.kind !== 'user-key') throw keyNotFound();
        const { key } = state;
        if (state.status === 'revoked') throw keyNotRotatable(key.keyId, 'it is revoked');
        if (state.rotation) throw keyAlreadyRotated(state.rotation);
        const stopsAt = keyStopsAt(key);
        if (stopsAt !== null && stopsAt <= command.now) throw keyNotRotatable(key.keyId, 'it has expired');
        // The overlap never extends a key's life: it ends at the key's own expiry at the latest.
        const revokesAt = stopsAt === null ? command.revokesAt : Math.min(command.revokesAt, stopsAt);
        return [
          {
            type: 'KeyRotated',
            data: {
              keyId: key.keyId,
              successorKeyId: command.successorKeyId,
              rotatedAt: iso(command.now),
              revokesAt: iso(Math.max(revokesAt, command.now)),
            },
          },
        ];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'KeyCreated':
        return { status: 'active', key: event.data };
      case 'KeyRevoked':
        return state.status === 'absent' ? state : { ...state, status: 'revoked', revocation: event.data };
      case 'KeyRotated':
        return state.status === 'absent' ? state : { ...state, rotation: event.data };
      default:
        return state;
    }
  },
};
