import type { SigningKeyPublished, SigningKeyRetired } from '@tollgate/contracts';
import type { Decider } from '@tollgate/event-store';

/**
 * The signing keys of one token signer, as a stream of `SigningKeyPublished` / `SigningKeyRetired` events.
 * Two signers run it: the keys service's service-token key (stream `signing-keys`, keys log) and the identity
 * service's sign-in token key (stream `identity-signing-keys`, identity log). Only public material is in
 * events; the private key lives in the writer's own `signing_keys` table, sealed under the KEK.
 *
 * Rotation schedule (times relative to the current key's `activatesAt`, defaults in brackets):
 * - a key signs for `rotationPeriodMs` [7 days];
 * - its successor is published `publishLeadMs` [1 h] before it takes over, so every verifier (authz replicas
 *   through events within the staleness bound; third parties through the JWKS) knows it before any token
 *   signed with it exists;
 * - the old key stays published until its last token has expired: retired once now ≥ the successor's
 *   `activatesAt` + `tokenLifetimeMs` [1 h, the service-token maximum; a signer never issues a token that lives
 *   longer] + `retirementMarginMs` [5 min of clock skew];
 * - the very first key activates `firstKeyLeadMs` after it is published [2 × TOLLGATE_MAX_STALENESS_MS, at
 *   least 2 s]; until then `POST /v1/tokens` answers 503 with `Retry-After` and sign-in waits for it.
 */
export interface SigningKeySchedule {
  rotationPeriodMs: number;
  publishLeadMs: number;
  firstKeyLeadMs: number;
  tokenLifetimeMs: number;
  retirementMarginMs: number;
}

export const defaultSigningKeySchedule = (maxStalenessMs: number): SigningKeySchedule => ({
  rotationPeriodMs: 7 * 86_400_000,
  publishLeadMs: 3_600_000,
  firstKeyLeadMs: Math.max(2 * maxStalenessMs, 2_000),
  tokenLifetimeMs: 3_600_000,
  retirementMarginMs: 300_000,
});

/** The events of a signing-key stream (the same types and data on the keys and the identity log). */
export type SigningKeyEvent =
  { type: 'SigningKeyPublished'; data: SigningKeyPublished } | { type: 'SigningKeyRetired'; data: SigningKeyRetired };

/** ISO 8601 UTC with milliseconds, the contract's time format. */
const iso = (ms: number): string => new Date(ms).toISOString();

export interface SigningKeyRecord {
  kid: string;
  publicJwk: Record<string, unknown>;
  /** epoch ms */
  activatesAt: number;
  /** epoch ms, or null while published */
  retiredAt: number | null;
}

export interface SigningKeysState {
  /** In publication order. */
  keys: SigningKeyRecord[];
}

export interface SigningKeyPlan {
  /** When set, a new key is due, activating at this time (always later than now). */
  publishActivatingAt: number | null;
  /** Keys whose last token has expired. */
  retire: string[];
}

const byActivation = (keys: readonly SigningKeyRecord[]) => [...keys].sort((a, b) => a.activatesAt - b.activatesAt);

/** The key that signs at `now`: the published key with the latest `activatesAt` at or before now. */
export function activeSigningKey(state: SigningKeysState, now: number): SigningKeyRecord | undefined {
  let active: SigningKeyRecord | undefined;
  for (const key of state.keys) {
    if (key.retiredAt !== null || key.activatesAt > now) continue;
    if (!active || key.activatesAt > active.activatesAt) active = key;
  }
  return active;
}

/** The earliest published key that is not active yet. */
export function pendingSigningKey(state: SigningKeysState, now: number): SigningKeyRecord | undefined {
  return byActivation(state.keys).find((k) => k.retiredAt === null && k.activatesAt > now);
}

/** The JWKS: every published, not retired key (including the next one, before it signs). */
export function publishedJwks(state: SigningKeysState): Record<string, unknown>[] {
  return byActivation(state.keys)
    .filter((k) => k.retiredAt === null)
    .map((k) => k.publicJwk);
}

/** What the rotation schedule asks for at `now`. Pure. */
export function planSigningKeys(state: SigningKeysState, now: number, schedule: SigningKeySchedule): SigningKeyPlan {
  const active = activeSigningKey(state, now);
  const pending = pendingSigningKey(state, now);
  let publishActivatingAt: number | null = null;
  if (!pending) {
    if (!active) publishActivatingAt = now + schedule.firstKeyLeadMs;
    else {
      const successorAt = active.activatesAt + schedule.rotationPeriodMs;
      // After a long outage the successor still gets its full lead: the current key keeps signing meanwhile.
      if (now >= successorAt - schedule.publishLeadMs)
        publishActivatingAt = Math.max(successorAt, now + schedule.publishLeadMs);
    }
  }
  // A key retired before it activated (a scheduled successor an on-demand rotation replaced) never signed:
  // it is nobody's successor.
  const sorted = byActivation(state.keys).filter((k) => k.retiredAt === null || k.retiredAt >= k.activatesAt);
  const retire: string[] = [];
  sorted.forEach((key, i) => {
    if (key.retiredAt !== null) return;
    const successor = sorted[i + 1];
    if (!successor || successor.activatesAt > now) return;
    // The key stopped signing at successor.activatesAt; its last token expires at most tokenLifetimeMs later.
    if (now >= successor.activatesAt + schedule.tokenLifetimeMs + schedule.retirementMarginMs) retire.push(key.kid);
  });
  return { publishActivatingAt, retire };
}

