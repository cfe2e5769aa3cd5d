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

export async function topicPartitions(admin: Admin, topic: string): Promise<number[]> {
  for (let attempt = 0; ; attempt++) {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const ids = (metadata.topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
    if (ids.length > 0 || attempt >= 20) return ids;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
