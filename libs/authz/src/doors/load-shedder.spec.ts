import { describe, expect, it } from '@jest/globals';
import { LoadShedder } from './load-shedder';

/** A shedder on a hand-driven clock whose turns end when the test says so. */
function harness(options: { budgetMs?: number; anonymousShare?: number; minRequests?: number } = {}) {
  let now = 0;
  const endOfTurn: (() => void)[] = [];
  const shedder = new LoadShedder({
    minRequests: 1,
    ...options,
    now: () => now,
    afterTurn: (f) => endOfTurn.push(f),
  });
  return {
    shedder,
    advance: (ms: number) => (now += ms),
    endTurn: () => endOfTurn.splice(0).forEach((f) => f()),
  };
}

describe('LoadShedder', () => {
  it('serves every request of a turn whose request work stays within the budget', () => {
    const { shedder, advance } = harness({ budgetMs: 10 });
    for (let i = 0; i < 100; i++) {
      expect(shedder.admit(true)).toBe(true);
      advance(0.1);
    }
    expect(shedder.shed).toBe(0);
  });

  it('sheds the rest of a turn once its request work exceeds the budget, and serves again next turn', () => {
    const { shedder, advance, endTurn } = harness({ budgetMs: 10 });
    expect(shedder.admit(true)).toBe(true);
    advance(10);
    expect(shedder.admit(true)).toBe(true);
    advance(0.001);
    expect(shedder.admit(true)).toBe(false);
    expect(shedder.admit(false)).toBe(false);
    expect(shedder.shed).toBe(2);
    endTurn();
    expect(shedder.admit(true)).toBe(true);
    expect(shedder.admit(false)).toBe(true);
    expect(shedder.shed).toBe(2);
  });

  it('gives anonymous requests only their share of the turn, so callers with a credential are served first', () => {
    const { shedder, advance } = harness({ budgetMs: 10, anonymousShare: 0.5 });
    expect(shedder.admit(false)).toBe(true);
    advance(6);
    expect(shedder.admit(false)).toBe(false);
    expect(shedder.admit(true)).toBe(true);
    advance(5);
    expect(shedder.admit(true)).toBe(false);
  });

  it('always serves the first request of a turn, however long the previous turn was', () => {
    const { shedder, advance, endTurn } = harness({ budgetMs: 1 });
    shedder.admit(false);
    advance(1000);
    expect(shedder.admit(false)).toBe(false);
    endTurn();
    advance(1000);
    expect(shedder.admit(false)).toBe(true);
  });

  it('does not shed a turn of a few requests that a pause made long (a GC pause at half load is not a flood)', () => {
    const { shedder, advance, endTurn } = harness({ budgetMs: 10, minRequests: 32 });
    expect(shedder.admit(true)).toBe(true);
    advance(50); // a major GC between two requests of one turn
    for (let i = 1; i < 32; i++) expect(shedder.admit(i % 2 === 0)).toBe(true);
    expect(shedder.shed).toBe(0);
    // A turn that really holds many requests past its budget is still shed.
    expect(shedder.admit(true)).toBe(false);
    expect(shedder.admit(false)).toBe(false);
    expect(shedder.shed).toBe(2);
    endTurn();
    expect(shedder.admit(false)).toBe(true);
  });

  it('schedules one end-of-turn per turn, not one per request', () => {
    let scheduled = 0;
    const shedder = new LoadShedder({ now: () => 0, afterTurn: () => (scheduled += 1) });
    for (let i = 0; i < 50; i++) shedder.admit(true);
    expect(scheduled).toBe(1);
  });
});
