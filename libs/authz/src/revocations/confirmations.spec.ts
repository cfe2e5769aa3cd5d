import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { RevocationConfirmations, type AppliedReduction, type RevocationSource } from './confirmations';

const T = Date.parse('2026-11-26T06:30:00.000Z');

function fakeModel() {
  const applied = new Map<string, number>();
  const listeners = new Set<(applied: AppliedReduction) => void>();
  const model: RevocationSource = {
    revocationApplied: (eventId) => applied.get(eventId),
    onAccessReduced: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    heldReductions: () => applied.entries(),
  };
  const apply = (
    eventId: string,
    appliedAt: number,
    keyId: string | null,
    committedAt: number,
    type = 'KeyRevoked',
  ) => {
    applied.set(eventId, appliedAt);
    for (const l of listeners) l({ eventId, type, appliedAt, committedAt, keyId });
  };
  /** What a snapshot restores: held as applied, no listener called. */
  const restore = (eventId: string, appliedAt: number) => applied.set(eventId, appliedAt);
  return { model, apply, restore };
}

describe('RevocationConfirmations', () => {
  const logger = pino({ level: 'silent' });

  it('answers from its own model in embedded mode (no Kafka), 404 for an unknown event', async () => {
    const { model, apply } = fakeModel();
    const lags: (number | null)[] = [];
    let now = T;
    const c = new RevocationConfirmations({
      model,
      replicaId: 'r1',
      logger,
      now: () => now,
      onApplied: ({ lagMs }) => lags.push(lagMs),
    });
    await c.start();
    expect(c.status('evt_1')).toBeUndefined();
    now = T + 40;
    apply('evt_1', T + 40, 'key_1', T);
    expect(c.status('evt_1')).toEqual({
      eventId: 'evt_1',
      committedAt: '2026-11-26T06:30:00.000Z',
      replicas: [{ replicaId: 'r1', appliedAt: '2026-11-26T06:30:00.040Z', lagMs: 40 }],
      appliedByAll: true,
    });
    expect(lags).toEqual([40]);
    await c.stop();
  });

  it('keeps the latest access-reducing events it applied, newest first, at most 100 (GET /v1/revocations)', async () => {
    const { model, apply } = fakeModel();
    const c = new RevocationConfirmations({ model, replicaId: 'r1', logger, now: () => T });
    await c.start();
    expect(c.recent(20)).toEqual([]);
    apply('evt_a', T + 5, 'key_a', T);
    apply('evt_b', T + 9, null, T + 1, 'UserDeactivated');
    expect(c.recent(20)).toEqual([
      {
        eventId: 'evt_b',
        type: 'UserDeactivated',
        keyId: null,
        committedAt: '2026-11-26T06:30:00.001Z',
        appliedAt: '2026-11-26T06:30:00.009Z',
      },
      {
        eventId: 'evt_a',
        type: 'KeyRevoked',
        keyId: 'key_a',
        committedAt: '2026-11-26T06:30:00.000Z',
        appliedAt: '2026-11-26T06:30:00.005Z',
      },
    ]);
    expect(c.recent(1).map((r) => r.eventId)).toEqual(['evt_b']);
    for (let i = 0; i < 150; i++) apply(`evt_${i}`, T + 10 + i, null, T);
    const all = c.recent(100);
    expect(all).toHaveLength(100);
    expect(all[0]!.eventId).toBe('evt_149');
    expect(all[99]!.eventId).toBe('evt_50');
    await c.stop();
  });

  it('lists every live replica, null until it applied, and appliedByAll once all did', async () => {
    const { model, apply } = fakeModel();
    const now = T;
    const c = new RevocationConfirmations({ model, replicaId: 'r1', logger, now: () => now, heartbeatMs: 1000 });
    await c.start();
    c.ingest({ type: 'heartbeat', replicaId: 'r2', at: T, startedAt: T - 5000 });
    c.ingest({ type: 'heartbeat', replicaId: 'r3', at: T, startedAt: T - 5000 });
    apply('evt_1', T + 10, 'key_1', T);
    expect(c.status('evt_1')).toEqual({
      eventId: 'evt_1',
      committedAt: '2026-11-26T06:30:00.000Z',
      replicas: [
        { replicaId: 'r1', appliedAt: '2026-11-26T06:30:00.010Z', lagMs: 10 },
        { replicaId: 'r2', appliedAt: null, lagMs: null },
        { replicaId: 'r3', appliedAt: null, lagMs: null },
      ],
      appliedByAll: false,
    });
    c.ingest({
      type: 'applied',
      eventId: 'evt_1',
      keyId: 'key_1',
      replicaId: 'r2',
      committedAt: T,
      appliedAt: T + 25,
      lagMs: 25,
    });
    expect(c.status('evt_1')!.appliedByAll).toBe(false);
    c.ingest({
      type: 'applied',
      eventId: 'evt_1',
      keyId: 'key_1',
      replicaId: 'r3',
      committedAt: T,
      appliedAt: T + 30,
      lagMs: 30,
    });
    expect(c.status('evt_1')).toMatchObject({
      appliedByAll: true,
      replicas: [
        { replicaId: 'r1', lagMs: 10 },
        { replicaId: 'r2', appliedAt: '2026-11-26T06:30:00.025Z', lagMs: 25 },
        { replicaId: 'r3', appliedAt: '2026-11-26T06:30:00.030Z', lagMs: 30 },
      ],
    });
    await c.stop();
  });

  it('knows an event only another replica applied yet, and forgets replicas that left or went silent', async () => {
    const { model } = fakeModel();
    let now = T;
    const c = new RevocationConfirmations({
      model,
      replicaId: 'r1',
      logger,
      now: () => now,
      heartbeatMs: 1000,
      liveWindowMs: 5000,
    });
    await c.start();
    c.ingest({ type: 'heartbeat', replicaId: 'r2', at: T, startedAt: T });
    c.ingest({ type: 'heartbeat', replicaId: 'r3', at: T, startedAt: T });
    c.ingest({
      type: 'applied',
      eventId: 'evt_9',
      keyId: 'key_9',
      replicaId: 'r2',
      committedAt: T - 100,
      appliedAt: T - 80,
      lagMs: 20,
    });
    expect(c.status('evt_9')).toMatchObject({
      committedAt: '2026-11-26T06:29:59.900Z',
      replicas: [
        { replicaId: 'r1', appliedAt: null },
        { replicaId: 'r2', lagMs: 20 },
        { replicaId: 'r3', appliedAt: null },
      ],
      appliedByAll: false,
    });
    c.ingest({ type: 'leaving', replicaId: 'r3', at: T + 1 });
    expect(c.liveReplicas()).toEqual(['r2']);
    now = T + 6000;
    expect(c.liveReplicas()).toEqual([]);
    await c.stop();
  });

  it('a replica restored from a snapshot announces what it holds (within the window), once, with no metric', async () => {
    const { model, restore, apply } = fakeModel();
    restore('evt_old', T - 8 * 24 * 3600 * 1000);
    restore('evt_held', T - 60_000);
    const lags: (number | null)[] = [];
    const c = new RevocationConfirmations({
      model,
      replicaId: 'r1',
      logger,
      now: () => T,
      // nothing listens there: the messages stay queued, which is what this test reads
      kafka: { brokers: ['127.0.0.1:1'], clientId: 'test', partitions: 6 },
      onApplied: ({ lagMs }) => lags.push(lagMs),
    });
    await c.start();
    apply('evt_new', T + 5, 'key_2', T, 'CollaboratorRemoved');
    const applied = c.pending.filter((m) => m.type === 'applied');
    expect(applied).toEqual([
      expect.objectContaining({ eventId: 'evt_held', replicaId: 'r1', appliedAt: T - 60_000, committedAt: null }),
      expect.objectContaining({ eventId: 'evt_new', eventType: 'CollaboratorRemoved', appliedAt: T + 5, lagMs: 5 }),
    ]);
    expect(lags).toEqual([5]);
    expect(c.status('evt_held')).toMatchObject({
      replicas: [{ replicaId: 'r1', appliedAt: new Date(T - 60_000).toISOString() }],
    });
    await c.stop();
  });
});
