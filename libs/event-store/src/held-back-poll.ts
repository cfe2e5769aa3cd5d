import type { SnapshotSample } from './gap-safe-reader';

/**
 * When to read again after a drained gap-safe read (the relay and `PostgresLogSource` share it).
 *
 * A read returns only rows below its snapshot's xmin (`readCommitted`). When another transaction held an xid
 * older than the read's own (xmin below it), a notified commit can be hidden from the read. That NOTIFY woke
 * this read and is spent, and the holder may end without one (it wrote nothing, or wrote another schema), so
 * sleeping the whole poll interval would add up to that interval to the row's delivery: the authz bench saw
 * revocations wait 100-370 ms this way. "Held back" is deliberately the broad test (xmin below the read's own
 * xid), not "committed rows visible beyond xmin": a version with that narrower test let the bench's relay
 * sleep its poll again, whatever the back-off (docs/performance.md).
 *
 * A held-back read is followed by a re-read after `firstMs`, doubling while the same xmin holds reads back, up
 * to `maxMs` (the poll interval), so a long transaction costs a handful of reads and then the usual poll; a new
 * holder starts again at `firstMs`. A read that nothing held back waits `maxMs` (a NOTIFY still cuts any wait
 * short). Only the timing of the next read changes: what a read returns, the checkpoint and the watermark do not.
 */
export class HeldBackPoll {
  private holder: bigint | null = null;
  private delayMs = 0;
  private readonly firstMs: number;

  /** `firstMs` is kept within [1, maxMs]: a poll shorter than it simply wins. */
  constructor(
    private readonly maxMs: number,
    firstMs = 1,
  ) {
    this.firstMs = Math.min(maxMs, Math.max(1, firstMs));
  }

  /** The wait before the next read, after a drained read that took this snapshot sample. */
  next(sample: Pick<SnapshotSample, 'xmin' | 'horizon'>): number {
    const own = sample.horizon - 1n;
    if (sample.xmin >= own) {
      this.holder = null;
      return this.maxMs;
    }
    this.delayMs = this.holder === sample.xmin ? Math.min(this.maxMs, this.delayMs * 2) : this.firstMs;
    this.holder = sample.xmin;
    return this.delayMs;
  }
}
