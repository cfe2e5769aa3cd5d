import { describe, expect, it } from '@jest/globals';
import { HeldBackPoll } from './held-back-poll';

describe('HeldBackPoll', () => {
  it('waits the poll interval after a read that held nothing back', () => {
    const poll = new HeldBackPoll(100);
    expect([poll.next(false), poll.next(false)]).toEqual([100, 100]);
  });

  it('re-reads after 1 ms when a read held rows back, doubling while they stay held back, up to the poll', () => {
    const poll = new HeldBackPoll(100);
    expect(Array.from({ length: 9 }, () => poll.next(true))).toEqual([1, 2, 4, 8, 16, 32, 64, 100, 100]);
  });

  it('starts over at the first delay once a read held nothing back', () => {
    const poll = new HeldBackPoll(100, 2);
    expect([poll.next(true), poll.next(true), poll.next(false), poll.next(true)]).toEqual([2, 4, 100, 2]);
  });

  it('keeps the first delay at least 1 ms and at most the poll', () => {
    expect(new HeldBackPoll(100, 0).next(true)).toBe(1);
    expect(new HeldBackPoll(10, 20).next(true)).toBe(10);
  });
});
