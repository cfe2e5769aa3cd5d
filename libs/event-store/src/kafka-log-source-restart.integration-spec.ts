import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Admin, Kafka } from 'kafkajs';
import { eventually, uniqueName } from '../../../test/support';
import { quietLogger, testKafka } from '../test/fixtures';
import { heartbeatMessage } from './envelope';
import { KafkaLogSource } from './kafka-log-source';
import { ensureTopic } from './kafka-topics';
import type { LogItem, Offsets } from './log-source';

// A restart from stored offsets on two topics (the authz replica's case): each partition must resume exactly
// at its stored offset (nothing before it reaches the handler, nothing after it is lost, in order), and a
// partition missing from the stored offsets starts at the beginning. The test also prints the time from
// start() to the first delivered item (figures in docs/event-store.md; no timed assertion here).
const PARTITIONS = 3;
let kafka: Kafka;
let admin: Admin;
let topics: string[];
let sent = 0;
const groupIdPrefix = uniqueName('restart_reader');

async function produce(perPartition: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const topic of topics) {
      const messages = [];
      for (let p = 0; p < PARTITIONS; p++) {
        for (let i = 0; i < perPartition; i++) {
          sent += 1;
          messages.push(heartbeatMessage(p, '/tollgate/test', `hb_${sent}`, sent, new Date()));
        }
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

class Recorder {
  readonly items: LogItem[] = [];
  firstAt?: number;
  readonly handler = async (items: readonly LogItem[]): Promise<void> => {
    this.firstAt ??= performance.now();
    this.items.push(...items);
  };
  byPartition(): Map<string, string[]> {
    const result = new Map<string, string[]>();
    for (const item of this.items) result.set(item.partition, [...(result.get(item.partition) ?? []), item.offset]);
    return result;
  }
  next(): Offsets {
    const offsets: Offsets = {};
    for (const item of this.items) offsets[item.partition] = item.next;
    return offsets;
  }
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => String(from + i));

beforeAll(async () => {
  kafka = testKafka();
  admin = kafka.admin();
  await admin.connect();
  topics = [uniqueName('restart_a'), uniqueName('restart_b')];
  for (const topic of topics) await ensureTopic(admin, topic, PARTITIONS);
});
afterAll(async () => {
  await admin?.deleteTopics({ topics }).catch(() => undefined);
  await admin?.disconnect();
});

describe('KafkaLogSource: restart from stored offsets on two topics', () => {
  it('resumes every partition exactly at its stored offset; a partition without one starts at the beginning', async () => {
    await produce(10);
    const first = new Recorder();
    const a = new KafkaLogSource({ kafka, topics, groupIdPrefix, logger: quietLogger });
    await a.start({}, first.handler);
    await eventually(() => expect(first.items).toHaveLength(2 * PARTITIONS * 10));
    await a.stop();
    for (const offsets of first.byPartition().values()) expect(offsets).toEqual(range(0, 10));

    const stored = first.next();
    const missing = `${topics[1]}:${PARTITIONS - 1}`;
    delete stored[missing];
    await produce(5);

    const second = new Recorder();
    const b = new KafkaLogSource({ kafka, topics, groupIdPrefix, logger: quietLogger });
    const startedAt = performance.now();
    await b.start(stored, second.handler);
    const startReturnedMs = performance.now() - startedAt;
    try {
      await eventually(() => expect(second.items).toHaveLength((2 * PARTITIONS - 1) * 5 + 15));
      const firstItemMs = second.firstAt! - startedAt;
      console.log(
        `KafkaLogSource restart, 2 topics x ${PARTITIONS} partitions: start() returned after ${startReturnedMs.toFixed(0)} ms, first item after ${firstItemMs.toFixed(0)} ms`,
      );
      const delivered = second.byPartition();
      expect([...delivered.keys()].sort()).toEqual(Object.keys(first.next()).sort());
      for (const [partition, offsets] of delivered) {
        expect(offsets).toEqual(partition === missing ? range(0, 15) : range(10, 15));
      }
    } finally {
      await b.stop();
    }
    // stop() leaves no consumer group of ours behind
    const { groups } = await admin.listGroups();
    expect(groups.filter((g) => g.groupId.startsWith(groupIdPrefix))).toEqual([]);
  }, 60_000);
});
