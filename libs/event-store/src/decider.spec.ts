import { describe, expect, it } from '@jest/globals';
import { commandFingerprint, type Decider, fold, handleCommand } from './decider';
import { IdempotencyKeyReusedError, VersionConflictError } from './errors';
import { InMemoryEventStore } from './in-memory';
import type { AppendOptions, ExpectedVersion, NewEvent } from './types';

// A toy aggregate (a door) to pin down the Decider shape and handleCommand; real ones live in services.
type DoorEvent =
  | { type: 'DoorInstalled'; data: { name: string } }
  | { type: 'DoorLocked'; data: { by: string } }
  | { type: 'DoorUnlocked'; data: { by: string } };
type DoorCommand = { kind: 'install'; name: string } | { kind: 'lock'; by: string } | { kind: 'unlock'; by: string };
type DoorState = { installed: boolean; locked: boolean };

class DoorError extends Error {
  constructor(readonly code: 'not-installed' | 'already-installed') {
    super(code);
  }
}

const door: Decider<DoorCommand, DoorEvent, DoorState> = {
  initialState: { installed: false, locked: false },
  decide(command, state) {
    switch (command.kind) {
      case 'install':
        if (state.installed) throw new DoorError('already-installed');
        return [{ type: 'DoorInstalled', data: { name: command.name } }];
      case 'lock':
        if (!state.installed) throw new DoorError('not-installed');
        return state.locked ? [] : [{ type: 'DoorLocked', data: { by: command.by } }];
      case 'unlock':
        if (!state.installed) throw new DoorError('not-installed');
        return state.locked ? [{ type: 'DoorUnlocked', data: { by: command.by } }] : [];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'DoorInstalled':
        return { ...state, installed: true };
      case 'DoorLocked':
        return { ...state, locked: true };
      case 'DoorUnlocked':
        return { ...state, locked: false };
    }
  },
};

const installed: DoorEvent = { type: 'DoorInstalled', data: { name: 'front' } };
const locked: DoorEvent = { type: 'DoorLocked', data: { by: 'ann' } };

describe('Decider: given events, when command, then events', () => {
  const table: [string, DoorEvent[], DoorCommand, DoorEvent[] | string][] = [
    ['installs a new door', [], { kind: 'install', name: 'front' }, [installed]],
    ['refuses a second install', [installed], { kind: 'install', name: 'x' }, 'already-installed'],
    ['locks an unlocked door', [installed], { kind: 'lock', by: 'ann' }, [locked]],
    ['locking a locked door is a no-op', [installed, locked], { kind: 'lock', by: 'bob' }, []],
    ['unlocks', [installed, locked], { kind: 'unlock', by: 'bob' }, [{ type: 'DoorUnlocked', data: { by: 'bob' } }]],
    ['refuses to lock a door that does not exist', [], { kind: 'lock', by: 'ann' }, 'not-installed'],
  ];
  it.each(table)('%s', (_name, given, when, then) => {
    const state = fold(door, given);
    if (typeof then === 'string') expect(() => door.decide(when, state)).toThrow(then);
    else expect(door.decide(when, state)).toEqual(then);
  });
});

const meta = { actor: 'usr_ann', channel: 'rest', correlationId: 'req_1' };

