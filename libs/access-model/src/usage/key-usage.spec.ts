import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { KEY_USAGE_BATCH_MAX, keysUsed, type KeysUsed } from '@tollgate/contracts';
import { InProcessBus } from '@tollgate/platform';
import { pino } from 'pino';
import { countsAsUse, type KeyDecision, KeyUsagePublisher, KeyUsageTally, type KeyUsageSink } from './key-usage';
import { BusKeyUsageSink } from './key-usage-sinks';

const T = Date.parse('2026-12-05T08:22:00.000Z');
const logger = pino({ level: 'silent' });

/** A sink that records what it is given, and fails while `failing` is set. */
function recordingSink() {
  const sent: KeysUsed[] = [];
  const sink: KeyUsageSink & { sent: KeysUsed[]; failing: boolean } = {
    sent,
    failing: false,
    async publish(message) {
      if (sink.failing) throw new Error('broker away');
      // Every message must be what the keys service accepts.
      sent.push(keysUsed.parse(message));
    },
  };
  return sink;
}

const lastUsed = (sent: KeysUsed[]) =>
  Object.fromEntries(sent.flatMap((m) => m.keys.map((k) => [k.keyId, k.lastUsedAt] as const)));

describe('KeyUsageTally', () => {
  it('truncates to the minute and keeps the latest minute per key', () => {
    let now = T + 59_999;
    const tally = new KeyUsageTally(() => now);
    tally.used('key_a');
    now = T + 61_000;
    tally.used('key_b');
    tally.used('key_a');
    expect([...tally.take()]).toEqual([
      ['key_a', T + 60_000],
      ['key_b', T + 60_000],
    ]);
    expect(tally.size).toBe(0);
  });

  it('never lowers a minute when the clock steps back, nor when older usage is restored', () => {
    let now = T + 120_000;
    const tally = new KeyUsageTally(() => now);
    tally.used('key_a');
    now = T;
    tally.used('key_a');
    tally.restore([
      ['key_a', T + 60_000],
      ['key_b', T],
    ]);
    expect(Object.fromEntries(tally.take())).toEqual({ key_a: T + 120_000, key_b: T });
  });

  it('counts allowed and refused-for-access decisions with a key, not 401s or decisions without a key', () => {
    const tally = new KeyUsageTally(() => T);
    const d = (keyId: string | undefined, allowed: boolean, status: number): KeyDecision => ({
      allowed,
      status,
      ...(keyId ? { keyId } : {}),
    });
    tally.decided(d('key_allowed', true, 200));
    tally.decided(d('key_forbidden', false, 403));
    tally.decided(d('key_revoked', false, 401));
    tally.decided(d('key_stale', false, 503));
    tally.decided(d(undefined, true, 200));
    expect([...tally.take().keys()]).toEqual(['key_allowed', 'key_forbidden']);
    expect(countsAsUse(d('k', false, 404))).toBe(false);
  });
});

describe('KeyUsagePublisher', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  const publisher = (tally: KeyUsageTally, sink: KeyUsageSink, batchMax?: number) =>
    new KeyUsagePublisher({ tally, sink, replicaId: 'authz-1', intervalMs: 60_000, batchMax, logger, now: () => T });

  it('publishes nothing when no key was used', async () => {
    const sink = recordingSink();
    expect(await publisher(new KeyUsageTally(() => T), sink).flush()).toBe(0);
    expect(sink.sent).toEqual([]);
  });

  it('publishes one KeysUsed per interval with ISO minutes, then starts afresh', async () => {
    const sink = recordingSink();
    const tally = new KeyUsageTally(() => T + 30_500);
    const p = publisher(tally, sink);
    tally.used('key_a');
    tally.used('key_a');
    expect(await p.flush()).toBe(1);
    expect(sink.sent).toEqual([
      {
        type: 'KeysUsed',
        replicaId: 'authz-1',
        publishedAt: '2026-12-05T08:22:00.000Z',
        keys: [{ keyId: 'key_a', lastUsedAt: '2026-12-05T08:22:00.000Z' }],
      },
    ]);
    expect(await p.flush()).toBe(0);
    expect(sink.sent).toHaveLength(1);
  });

  it('splits a large tally into batches of at most batchMax keys, each key once', async () => {
    const sink = recordingSink();
    const tally = new KeyUsageTally(() => T);
    for (let i = 0; i < 7; i++) tally.used(`key_${i}`);
    expect(await publisher(tally, sink, 3).flush()).toBe(7);
    expect(sink.sent.map((m) => m.keys.length)).toEqual([3, 3, 1]);
    expect(Object.keys(lastUsed(sink.sent)).sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `key_${i}`));
  });

  it('never exceeds the contract batch size, whatever it is configured with', async () => {
    const sink = recordingSink();
    const tally = new KeyUsageTally(() => T);
    for (let i = 0; i < KEY_USAGE_BATCH_MAX + 1; i++) tally.used(`key_${i}`);
    await publisher(tally, sink, 10 * KEY_USAGE_BATCH_MAX).flush();
    expect(sink.sent.map((m) => m.keys.length)).toEqual([KEY_USAGE_BATCH_MAX, 1]);
  });

  it('keeps what it could not publish for the next interval, merged with newer use (later minute wins)', async () => {
    const sink = recordingSink();
    let now = T;
    const tally = new KeyUsageTally(() => now);
    const p = publisher(tally, sink, 2);
    for (const k of ['key_a', 'key_b', 'key_c']) tally.used(k);
    sink.failing = true;
    expect(await p.flush()).toBe(0);
    expect(tally.size).toBe(3);
    now = T + 60_000;
    tally.used('key_a');
    sink.failing = false;
    expect(await p.flush()).toBe(3);
    expect(lastUsed(sink.sent)).toEqual({
      key_a: '2026-12-05T08:23:00.000Z',
      key_b: '2026-12-05T08:22:00.000Z',
      key_c: '2026-12-05T08:22:00.000Z',
    });
  });

  it('flushes on its interval, and once more when stopped', async () => {
    jest.useFakeTimers({ now: T });
    const sink = recordingSink();
    const tally = new KeyUsageTally(() => Date.now());
    const p = new KeyUsagePublisher({ tally, sink, replicaId: 'authz-1', intervalMs: 5000, logger });
    p.start();
    tally.used('key_a');
    await jest.advanceTimersByTimeAsync(4999);
    expect(sink.sent).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(lastUsed(sink.sent)).toEqual({ key_a: '2026-12-05T08:22:00.000Z' });
    await jest.advanceTimersByTimeAsync(5000);
    expect(sink.sent).toHaveLength(1);
    tally.used('key_b');
    await p.stop();
    expect(sink.sent).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sink.sent).toHaveLength(2);
  });

  it('in embedded mode hands the messages to the subscribers of the in-process bus', async () => {
    const bus = new InProcessBus();
    const received: KeysUsed[] = [];
    bus.subscribe<KeysUsed>('usage-test', (m) => void received.push(m));
    const tally = new KeyUsageTally(() => T);
    tally.used('key_a');
    await publisher(tally, new BusKeyUsageSink(bus, 'usage-test')).flush();
    expect(lastUsed(received)).toEqual({ key_a: '2026-12-05T08:22:00.000Z' });
  });
});
