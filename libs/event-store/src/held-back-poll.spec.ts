import { describe, expect, it } from '@jest/globals';
import { HeldBackPoll } from './held-back-poll';

/** A read whose own xid is 100 (horizon 101) and whose snapshot's xmin is `xmin`. */
const read = (xmin: number) => ({ xmin: BigInt(xmin), horizon: 101n });

describe('HeldBackPoll', () => {
  it('waits the poll interval after a read that nothing held back (xmin is its own xid)', () => {
    const poll = new HeldBackPoll(100);
    expect([poll.next(read(100)), poll.next(read(100))]).toEqual([100, 100]);
  });

  it('re-reads after 1 ms when an older xid held the read back, doubling while it holds, up to the poll', () => {
    const poll = new HeldBackPoll(100);
    expect(Array.from({ length: 9 }, () => poll.next(read(42)))).toEqual([1, 2, 4, 8, 16, 32, 64, 100, 100]);
  });

  it('starts over at the first delay for a new holder, and after a read that nothing held back', () => {
    const poll = new HeldBackPoll(100, 2);
    expect([poll.next(read(42)), poll.next(read(42)), poll.next(read(43)), poll.next(read(43))]).toEqual([2, 4, 2, 4]);
    expect([poll.next(read(100)), poll.next(read(43))]).toEqual([100, 2]);
  });

  it('keeps the first delay at least 1 ms and at most the poll', () => {
    expect(new HeldBackPoll(100, 0).next(read(42))).toBe(1);
    expect(new HeldBackPoll(10, 20).next(read(42))).toBe(10);
  });
});
