/**
 * When to read again after a drained gap-safe read (the relay and `PostgresLogSource` share it).
 *
 * A read returns only rows below its snapshot's xmin (`readCommitted`). While any transaction of the cluster
 * holds an older xid, a row that committed and notified can be visible but not readable yet ("held back").
 * Its NOTIFY woke this read and is spent, and the holder may end without one (it wrote nothing, or wrote
 * another schema), so sleeping the whole poll interval would add up to that interval to the row's delivery:
 * the authz bench saw revocations wait 100-370 ms this way. A held-back read is followed by a re-read after
 * `firstMs`, doubling while reads stay held back, up to `maxMs` (the poll interval), so a long transaction
 * costs a handful of reads and then the usual poll. A read that holds nothing back waits `maxMs` (a NOTIFY
 * still cuts any wait short) and resets the back-off.
 *
 * Only the timing of the next read changes: what a read returns, the checkpoint and the watermark do not.
 */
export class HeldBackPoll {
  private delayMs = 0;
  private readonly firstMs: number;

  /** `firstMs` is kept within [1, maxMs]: a poll shorter than it simply wins. */
  constructor(
    private readonly maxMs: number,
    firstMs = 1,
  ) {
    this.firstMs = Math.min(maxMs, Math.max(1, firstMs));
  }

  /** The wait before the next read, after a drained read that did (`heldBack`) or did not hold rows back. */
  next(heldBack: boolean): number {
    if (!heldBack) {
      this.delayMs = 0;
      return this.maxMs;
    }
    this.delayMs = this.delayMs === 0 ? this.firstMs : Math.min(this.maxMs, this.delayMs * 2);
    return this.delayMs;
  }
}
