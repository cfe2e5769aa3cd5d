import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { HEARTBEAT_TYPE } from './log-source';
import type { RecordedEvent } from './types';

/**
 * CloudEvents 1.0, Kafka protocol binding, binary content mode: attributes in `ce_*` headers, the event
 * data as the JSON message value, the stream id as the message key.
 * Extensions: `ce_streamversion`, `ce_position`, `ce_actor`, `ce_channel`, `ce_causationid`,
 * `ce_correlationid`, `ce_idempotencykey`.
 */
export function eventToMessage(event: RecordedEvent): Message {
  const headers: IHeaders = {
    ce_specversion: '1.0',
    ce_id: event.id,
    ce_type: event.type,
    ce_source: event.source,
    ce_time: event.recordedAt.toISOString(),
    ce_subject: event.streamId,
    ce_streamversion: String(event.streamVersion),
    ce_position: String(event.position),
    ce_actor: event.metadata.actor,
    ce_channel: event.metadata.channel,
    'content-type': 'application/json',
  };
  if (event.metadata.causationId) headers.ce_causationid = event.metadata.causationId;
  if (event.metadata.correlationId) headers.ce_correlationid = event.metadata.correlationId;
  if (event.metadata.idempotencyKey) headers.ce_idempotencykey = event.metadata.idempotencyKey;
  return { key: event.streamId, value: JSON.stringify(withEnvelopeFields(event)), headers };
}

/**
 * CONTRACT section 4: the JSON data also carries the stream version, the actor and the source channel, so
 * a consumer that reads only the message value (not the CloudEvents headers) still knows them. These three
 * names are therefore reserved in event data; `decodeMessage` removes them again.
 */
export const ENVELOPE_DATA_FIELDS = ['streamVersion', 'actor', 'channel'] as const;

function withEnvelopeFields(event: RecordedEvent): unknown {
  const data = event.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data ?? null;
  return { ...data, streamVersion: event.streamVersion, actor: event.metadata.actor, channel: event.metadata.channel };
}

function withoutEnvelopeFields(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const data = { ...(value as Record<string, unknown>) };
  for (const field of ENVELOPE_DATA_FIELDS) delete data[field];
  return data;
}

export interface HeartbeatData {
  /** Epoch ms: every event committed at or before it was published before this message. */
  watermark: number;
  /** The same, ISO 8601. */
  watermarkTime: string;
}

export function heartbeatMessage(partition: number, source: string, id: string, watermark: number, now: Date): Message {
  const data: HeartbeatData = { watermark, watermarkTime: new Date(watermark).toISOString() };
  return {
    partition,
    key: null,
    value: JSON.stringify(data),
    headers: {
      ce_specversion: '1.0',
      ce_id: id,
      ce_type: HEARTBEAT_TYPE,
      ce_source: source,
      ce_time: now.toISOString(),
      'content-type': 'application/json',
    },
  };
}

function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  if (value === undefined || value === null) return undefined;
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? undefined : one.toString();
}

export type Decoded =
  | { kind: 'event'; event: RecordedEvent }
  | { kind: 'heartbeat'; watermark: number }
  | { kind: 'unknown'; reason: string };

/** Decodes a message written by `eventToMessage` or `heartbeatMessage`. */
export function decodeMessage(message: KafkaMessage): Decoded {
  if (header(message, 'ce_specversion') !== '1.0') return { kind: 'unknown', reason: 'not a CloudEvents 1.0 message' };
  const type = header(message, 'ce_type');
  const value = message.value ? JSON.parse(message.value.toString()) : null;
  if (type === HEARTBEAT_TYPE) {
    const watermark = Number((value as HeartbeatData | null)?.watermark);
    if (!Number.isFinite(watermark)) return { kind: 'unknown', reason: 'heartbeat without a watermark' };
    return { kind: 'heartbeat', watermark };
  }
  const id = header(message, 'ce_id');
  const streamId = header(message, 'ce_subject');
  const version = Number(header(message, 'ce_streamversion'));
  const time = header(message, 'ce_time');
  if (!id || !type || !streamId || !Number.isInteger(version) || !time) {
    return { kind: 'unknown', reason: 'missing CloudEvents attributes' };
  }
  const recordedAt = new Date(time);
  return {
    kind: 'event',
    event: {
      id,
      source: header(message, 'ce_source') ?? '',
      streamId,
      streamVersion: version,
      position: Number(header(message, 'ce_position') ?? 0),
      type,
      data: withoutEnvelopeFields(value),
      metadata: {
        actor: header(message, 'ce_actor') ?? '',
        channel: header(message, 'ce_channel') ?? '',
        causationId: header(message, 'ce_causationid') ?? null,
        correlationId: header(message, 'ce_correlationid') ?? null,
        idempotencyKey: header(message, 'ce_idempotencykey') ?? null,
        recordedAt: recordedAt.toISOString(),
      },
      recordedAt,
    },
  };
}
