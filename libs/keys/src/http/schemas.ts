import {
  accessKeySlot,
  keyRevocationReason,
  keyScope,
  SERVICE_TOKEN_CEILING_LIFETIME_SECONDS,
  SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS,
} from '@tollgate/contracts';
import { nextCursorField, pageQueryFields } from '@tollgate/platform';
import { z } from 'zod';
import { ABSOLUTE_MAX_LIFETIME_DAYS } from '../domain/policy';

/** Request and response schemas of the keys API: one declaration gives validation and OpenAPI. */

const time = z.iso.datetime({ offset: false, precision: 3 });
const lifetimeDays = z.number().int().min(1).max(ABSOLUTE_MAX_LIFETIME_DAYS);

export const createKeyBody = z.strictObject({
  name: z.string().min(1).max(200),
  scope: keyScope,
  /** Any ISO 8601 date-time with a zone (normalised to UTC); null: never expires (only without a policy maximum). */
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
});
export type CreateKeyBody = z.infer<typeof createKeyBody>;

export const keyPolicyBody = z.strictObject({
  defaultLifetimeDays: lifetimeDays,
  maxLifetimeDays: lifetimeDays.nullable(),
  maxServiceTokenLifetimeSeconds: z
    .number()
    .int()
    .min(SERVICE_TOKEN_DEFAULT_MAX_LIFETIME_SECONDS)
    .max(SERVICE_TOKEN_CEILING_LIFETIME_SECONDS)
    .optional()
    .describe("machine users' longest service token, 3600–86400 s; absent: the value in force is kept"),
  /** Optional precondition, like `If-Match`: the version this change is based on. */
  version: z.number().int().min(0).optional(),
});

/**
 * `POST /v1/tokens`. The caller's maximum (3600 s; for machine users the key policy's
 * `maxServiceTokenLifetimeSeconds`, at most 86400) is checked by the service, whose 400 states it.
 */
export const tokenBody = z.strictObject({
  expiresInSeconds: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      `1–3600, default 3600; machine users up to the key policy's maxServiceTokenLifetimeSeconds (at most ${SERVICE_TOKEN_CEILING_LIFETIME_SECONDS})`,
    ),
});

/** `POST /v1/keys/{keyId}/rotate`: how long the old key keeps working, 0–604800 s (7 days), default 3600. */
export const rotateKeyBody = z.strictObject({
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(604_800)
    .optional()
    .describe('seconds the old key keeps working, 0–604800 (7 days); default 3600; never beyond its own expiry'),
});

/** Rotating a slot takes no fields; an empty object (or no body) is accepted. */
export const accessKeyBody = z.strictObject({});

export const slotParam = accessKeySlot;

/** `?limit=&cursor=` of the key lists (unknown parameters are ignored, as before pagination). */
export const keyPageQuery = z.object(pageQueryFields);

export const expiringQuery = z.object({
  ...pageQueryFields,
  days: z
    .string()
    .regex(/^\d{1,6}$/, 'an integer number of days')
    .transform(Number)
    .pipe(z.number().int().min(1).max(ABSOLUTE_MAX_LIFETIME_DAYS))
    .optional(),
});

const selectorId = z.string().min(1).max(200);

/** `POST /v1/revocations`: exactly one selector. */
export const bulkRevocationBody = z
  .strictObject({
    user: selectorId.optional().describe('a user id: every key of that user'),
    group: selectorId.optional().describe("a group name (exact): every key of the group's current members"),
    project: selectorId.optional().describe("a project id: its deployments' access keys and invokers' inference keys"),
    deployment: selectorId.optional().describe("a deployment id: its access keys and its invokers' inference keys"),
    dryRun: z.boolean().optional().describe('list what would be revoked, revoke nothing'),
  })
  .refine((b) => [b.user, b.group, b.project, b.deployment].filter((v) => v !== undefined).length === 1, {
    message: 'exactly one of user, group, project, deployment',
    path: ['selector'],
  });

