import { describe, expect, it } from '@jest/globals';
import {
  chaosLine,
  check,
  type CheckRecord,
  type History,
  lateAllows,
  lostWrites,
  orderViolations,
  type PublishedEvent,
  recoverySeconds,
  unavailableSeconds,
  undecidedReasons,
  type WriteRecord,
} from './checker';

const BOUND = 2000;

/** A subject granted (key created, event e-create) and removed (event e-remove) at t=10 000. */
function history(overrides: Partial<History> = {}): History {
  const writes: WriteRecord[] = [
    { subject: 's1', op: 'create-key', effect: 'grant', sentAt: 1000, ackAt: 1010, eventIds: ['e-create'] },
    { subject: 's1', op: 'revoke-key', effect: 'remove', sentAt: 10_000, ackAt: 10_000, eventIds: ['e-remove'] },
  ];
  const published: PublishedEvent[] = [
    { topic: 'k', partition: 0, offset: 0, streamId: 'key-1', streamVersion: 1, eventId: 'e-create', timestamp: 1005 },
    { topic: 'k', partition: 0, offset: 1, streamId: 'key-1', streamVersion: 2, eventId: 'e-remove', timestamp: 9999 },
  ];
  return {
    boundMs: BOUND,
    writes,
    checks: [],
    published,
    stored: new Set(['e-create', 'e-remove']),
    faults: [],
    final: [
      { subject: 's1', replica: 'authz-1', status: 401 },
      { subject: 's1', replica: 'authz-2', status: 401 },
    ],
    ...overrides,
  };
}

const checkAt = (sentAt: number, status: number, replica = 'authz-1', subject = 's1'): CheckRecord => ({
  subject,
  replica,
  sentAt,
  answeredAt: sentAt + 5,
  status,
});

describe('the fault suite checker', () => {
  it('finds nothing wrong in a clean history', () => {
    const report = check(
      history({ checks: [checkAt(5000, 200), checkAt(10_500, 200), checkAt(12_001, 401), checkAt(13_000, 401)] }),
    );
    expect(report.total).toMatchObject({ lost: 0, orderViolations: 0, lateAllows: 0, acknowledgedWrites: 2 });
    expect(chaosLine(report)).toBe(
      'CHAOS {"cycles":0,"acknowledged_writes":2,"lost":0,"order_violations":0,"late_allows":0,"unavailable_s":0,"max_recovery_s":0}',
    );
  });

  it('reports a check allowed after the removal was acknowledged + the bound, and not one within the bound', () => {
    const late = lateAllows(history({ checks: [checkAt(11_999, 200), checkAt(12_001, 200, 'authz-2')] }));
    expect(late).toEqual([{ subject: 's1', replica: 'authz-2', sentAt: 12_001, lateByMs: 1 }]);
  });

  it('reports an acknowledged write missing from the store, from Kafka, or whose effect is gone', () => {
    expect(lostWrites(history({ stored: new Set(['e-create']) }))).toEqual([
      { subject: 's1', op: 'revoke-key', ackAt: 10_000, why: 'event e-remove is not in the store' },
    ]);
    expect(lostWrites(history({ published: history().published.slice(0, 1) }))[0]?.why).toBe(
      'event e-remove was never published',
    );
    const stillAllowed = history({ final: [{ subject: 's1', replica: 'authz-2', status: 200 }] });
    expect(lostWrites(stillAllowed)[0]?.why).toBe('still allowed on authz-2 at the end');
  });

  it('expects a granted subject allowed at the end, unless a removal was sent, acknowledged or not', () => {
    const granted = history({
      writes: [history().writes[0]!],
      final: [{ subject: 's1', replica: 'authz-3', status: 401 }],
    });
    expect(lostWrites(granted)[0]?.why).toBe('answered 401 on authz-3 at the end, expected 200');
    const removalInDoubt = history({
      writes: [history().writes[0]!, { ...history().writes[1]!, ackAt: undefined, eventIds: [] }],
      final: [{ subject: 's1', replica: 'authz-3', status: 401 }],
    });
    expect(lostWrites(removalInDoubt)).toEqual([]);
  });

  it('allows duplicates of the same event, and reports gaps, reordering and two events for one version', () => {
    const e = (offset: number, streamVersion: number, eventId: string, streamId = 'key-1'): PublishedEvent => ({
      topic: 'k',
      partition: 0,
      offset,
      streamId,
      streamVersion,
      eventId,
      timestamp: offset,
    });
    expect(orderViolations([e(0, 1, 'a'), e(1, 2, 'b'), e(2, 1, 'a'), e(3, 2, 'b'), e(4, 3, 'c')])).toEqual([]);
    expect(orderViolations([e(0, 1, 'a'), e(1, 3, 'c')]).map((v) => v.why)).toEqual(['version 3 after 1 (a gap)']);
    expect(orderViolations([e(0, 2, 'b'), e(1, 1, 'a')]).map((v) => v.why)).toEqual([
      'version 2 after 0 (a gap)',
      'version 1 after 2 (out of order)',
    ]);
    expect(orderViolations([e(0, 1, 'a'), e(1, 1, 'x')]).map((v) => v.why)).toEqual(['version 1 is two events']);
    // Streams are judged apart, wherever their messages interleave.
    expect(orderViolations([e(0, 1, 'a'), e(1, 1, 'p', 'key-2'), e(2, 2, 'b'), e(3, 2, 'q', 'key-2')])).toEqual([]);
  });

  it('counts replica-seconds without a decision and the recovery after the fault ended', () => {
    const checks = [
      checkAt(20_000, 200),
      checkAt(20_500, 503),
      checkAt(21_000, 503),
      checkAt(21_500, 0),
      checkAt(22_000, 503),
      checkAt(22_600, 200),
      checkAt(21_000, 200, 'authz-2'),
    ];
    expect(unavailableSeconds(checks)).toBeCloseTo(0.5 + 1 + 0.5);
    expect(undecidedReasons(checks)).toEqual([
      ['503 (no reason)', 3],
      ['no answer', 1],
    ]);
    const window = { kind: 'kill-broker', startAt: 20_000, endAt: 21_200, untilAt: 30_000 };
    // Last failure at 22 000, next decision answered at 22 605: 1.405 s after the fault ended.
    expect(recoverySeconds(checks, window)).toBeCloseTo(1.405);
    expect(recoverySeconds(checks, { ...window, endAt: 22_500 })).toBe(0);
    // Still failing when the window closed: the rest of the window counts.
    expect(recoverySeconds(checks.slice(0, 5), window)).toBeCloseTo(8.8);
  });

  it('attributes each finding to the fault window it happened in', () => {
    const report = check(
      history({
        faults: [{ kind: 'freeze-broker', startAt: 9000, endAt: 11_000, untilAt: 20_000 }],
        checks: [checkAt(12_500, 200), checkAt(30_000, 200)],
        stored: new Set(['e-create']),
      }),
    );
    const row = (kind: string) => report.rows.find((r) => r.kind === kind)!;
    expect(row('freeze-broker')).toMatchObject({ cycles: 1, lost: 1, lateAllows: 1, acknowledgedWrites: 1 });
    expect(row('none')).toMatchObject({ lost: 0, lateAllows: 1, acknowledgedWrites: 1 });
    expect(report.total).toMatchObject({ cycles: 1, lost: 1, lateAllows: 2 });
  });
});
