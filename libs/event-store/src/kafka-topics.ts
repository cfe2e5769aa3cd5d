import type { Admin } from 'kafkajs';

/** Creates the topic if missing (unlimited retention) and returns its partition numbers. */
export async function ensureTopic(admin: Admin, topic: string, partitions: number): Promise<number[]> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: '-1' }] }],
      });
    } catch (error) {
      // a concurrent creator won: fine
      if (!/already exists/i.test(String((error as Error).message))) throw error;
    }
  }
  return topicPartitions(admin, topic);
}

/**
 * The topic's partition numbers. Right after a topic is created (by this process or a concurrent one, e.g.
 * two writers starting together), the broker may still answer "does not host this topic-partition" or
 * "leader not available" for a moment: those are retried for up to ~10 s.
 */
export async function topicPartitions(admin: Admin, topic: string): Promise<number[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const ids = (metadata.topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
      if (ids.length > 0 || attempt >= 100) return ids;
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (attempt >= 100 || (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE')) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
