import { describe, expect, it } from '@jest/globals';
import type { KafkaMessage } from 'kafkajs';
import { decodeMessage, eventToMessage, heartbeatMessage } from './envelope';
import { WatermarkTracker } from './gap-safe-reader';
import type { RecordedEvent } from './types';

const recordedAt = new Date('2026-01-02T03:04:05.678Z');
const event: RecordedEvent = {
  id: 'evt_01J0000000000000000000000',
  source: '/tollgate/keys',
  streamId: 'key_abc',
  streamVersion: 7,
  position: 1234,
  type: 'KeyRevoked',
  data: { reason: 'leaked', at: '2026-01-02T03:04:05Z' },
  metadata: {
    actor: 'usr_1',
    channel: 'rest',
    causationId: 'cmd_1',
    correlationId: 'req_1',
    idempotencyKey: 'idem_1',
    recordedAt: recordedAt.toISOString(),
  },
  recordedAt,
};

/** What a consumer receives: header values as Buffers. */
function received(message: ReturnType<typeof eventToMessage>): KafkaMessage {
  const headers = Object.fromEntries(
    Object.entries(message.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))]),
  );
  return {
    key: message.key ? Buffer.from(String(message.key)) : null,
    value: Buffer.from(String(message.value)),
    headers,
    offset: '0',
    timestamp: '0',
    attributes: 0,
  } as KafkaMessage;
}

describe('CloudEvents binary envelope', () => {
  it('puts the attributes in ce_ headers, the stream id in the key, the data as JSON', () => {
    const message = eventToMessage(event);
    expect(message.key).toBe('key_abc');
    // The data also carries the stream version, the actor and the channel (CONTRACT section 4).
    expect(JSON.parse(String(message.value))).toEqual({
      ...(event.data as Record<string, unknown>),
      streamVersion: 7,
      actor: event.metadata.actor,
      channel: event.metadata.channel,
    });
    expect(message.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: event.id,
      ce_type: 'KeyRevoked',
      ce_source: '/tollgate/keys',
      ce_time: '2026-01-02T03:04:05.678Z',
      ce_subject: 'key_abc',
      ce_streamversion: '7',
      ce_position: '1234',
      'content-type': 'application/json',
    });
  });

  it('round-trips an event exactly', () => {
    expect(decodeMessage(received(eventToMessage(event)))).toEqual({ kind: 'event', event });
    const bare = {
      ...event,
      metadata: { ...event.metadata, causationId: null, correlationId: null, idempotencyKey: null },
    };
    expect(decodeMessage(received(eventToMessage(bare)))).toEqual({ kind: 'event', event: bare });
  });

  it('round-trips a heartbeat', () => {
    const message = heartbeatMessage(3, '/tollgate/keys', 'hb_1', 1_700_000_000_123, new Date());
    expect(message.partition).toBe(3);
    expect(decodeMessage(received(message as ReturnType<typeof eventToMessage>))).toEqual({
      kind: 'heartbeat',
      watermark: 1_700_000_000_123,
    });
  });

  it('reports foreign messages instead of guessing', () => {
    const foreign = received(eventToMessage(event));
    foreign.headers = {};
    expect(decodeMessage(foreign).kind).toBe('unknown');
  });
});

describe('WatermarkTracker', () => {
  it('advances to a sample once a later drained read shows every transaction of its time ended', () => {
    const w = new WatermarkTracker();
    // idle: the read's own xid is 10, so horizon 11; the next read sees nothing older running
    expect(w.observe({ t: 100, xmin: 10n, horizon: 11n }, true)).toBeNull();
    expect(w.observe({ t: 200, xmin: 11n, horizon: 12n }, true)).toBe(100);
    // a writer got xid 12 and stays in flight: xmin stays at 12, later samples wait
    expect(w.observe({ t: 300, xmin: 12n, horizon: 14n }, true)).toBe(200);
    expect(w.observe({ t: 400, xmin: 12n, horizon: 16n }, true)).toBe(200);
    // it ended: xmin moves past the waiting samples
    expect(w.observe({ t: 500, xmin: 16n, horizon: 18n }, true)).toBe(400);
  });

  it('does not advance while the read was cut by the batch limit', () => {
    const w = new WatermarkTracker();
    w.observe({ t: 100, xmin: 5n, horizon: 6n }, true);
    expect(w.observe({ t: 200, xmin: 7n, horizon: 8n }, false)).toBeNull();
    expect(w.observe({ t: 300, xmin: 9n, horizon: 10n }, true)).toBe(200);
  });

  it('never goes backwards and stays bounded', () => {
    const w = new WatermarkTracker(3);
    for (let i = 0; i < 10; i++) w.observe({ t: 1000 + i, xmin: 1n, horizon: 50n + BigInt(i) }, true);
    expect(w.watermark()).toBeNull();
    expect(w.observe({ t: 2000, xmin: 100n, horizon: 101n }, true)).toBe(1009);
    expect(w.observe({ t: 1500, xmin: 200n, horizon: 201n }, true)).toBe(2000);
  });
});