/**
 * Runs the schedule. `candidate` is a freshly generated key (its private half already stored) that is
 * published when the plan asks for one; without a candidate nothing is published. Deciding on the state
 * loaded at append time makes concurrent replicas safe: the loser of a version conflict re-decides, finds
 * the key already published and publishes nothing.
 */
export interface MaintainSigningKeys {
  type: 'MaintainSigningKeys';
  now: number;
  schedule: SigningKeySchedule;
  candidate?: { kid: string; publicJwk: Record<string, unknown> };
}

/**
 * On-demand rotation (`tollgate keys rotate-signing`): `candidate` is published to activate `leadMs` from now
 * (at least the schedule's `firstKeyLeadMs`, so every verifier learns it before it signs); the key signing
 * now keeps its published place until its last token has expired (the schedule retires it then). A scheduled
 * successor that activates later than the candidate never signed: it is retired at once. One that activates
 * sooner already is the rotation asked for: nothing is published.
 */
export interface RotateSigningKey {
  type: 'RotateSigningKey';
  now: number;
  schedule: SigningKeySchedule;
  leadMs: number;
  candidate: { kid: string; publicJwk: Record<string, unknown> };
}

/** When an on-demand rotation at `now` would activate its key (`leadMs`, at least the first-key lead). */
export const onDemandActivation = (now: number, leadMs: number, schedule: SigningKeySchedule): number =>
  now + Math.max(leadMs, schedule.firstKeyLeadMs);

export const signingKeysDecider: Decider<MaintainSigningKeys | RotateSigningKey, SigningKeyEvent, SigningKeysState> = {
  initialState: { keys: [] },

  decide(command, state) {
    if (command.type === 'RotateSigningKey') return decideRotation(command, state);
    const plan = planSigningKeys(state, command.now, command.schedule);
    const events: SigningKeyEvent[] = plan.retire.map((kid) => ({
      type: 'SigningKeyRetired',
      data: { kid, retiredAt: iso(command.now) },
    }));
    const candidate = command.candidate;
    if (plan.publishActivatingAt !== null && candidate && !state.keys.some((k) => k.kid === candidate.kid)) {
      events.push({
        type: 'SigningKeyPublished',
        data: { kid: candidate.kid, publicJwk: candidate.publicJwk, activatesAt: iso(plan.publishActivatingAt) },
      });
    }
    return events;
  },

  evolve(state, event) {
    return evolveSigningKeys(state, event);
  },
};

function decideRotation(command: RotateSigningKey, state: SigningKeysState): SigningKeyEvent[] {
  const { now, schedule, candidate } = command;
  if (state.keys.some((k) => k.kid === candidate.kid)) return [];
  const activatesAt = onDemandActivation(now, command.leadMs, schedule);
  const pending = state.keys.filter((k) => k.retiredAt === null && k.activatesAt > now);
  if (pending.some((k) => k.activatesAt <= activatesAt)) return [];
  const retire = new Set([...planSigningKeys(state, now, schedule).retire, ...pending.map((k) => k.kid)]);
  return [
    ...[...retire].map((kid): SigningKeyEvent => ({ type: 'SigningKeyRetired', data: { kid, retiredAt: iso(now) } })),
    {
      type: 'SigningKeyPublished',
      data: { kid: candidate.kid, publicJwk: candidate.publicJwk, activatesAt: iso(activatesAt) },
    },
  ];
}

function evolveSigningKeys(state: SigningKeysState, event: SigningKeyEvent): SigningKeysState {
  switch (event.type) {
    case 'SigningKeyPublished':
      return {
        keys: [
          ...state.keys,
          {
            kid: event.data.kid,
            publicJwk: event.data.publicJwk,
            activatesAt: Date.parse(event.data.activatesAt),
            retiredAt: null,
          },
        ],
      };
    case 'SigningKeyRetired':
      return {
        keys: state.keys.map((k) =>
          k.kid === event.data.kid && k.retiredAt === null ? { ...k, retiredAt: Date.parse(event.data.retiredAt) } : k,
        ),
      };
    default:
      return state;
  }
}
