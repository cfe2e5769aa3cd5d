import { fold } from '@tollgate/event-store';
import {
  activeSigningKey,
  planSigningKeys,
  publishedJwks,
  signingKeysDecider,
  type MaintainSigningKeys,
  type RotateSigningKey,
  type SigningKeyEvent,
  type SigningKeySchedule,
} from './signing-keys.decider';

const iso = (ms: number) => new Date(ms).toISOString();
/** given past events, when a command: the new events. */
const givenWhen = (
  given: readonly SigningKeyEvent[],
  when: MaintainSigningKeys | RotateSigningKey,
): { events: SigningKeyEvent[] } => ({
  events: signingKeysDecider.decide(when, fold(signingKeysDecider, given)),
});

const H = 3_600_000;
const DAY = 24 * H;
const schedule: SigningKeySchedule = {
  rotationPeriodMs: 7 * DAY,
  publishLeadMs: H,
  firstKeyLeadMs: 4_000,
  tokenLifetimeMs: H,
  retirementMarginMs: 5 * 60_000,
};
const t0 = Date.parse('2026-11-26T00:00:00.000Z');
const jwk = (kid: string) => ({ kty: 'OKP', crv: 'Ed25519', x: `x-${kid}`, kid, alg: 'EdDSA', use: 'sig' });
const published = (kid: string, activatesAt: number): SigningKeyEvent => ({
  type: 'SigningKeyPublished',
  data: { kid, publicJwk: jwk(kid), activatesAt: iso(activatesAt) },
});
const retired = (kid: string, at: number): SigningKeyEvent => ({
  type: 'SigningKeyRetired',
  data: { kid, retiredAt: iso(at) },
});
const maintain = (now: number, candidate?: string): MaintainSigningKeys => ({
  type: 'MaintainSigningKeys',
  now,
  schedule,
  ...(candidate ? { candidate: { kid: candidate, publicJwk: jwk(candidate) } } : {}),
});

// k1 activates at t0; its successor k2 is due at t0 + 7 days and published an hour before.
const k2At = t0 + 7 * DAY;
const k1Retires = k2At + H + 5 * 60_000;

