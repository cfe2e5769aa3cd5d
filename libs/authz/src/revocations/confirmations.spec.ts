import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { RevocationConfirmations, type RevocationSource } from './confirmations';

const T = Date.parse('2026-11-26T06:30:00.000Z');

function fakeModel() {
  const applied = new Map<string, number>();
  const listeners = new Set<
    (eventId: string, appliedAt: number, key: { keyId: string; revokedAt: number | null } | undefined) => void
  >();
  const model: RevocationSource = {
    revocationApplied: (eventId) => applied.get(eventId),
    onRevocationApplied: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const apply = (eventId: string, appliedAt: number, keyId: string, revokedAt: number) => {
    applied.set(eventId, appliedAt);
    for (const l of listeners) l(eventId, appliedAt, { keyId, revokedAt });
  };
  return { model, apply };
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
      onApplied: (lag) => lags.push(lag),
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
});
