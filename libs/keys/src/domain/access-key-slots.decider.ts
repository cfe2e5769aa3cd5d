import type { AccessKeySlot, KeyEvent } from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';
import { accessKeySlotEmpty } from './errors';
import { iso } from './time';

/**
 * A deployment's two model access key slots. Folded from the `KeyCreated`/`KeyRevoked` events of that
 * deployment's access keys; its events go to each key's own stream (`key-<keyId>`), so the caller appends
 * them one by one (new key first: the slot is never empty during a rotation) under a per-slot lock.
 * A slot normally holds one active key; it may hold more after a crash between the two appends of a
 * rotation, and the next rotation or revocation clears them all.
 */
export interface SlotKey {
  keyId: string;
  createdAt: string;
}

export interface AccessKeySlotsState {
  slots: Record<AccessKeySlot, SlotKey[]>;
}

export interface RotateSlot {
  type: 'RotateSlot';
  deploymentId: string;
  slot: AccessKeySlot;
  keyId: string;
  secretHash: string;
  now: number;
}

export interface RevokeSlot {
  type: 'RevokeSlot';
  deploymentId: string;
  slot: AccessKeySlot;
  now: number;
}

export type AccessKeySlotsCommand = RotateSlot | RevokeSlot;

export const accessKeySlotsDecider: Decider<AccessKeySlotsCommand, KeyEvent, AccessKeySlotsState> = {
  initialState: { slots: { primary: [], secondary: [] } },

  decide(command, state) {
    const occupants = state.slots[command.slot];
    const revokedAt = iso(command.now);
    switch (command.type) {
      case 'RotateSlot':
        return [
          {
            type: 'KeyCreated',
            data: {
              keyId: command.keyId,
              kind: 'access-key',
              secretHash: command.secretHash,
              deploymentId: command.deploymentId,
              slot: command.slot,
              expiresAt: null,
              createdAt: iso(command.now),
            },
          },
          ...occupants.map((k): KeyEvent => ({
            type: 'KeyRevoked',
            data: { keyId: k.keyId, reason: 'rotated', revokedAt },
          })),
        ];
      case 'RevokeSlot':
        if (occupants.length === 0) throw accessKeySlotEmpty(command.deploymentId, command.slot);
        return occupants.map((k) => ({
          type: 'KeyRevoked',
          data: { keyId: k.keyId, reason: 'slot-revoked', revokedAt },
        }));
    }
  },

  evolve(state, event) {
    if (event.type === 'KeyCreated' && event.data.kind === 'access-key' && event.data.slot) {
      const slot = event.data.slot;
      return {
        slots: {
          ...state.slots,
          [slot]: [...state.slots[slot], { keyId: event.data.keyId, createdAt: event.data.createdAt }],
        },
      };
    }
    if (event.type === 'KeyRevoked') {
      const keyId = event.data.keyId;
      return {
        slots: {
          primary: state.slots.primary.filter((k) => k.keyId !== keyId),
          secondary: state.slots.secondary.filter((k) => k.keyId !== keyId),
        },
      };
    }
    return state;
  },
};
