import type { Admin } from 'kafkajs';

/**
 * How the topics Tollgate creates are replicated (`TOLLGATE_KAFKA_REPLICATION_FACTOR`,
 * `TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS`); undefined: the broker's defaults. A topic that exists is left as it is.
 */
export interface TopicReplication {
  replicationFactor?: number;
  minInsyncReplicas?: number;
}

/** kafkajs `createTopics` fields for a topic of `partitions` partitions with these retention and replication settings. */
export function topicSpec(
  topic: string,
  partitions: number,
  retentionMs: number,
  replication: TopicReplication = {},
): {
  topic: string;
  numPartitions: number;
  replicationFactor?: number;
  configEntries: { name: string; value: string }[];
} {
  const configEntries = [{ name: 'retention.ms', value: String(retentionMs) }];
  if (replication.minInsyncReplicas !== undefined)
    configEntries.push({ name: 'min.insync.replicas', value: String(replication.minInsyncReplicas) });
  return {
    topic,
    numPartitions: partitions,
    ...(replication.replicationFactor !== undefined ? { replicationFactor: replication.replicationFactor } : {}),
    configEntries,
  };
}

/** Creates the topic if missing (unlimited retention) and returns its partition numbers. */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  replication: TopicReplication = {},
): Promise<number[]> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) {
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [topicSpec(topic, partitions, -1, replication)] });
    } catch (error) {
      // The topic was created, but on a multi-broker cluster the broker kafkajs asks while it waits for the
      // leaders may not know the topic yet and answers "does not host this topic-partition": a moment of
      // metadata propagation, which topicPartitions waits out (seen with three brokers: test/cluster).
      const type = (error as { type?: string }).type;
      if (type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE')
        return topicPartitions(admin, topic);
      // kafkajs says only "Topic creation errors"; the broker's reasons are in `errors`.
      const reasons = ((error as { errors?: { type?: string; message?: string }[] }).errors ?? [])
        .map((e) => `${e.type ?? ''} ${e.message ?? ''}`.trim())
        .join('; ');
      const message = `${String((error as Error).message)} ${reasons}`;
      // a concurrent creator won: fine
      if (/already exists/i.test(message)) return topicPartitions(admin, topic);
      if (reasons) throw new Error(`creating Kafka topic ${topic} failed: ${reasons}`, { cause: error });
      throw error;
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