describe('handleCommand', () => {
  it('loads, folds, decides and appends with the expected version', async () => {
    const store = new InMemoryEventStore();
    const first = await handleCommand(store, 'door_1', door, { kind: 'install', name: 'front' }, meta);
    expect(first).toMatchObject({ version: 1, replayed: false, state: { installed: true, locked: false } });
    expect(first.events[0]).toMatchObject({ type: 'DoorInstalled', streamVersion: 1, metadata: meta });
    const second = await handleCommand(store, 'door_1', door, { kind: 'lock', by: 'ann' }, meta);
    expect(second).toMatchObject({ version: 2, state: { locked: true } });
    expect((await store.readStream('door_1')).events.map((e) => e.type)).toEqual(['DoorInstalled', 'DoorLocked']);
  });

  it('appends nothing when the decider returns no events', async () => {
    const store = new InMemoryEventStore();
    await handleCommand(store, 'door_1', door, { kind: 'install', name: 'front' }, meta);
    const result = await handleCommand(store, 'door_1', door, { kind: 'unlock', by: 'ann' }, meta);
    expect(result).toMatchObject({ version: 1, events: [], replayed: false });
  });

  it('propagates domain errors without appending', async () => {
    const store = new InMemoryEventStore();
    await expect(handleCommand(store, 'door_1', door, { kind: 'lock', by: 'ann' }, meta)).rejects.toThrow(DoorError);
    expect((await store.readStream('door_1')).version).toBe(0);
  });

  it('retries after a version conflict, deciding again on the new state', async () => {
    const inner = new InMemoryEventStore();
    await handleCommand(inner, 'door_1', door, { kind: 'install', name: 'front' }, meta);
    await handleCommand(inner, 'door_1', door, { kind: 'lock', by: 'ann' }, meta);
    let raced = false;
    // A concurrent writer unlocks and locks again between our load and our append, once.
    const store = Object.assign(Object.create(inner) as InMemoryEventStore, {
      append: async (id: string, expected: ExpectedVersion, events: readonly NewEvent[], options: AppendOptions) => {
        if (!raced) {
          raced = true;
          await inner.append(
            id,
            2,
            [
              { type: 'DoorUnlocked', data: { by: 'bob' } },
              { type: 'DoorLocked', data: { by: 'bob' } },
            ],
            {
              metadata: { actor: 'usr_bob', channel: 'rest' },
            },
          );
        }
        return inner.append(id, expected, events, options);
      },
    });
    const result = await handleCommand(store, 'door_1', door, { kind: 'unlock', by: 'ann' }, meta);
    expect(result).toMatchObject({ version: 5, state: { locked: false } });
    expect((await inner.readStream('door_1')).events.map((e) => e.type)).toEqual([
      'DoorInstalled',
      'DoorLocked',
      'DoorUnlocked',
      'DoorLocked',
      'DoorUnlocked',
    ]);
  });

  it('gives up with VersionConflictError after the retries', async () => {
    const inner = new InMemoryEventStore();
    const store = Object.assign(Object.create(inner) as InMemoryEventStore, {
      append: async () => {
        throw new VersionConflictError('door_1', 0, 1);
      },
    });
    await expect(
      handleCommand(store, 'door_1', door, { kind: 'install', name: 'x' }, meta, { retries: 2 }),
    ).rejects.toBeInstanceOf(VersionConflictError);
  });

  it('returns the first result for a repeated idempotency key, without deciding again', async () => {
    const store = new InMemoryEventStore();
    const command: DoorCommand = { kind: 'install', name: 'front' };
    const first = await handleCommand(store, 'door_1', door, command, meta, { idempotencyKey: 'idem-1' });
    // Deciding again would throw already-installed: the stored result comes back instead.
    const again = await handleCommand(store, 'door_1', door, command, meta, { idempotencyKey: 'idem-1' });
    expect(again).toMatchObject({ replayed: true, version: 1, state: { installed: true } });
    expect(again.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    expect((await store.readStream('door_1')).version).toBe(1);
  });

  it('refuses the same idempotency key for a different command', async () => {
    const store = new InMemoryEventStore();
    await handleCommand(store, 'door_1', door, { kind: 'install', name: 'front' }, meta, { idempotencyKey: 'k' });
    await expect(
      handleCommand(store, 'door_1', door, { kind: 'lock', by: 'ann' }, meta, { idempotencyKey: 'k' }),
    ).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });

  it('scopes idempotency keys by actor', async () => {
    const store = new InMemoryEventStore();
    await handleCommand(store, 'door_1', door, { kind: 'install', name: 'a' }, meta, { idempotencyKey: 'k' });
    const other = await handleCommand(
      store,
      'door_2',
      door,
      { kind: 'install', name: 'b' },
      { ...meta, actor: 'usr_bob' },
      {
        idempotencyKey: 'k',
      },
    );
    expect(other).toMatchObject({ replayed: false, version: 1 });
  });

  it('fingerprints commands canonically (key order does not matter)', () => {
    expect(commandFingerprint('s', { a: 1, b: { c: 2, d: 3 } })).toBe(
      commandFingerprint('s', { b: { d: 3, c: 2 }, a: 1 }),
    );
    expect(commandFingerprint('s', { a: 1 })).not.toBe(commandFingerprint('t', { a: 1 }));
  });
});
