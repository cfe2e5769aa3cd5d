/** The stable, kebab-case reasons of CONTRACT section 2, grouped by status. */
export const UNAUTHENTICATED_REASONS = [
  'credential-missing',
  'credential-malformed',
  'key-unknown',
  'key-revoked',
  'key-expired',
  'token-invalid',
  'token-expired',
  'issuer-untrusted',
  'audience-mismatch',
  'access-key-invalid',
  'auth-mode-not-allowed',
  'key-scope-invalid',
] as const;
export const FORBIDDEN_REASONS = [
  'not-collaborator',
  'group-not-granted',
  'external-login-stale',
  'external-access-disabled',
  'user-deactivated',
] as const;
export const ALLOWED_REASONS = ['public', 'collaborator', 'group-granted', 'access-key'] as const;

export type UnauthenticatedReason = (typeof UNAUTHENTICATED_REASONS)[number];
export type ForbiddenReason = (typeof FORBIDDEN_REASONS)[number];
export type AllowedReason = (typeof ALLOWED_REASONS)[number];
export type Reason =
  UnauthenticatedReason | ForbiddenReason | AllowedReason | 'deployment-unknown' | 'authorizer-stale';

export type DecisionStatus = 200 | 401 | 403 | 404 | 503;

const STATUS = new Map<Reason, DecisionStatus>([
  ...UNAUTHENTICATED_REASONS.map((r) => [r, 401] as const),
  ...FORBIDDEN_REASONS.map((r) => [r, 403] as const),
  ...ALLOWED_REASONS.map((r) => [r, 200] as const),
  ['deployment-unknown', 404],
  ['authorizer-stale', 503],
]);

/** The status that goes with a reason (REST and gRPC; forward-auth answers `deployment-unknown` with 403). */
export function statusOfReason(reason: Reason): DecisionStatus {
  const s = STATUS.get(reason);
  if (s === undefined) throw new TypeError(`unknown reason ${String(reason)}`);
  return s;
}

export function isReason(s: unknown): s is Reason {
  return typeof s === 'string' && STATUS.has(s as Reason);
}
