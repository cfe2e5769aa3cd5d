import { PartitionPublisher } from '@tollgate/event-store';

/** When the relay handed an event to Kafka (its read done) and when Kafka acknowledged it. */
export interface PublishTimes {
  read?: number;
  acked?: number;
}

/**
 * Bench only: patches `PartitionPublisher.prototype.publish` in this process so that, for every event whose
 * id `track` answers with a record, the first hand-over to Kafka and the first acknowledgement are noted in
 * it. `track` returns undefined for events not followed. Nothing in the product is changed.
 */
export function tracePublishes(track: (eventId: string) => PublishTimes | undefined): void {
  const publish = PartitionPublisher.prototype.publish;
  PartitionPublisher.prototype.publish = async function (this: PartitionPublisher, producer, messages) {
    const followed: PublishTimes[] = [];
    for (const m of messages) {
      const times = track(String(m.headers?.ce_id ?? ''));
      if (times) followed.push(times);
    }
    const now = Date.now();
    for (const times of followed) times.read ??= now;
    await publish.call(this, producer, messages);
    const done = Date.now();
    for (const times of followed) times.acked ??= done;
  };
}