// ---- responses (documentation) ----

export const createdKeyResponse = z.object({
  keyId: z.string(),
  key: z.string().nullable().describe('The secret: shown in this response only (null in an idempotent replay)'),
  name: z.string(),
  scope: keyScope,
  expiresAt: time.nullable(),
  createdAt: time,
});

export const rotatedKeyResponse = createdKeyResponse.extend({
  rotatedFrom: z.string().describe('the key this one replaces'),
  previousKeyRevokesAt: time.describe('when the old key stops working; its KeyRevoked (reason rotated) follows'),
  eventIds: z.array(z.string()).describe('KeyCreated of the new key, KeyRotated of the old (as in Tollgate-Event-Id)'),
});

export const listedKeyResponse = z.object({
  keyId: z.string(),
  userId: z.string(),
  name: z.string(),
  scope: keyScope,
  status: z.enum(['active', 'expired', 'revoked']),
  expiresAt: time.nullable(),
  createdAt: time,
  revokedAt: time.nullable(),
  revocationReason: keyRevocationReason.nullable(),
  version: z.number().int(),
  lastUsedAt: time
    .nullable()
    .describe(
      'Start of the minute the key was last used through the authorizer (allowed, or refused with 403), or null ' +
        'when never used. Authz replicas publish usage every TOLLGATE_KEY_USAGE_INTERVAL_MS (default 1 min), ' +
        'so a use shows after up to about that interval; a replica that stops abruptly may lose its last interval.',
    ),
  successorKeyId: z
    .string()
    .nullable()
    .describe('The key that replaced this one (`POST /v1/keys/{keyId}/rotate`), or null: never rotated'),
  revokesAt: time
    .nullable()
    .describe('When that rotation ends this key (it lists as active until then), or null: never rotated'),
});

export const keyListResponse = z.object({ keys: z.array(listedKeyResponse), nextCursor: nextCursorField });

export const revocationResponse = z.object({ keyId: z.string(), revokedAt: time, eventId: z.string() });

export const revokeAllResponse = z.object({ revoked: z.number().int(), eventIds: z.array(z.string()) });

export const bulkRevocationResponse = z.object({
  dryRun: z.boolean(),
  keys: z.array(
    z.object({
      keyId: z.string(),
      kind: z.enum(['user-key', 'access-key']),
      userId: z.string().nullable(),
      scope: keyScope.nullable(),
      deploymentId: z.string().nullable(),
      slot: accessKeySlot.nullable(),
      eventId: z.string().nullable().describe('the KeyRevoked event (null in a dry run)'),
    }),
  ),
  eventIds: z.array(z.string()),
});

export const keyCountsResponse = z.object({
  counts: z.array(z.object({ userId: z.string(), name: z.string().nullable(), active: z.number().int() })),
  nextCursor: nextCursorField,
});

export const keyPolicyResponse = z.object({
  defaultLifetimeDays: z.number().int(),
  maxLifetimeDays: z.number().int().nullable(),
  maxServiceTokenLifetimeSeconds: z.number().int(),
  version: z.number().int(),
});

export const accessKeyResponse = z.object({
  slot: accessKeySlot,
  keyId: z.string(),
  accessKey: z
    .string()
    .nullable()
    .describe('The secret (tga_…): shown in this response only (null in an idempotent replay)'),
  eventId: z.string().optional().describe('The revocation of the key that was in the slot'),
});

export const slotRevocationResponse = z.object({ eventId: z.string() });

export const tokenResponse = z.object({
  token: z.string().nullable(),
  tokenType: z.literal('Bearer'),
  scope: keyScope,
  expiresAt: time,
});

export const jwksResponse = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ field: z.string().optional(), message: z.string() })).optional(),
  }),
});

// ---- examples ----