describe('signing keys decider (rotation schedule)', () => {
  it.each<[string, SigningKeyEvent[], MaintainSigningKeys, ReturnType<typeof givenWhen>]>([
    [
      'first start: publish a key that activates later',
      [],
      maintain(t0, 'k1'),
      { events: [published('k1', t0 + 4_000)] },
    ],
    ['first start without a candidate: nothing', [], maintain(t0), { events: [] }],
    ['a pending key: nothing more', [published('k1', t0 + 4_000)], maintain(t0 + 1_000, 'k2'), { events: [] }],
    ['an active key, before the lead: nothing', [published('k1', t0)], maintain(k2At - H - 1, 'k2'), { events: [] }],
    [
      'an active key, at the lead: publish the successor at its slot',
      [published('k1', t0)],
      maintain(k2At - H, 'k2'),
      { events: [published('k2', k2At)] },
    ],
    [
      'after an outage past the rotation time: the successor still gets its full lead',
      [published('k1', t0)],
      maintain(k2At + DAY, 'k2'),
      { events: [published('k2', k2At + DAY + H)] },
    ],
    [
      'successor active, old key tokens may live: keep it',
      [published('k1', t0), published('k2', k2At)],
      maintain(k1Retires - 1),
      { events: [] },
    ],
    [
      'successor active long enough: retire the old key',
      [published('k1', t0), published('k2', k2At)],
      maintain(k1Retires),
      { events: [retired('k1', k1Retires)] },
    ],
    [
      'a retired key is not retired again',
      [published('k1', t0), published('k2', k2At), retired('k1', k1Retires)],
      maintain(k1Retires + H),
      { events: [] },
    ],
    [
      'a candidate with a published kid is not published twice',
      [],
      maintain(t0, 'k1'),
      { events: [published('k1', t0 + 4_000)] },
    ],
  ])('%s', (_what, given, when, then) => {
    expect(givenWhen(given, when)).toEqual(then);
  });

  describe('on-demand rotation (tollgate keys rotate-signing)', () => {
    const rotate = (now: number, kid: string, leadMs = 2 * 60_000): RotateSigningKey => ({
      type: 'RotateSigningKey',
      now,
      schedule,
      leadMs,
      candidate: { kid, publicJwk: jwk(kid) },
    });
    const now = t0 + DAY;

    it.each<[string, SigningKeyEvent[], RotateSigningKey, ReturnType<typeof givenWhen>]>([
      [
        'publishes the new key to activate after the lead; the signing key stays',
        [published('k1', t0)],
        rotate(now, 'k2'),
        { events: [published('k2', now + 2 * 60_000)] },
      ],
      [
        'the lead is at least the first-key lead (every verifier learns the key first)',
        [published('k1', t0)],
        rotate(now, 'k2', 0),
        { events: [published('k2', now + 4_000)] },
      ],
      [
        'a scheduled successor activating later never signed: retired at once',
        [published('k1', t0), published('k2', k2At)],
        rotate(k2At - 30 * 60_000, 'k3'),
        { events: [retired('k2', k2At - 30 * 60_000), published('k3', k2At - 28 * 60_000)] },
      ],
      [
        'a successor activating sooner already is the rotation: nothing',
        [published('k1', t0), published('k2', k2At)],
        rotate(k2At - 60_000, 'k3'),
        { events: [] },
      ],
      [
        'a due retirement is made on the way',
        [published('k1', t0), published('k2', k2At)],
        rotate(k1Retires, 'k3'),
        { events: [retired('k1', k1Retires), published('k3', k1Retires + 2 * 60_000)] },
      ],
    ])('%s', (_what, given, when, then) => {
      expect(givenWhen(given, when)).toEqual(then);
    });

    it("the old key keeps its place until its last token expired; the replaced successor is nobody's successor", () => {
      const at = k2At - 30 * 60_000;
      const k3At = at + 2 * 60_000;
      const state = fold(signingKeysDecider, [
        published('k1', t0),
        published('k2', k2At),
        retired('k2', at),
        published('k3', k3At),
      ]);
      expect(activeSigningKey(state, k3At - 1)?.kid).toBe('k1');
      expect(activeSigningKey(state, k3At)?.kid).toBe('k3');
      expect(publishedJwks(state).map((k) => k.kid)).toEqual(['k1', 'k3']);
      const k1Done = k3At + schedule.tokenLifetimeMs + schedule.retirementMarginMs;
      expect(planSigningKeys(state, k1Done - 1, schedule).retire).toEqual([]);
      expect(planSigningKeys(state, k1Done, schedule).retire).toEqual(['k1']);
      // Long after k2's slot, k3 (the signer) is never retired for it.
      expect(planSigningKeys(state, k2At + 2 * DAY, schedule).retire).toEqual(['k1']);
    });
  });

  it('publishes a key before it signs: the JWKS has it while the old key still signs', () => {
    const state = fold(signingKeysDecider, [published('k1', t0), published('k2', k2At)]);
    expect(activeSigningKey(state, k2At - 1)?.kid).toBe('k1');
    expect(publishedJwks(state).map((k) => k.kid)).toEqual(['k1', 'k2']);
    expect(activeSigningKey(state, k2At)?.kid).toBe('k2');
  });

  it('no key signs before the first activation', () => {
    const state = fold(signingKeysDecider, [published('k1', t0 + 4_000)]);
    expect(activeSigningKey(state, t0)).toBeUndefined();
    expect(activeSigningKey(state, t0 + 4_000)?.kid).toBe('k1');
  });

  it('drops a retired key from the JWKS', () => {
    const state = fold(signingKeysDecider, [published('k1', t0), published('k2', k2At), retired('k1', k1Retires)]);
    expect(publishedJwks(state).map((k) => k.kid)).toEqual(['k2']);
  });

  it('over a year of maintenance every 10 minutes: one key signs at every moment, at most three are published, none retired early', () => {
    let state = fold(signingKeysDecider, []);
    let n = 0;
    for (let now = t0; now < t0 + 365 * DAY; now += 10 * 60_000) {
      const plan = planSigningKeys(state, now, schedule);
      const events = signingKeysDecider.decide(
        maintain(now, plan.publishActivatingAt !== null ? `k${++n}` : undefined),
        state,
      );
      state = events.reduce(signingKeysDecider.evolve, state);
      if (now >= t0 + schedule.firstKeyLeadMs) expect(activeSigningKey(state, now)).toBeDefined();
      expect(publishedJwks(state).length).toBeLessThanOrEqual(3);
    }
    // Every retired key outlived its last token: retired at least a token lifetime after its successor took over.
    const sorted = [...state.keys].sort((a, b) => a.activatesAt - b.activatesAt);
    sorted.forEach((key, i) => {
      if (key.retiredAt !== null)
        expect(key.retiredAt).toBeGreaterThanOrEqual(sorted[i + 1]!.activatesAt + schedule.tokenLifetimeMs);
    });
    expect(sorted.filter((k) => k.retiredAt !== null).length).toBeGreaterThanOrEqual(50);
    expect(n).toBeGreaterThanOrEqual(52);
  });
});
