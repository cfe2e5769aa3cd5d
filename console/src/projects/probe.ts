import type { Decision, ProbeAnswer } from '../types';

/** What the probe said: the gateway's answer, no gateway configured (not an error), or why it failed. */
export type ProbeOutcome =
  | { kind: 'answered'; answer: ProbeAnswer }
  | { kind: 'not-configured'; message: string }
  | { kind: 'failed'; message: string };

/** The probe's outcome in words, next to the decision it follows (a mismatch hints at a gateway that does not ask Tollgate). */
export function probeSentence(outcome: ProbeOutcome, decision: Pick<Decision, 'allowed' | 'status'>): string {
  if (outcome.kind === 'not-configured') return `No model status: ${outcome.message}`;
  if (outcome.kind === 'failed') return `The gateway probe failed: ${outcome.message}`;
  const { status, latencyMs } = outcome.answer;
  if (decision.allowed) return `Model answered ${status} in ${latencyMs} ms.`;
  if (status === decision.status) return `The gateway refused with ${status} in ${latencyMs} ms, as decided.`;
  return `The gateway answered ${status} in ${latencyMs} ms, not the decided ${decision.status}: check that it asks Tollgate for every request.`;
}
