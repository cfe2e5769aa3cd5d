// Kafka helpers for integration tests (the broker comes from test/setup/global-setup.ts).
import { Kafka, logLevel } from 'kafkajs';
import { testKafkaBrokers, uniqueName } from './index';

/** A kafkajs client on the run's broker that logs nothing (tests assert on what they read, not on logs). */
export function testKafkaClient(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
}

/** One message as tests look at it: key, headers and value as strings. */
export interface TopicMessage {
  key: string;
  headers: Record<string, string>;
  value: string;
}

export interface TopicRecorder {
  /** Every message read so far, in the order read. */
  readonly messages: TopicMessage[];
  /** The messages with this key (on Tollgate's topics: one event stream), in the order read. */
  byKey(key: string): TopicMessage[];
  /** Disconnects the consumer. */
  stop(): Promise<void>;
}

/**
 * Reads `topic` from the beginning, in a consumer group of its own, and records every message: wait for
 * what a test expects with `eventually`. `stop()` it in `afterAll`.
 */
export async function recordTopic(
  topic: string,
  kafka: Kafka = testKafkaClient(uniqueName('recorder')),
): Promise<TopicRecorder> {
  const messages: TopicMessage[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('recorder'), maxWaitTimeInMs: 50 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        messages.push({ key: message.key?.toString() ?? '', headers, value: message.value?.toString() ?? '' });
      },
    });
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  return {
    messages,
    byKey: (key) => messages.filter((m) => m.key === key),
    stop: () => consumer.disconnect(),
  };
}
