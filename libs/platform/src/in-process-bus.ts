/**
 * Messages between the services of one process, for what travels on a Kafka topic of its own in deployed
 * mode (today: key usage, `tollgate.key-usage.v1`). Embedded mode (`npm start`) runs every service in one
 * process and may have no Kafka: there, the same messages go through this bus instead. One bus per process
 * (`coreModule` provides it as IN_PROCESS_BUS); a message published with no subscriber is dropped, as a
 * Kafka topic nobody reads would keep it unread.
 */
export class InProcessBus {
  private readonly handlers = new Map<string, Set<(message: unknown) => void | Promise<void>>>();

  /** Receives every message published on `topic` from now on; returns the unsubscribe function. */
  subscribe<T>(topic: string, handler: (message: T) => void | Promise<void>): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    const h = handler as (message: unknown) => void | Promise<void>;
    set.add(h);
    return () => set.delete(h);
  }

  /**
   * Hands `message` to every subscriber of `topic` and waits for them; a subscriber's failure is the
   * publisher's (as a failed Kafka send), so the publisher can keep the message and try again.
   */
  async publish(topic: string, message: unknown): Promise<void> {
    const set = this.handlers.get(topic);
    if (!set) return;
    for (const handler of [...set]) await handler(message);
  }

  /** Whether anything listens on `topic`. */
  hasSubscribers(topic: string): boolean {
    return (this.handlers.get(topic)?.size ?? 0) > 0;
  }
}