export const examples = {
  createKey: { name: 'ci-pipeline', scope: 'inference', expiresAt: '2027-05-26T00:00:00.000Z' },
  createdKey: {
    keyId: 'key_3fK9xQ2mP7rT1vWz',
    key: 'tgi_4Vq8ZbN2kR7tW1xY3mP9sL6dF0gH5jK2A1b2C3',
    name: 'ci-pipeline',
    scope: 'inference',
    expiresAt: '2027-05-26T00:00:00.000Z',
    createdAt: '2026-11-26T06:30:00.000Z',
  },
  rotateKey: { overlapSeconds: 86_400 },
  rotatedKey: {
    keyId: 'key_9mN2pQ7rS1tU3vW5',
    key: 'tgi_7Jk2Lm9Np4Qr8St1Uv6Wx3Yz0Ab5Cd2Ef1g2H3',
    name: 'ci-pipeline',
    scope: 'inference',
    expiresAt: '2027-11-26T06:30:00.000Z',
    createdAt: '2026-11-26T06:30:00.000Z',
    rotatedFrom: 'key_3fK9xQ2mP7rT1vWz',
    previousKeyRevokesAt: '2026-11-27T06:30:00.000Z',
    eventIds: ['evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z8', 'evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z9'],
  },
  listedKey: {
    keyId: 'key_3fK9xQ2mP7rT1vWz',
    userId: 'usr_8hJ2kL4mN6pQ8rS0',
    name: 'ci-pipeline',
    scope: 'inference',
    status: 'active',
    expiresAt: '2027-05-26T00:00:00.000Z',
    createdAt: '2026-11-26T06:30:00.000Z',
    revokedAt: null,
    revocationReason: null,
    version: 1,
    lastUsedAt: '2026-12-05T08:22:00.000Z',
    successorKeyId: null,
    revokesAt: null,
  },
  revocation: {
    keyId: 'key_3fK9xQ2mP7rT1vWz',
    revokedAt: '2026-11-26T07:00:00.000Z',
    eventId: 'evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z8',
  },
  revokeAll: { revoked: 2, eventIds: ['evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z8', 'evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z9'] },
  bulkRevocation: { group: 'contractors-2026' },
  bulkRevoked: {
    dryRun: false,
    keys: [
      {
        keyId: 'key_3fK9xQ2mP7rT1vWz',
        kind: 'user-key',
        userId: 'usr_8hJ2kL4mN6pQ8rS0',
        scope: 'inference',
        deploymentId: null,
        slot: null,
        eventId: 'evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z8',
      },
    ],
    eventIds: ['evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z8'],
  },
  counts: { counts: [{ userId: 'usr_8hJ2kL4mN6pQ8rS0', name: 'alice', active: 2 }], nextCursor: null },
  policy: { defaultLifetimeDays: 90, maxLifetimeDays: 365 },
  policyResponse: { defaultLifetimeDays: 90, maxLifetimeDays: 365, maxServiceTokenLifetimeSeconds: 3600, version: 3 },
  accessKey: {
    slot: 'primary',
    keyId: 'key_7bC1dE3fG5hJ7kL9',
    accessKey: 'tga_9Hs2Kd8Lm3Nq7Rt1Vw5Xy0Zb4Cf6Gj8Pk2A1b2C3',
    eventId: 'evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z8',
  },
  slotRevocation: { eventId: 'evt_01JDQ3Z8K4M2N6P8R0T2V4X6Z8' },
  token: { expiresInSeconds: 900 },
  tokenResponse: {
    token: 'eyJhbGciOiJFZERTQSIsImtpZCI6Ik5xZzRfV1dLIiwidHlwIjoiSldUIn0.eyJzY29wZSI6ImluZmVyZW5jZSJ9.c2lnbmF0dXJl',
    tokenType: 'Bearer',
    scope: 'inference',
    expiresAt: '2026-11-26T06:45:00.000Z',
  },
  jwks: {
    keys: [
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
        kid: 'Nqg4_WWK',
        alg: 'EdDSA',
        use: 'sig',
      },
    ],
  },
  error: (code: string, message: string) => ({ error: { code, message } }),
};
