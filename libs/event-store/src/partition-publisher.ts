import kafkajs, { type Message, type PartitionMetadata, type Producer } from 'kafkajs';

/**
 * Publishes to a topic with each `producer.send` carrying the messages of ONE partition, so that every
 * send has exactly one leader at a time.
 *
 * Why: kafkajs's `send` writes one produce request per leader broker and, when some of them fail, retries
 * only the brokers that have not answered yet, after refreshing metadata. A partition whose leader moved to
 * a broker that had already answered for other partitions is then never sent, and the send resolves as if
 * it had been written (kafkajs `sendMessages.js`, `brokersWithoutResponse`). With the idempotent producer
 * the partition's sequence number was also rolled back, so the next batch reuses it and the broker may take
 * it for a duplicate of a batch it already holds. The fault suite saw exactly this during broker kills
 * (acknowledged events missing from the topic while later ones of the same streams were there, then
 * OUT_OF_ORDER_SEQUENCE_NUMBER). With one partition per send, a retry always goes to that partition's
 * current leader with the same records and the same sequence: written once, or deduplicated by the broker.
 *
 * Partitions are chosen as kafkajs's default partitioner does (murmur2 of the key, modulo the partition
 * count), so a stream keeps the partition it always had. The sends of one call run concurrently: they never
 * share a partition, and each partition's sequence is the producer's own per-partition state.
 */
export class PartitionPublisher {
  private readonly partitioner = kafkajs.Partitioners.DefaultPartitioner();
  private readonly metadata: PartitionMetadata[];

  /** `acks`: -1 (every in-sync replica, the default) for the event log; 1 where losing a message is cheap. */
  constructor(
    private readonly topic: string,
    partitions: readonly number[],
    private readonly acks: -1 | 1 = -1,
  ) {
    // The partitioner only reads the partition count (keyed messages) and ids; leaders do not matter here.
    this.metadata = [...partitions]
      .sort((a, b) => a - b)
      .map((partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));
  }

  /** The partition a message goes to (its own `partition` if set, else by key). */
  partitionOf(message: Message): number {
    return this.partitioner({ topic: this.topic, partitionMetadata: this.metadata, message });
  }

  /**
   * Sends `messages` (order kept within each partition) and resolves once every partition's records were
   * acknowledged. Rejects if any partition's send failed: the caller must then treat the
   * whole call as not published (some partitions may have been written: duplicates on a retry, never gaps).
   */
  async publish(producer: Producer, messages: readonly Message[]): Promise<void> {
    const byPartition = new Map<number, Message[]>();
    for (const message of messages) {
      const partition = this.partitionOf(message);
      const list = byPartition.get(partition);
      if (list) list.push({ ...message, partition });
      else byPartition.set(partition, [{ ...message, partition }]);
    }
    const sends = [...byPartition.values()].map((batch) =>
      producer.send({ topic: this.topic, acks: this.acks, messages: batch }),
    );
    const settled = await Promise.allSettled(sends);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
