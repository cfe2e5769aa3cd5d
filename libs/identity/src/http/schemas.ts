import {
  credentialKind,
  deploymentState,
  isoTime,
  normalizePathPrefix,
  pathPrefixProblem,
  projectRole,
  userKind,
} from '@tollgate/contracts';
import { nextCursorField, pageQueryFields } from '@tollgate/platform';
import { z } from 'zod';
import { characterCount, MAX_GROUP_NAME_LENGTH, MAX_GROUPS_PER_USER } from '../domain/actor';
import { PROBE_METHODS } from '../domain/probe';

/**
 * Request and response schemas of the identity API, declared once: they validate (400 `validation-failed`
 * naming each field, unknown fields included) and document (OpenAPI) the same shapes.
 */

const name = z
  .string()
  .refine((v) => characterCount(v) >= 1 && characterCount(v) <= 200, 'must be 1 to 200 characters');

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const IPV6_LITERAL = /^\[[0-9a-f:.]{2,45}\]$/;

/** A host as requests name it, without scheme, port or path; stored lower-cased (hosts compare case-insensitively). */
const host = z
  .string()
  .transform((v) => v.trim().toLowerCase().replace(/\.$/, ''))
  .refine(
    (v) => DNS_NAME.test(v) || IPV6_LITERAL.test(v),
    'must be a host name or IP address, without scheme, port or path',
  );

/**
 * A path prefix, written in the decoded normal form requests are matched in (`pathPrefixProblem` says what
 * is refused, with the reason); stored without its trailing slash.
 */
const pathPrefix = z
  .string()
  .max(1024)
  .superRefine((v, ctx) => {
    const problem = pathPrefixProblem(v);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform(normalizePathPrefix);

export const groupName = z.string().min(1).max(MAX_GROUP_NAME_LENGTH);

const distinct = <T>(values: T[]): T[] => [...new Set(values)];

export const createUserBody = z.strictObject({
  name,
  kind: userKind,
  admin: z.boolean().default(false),
  email: z.email().max(320).nullable().default(null),
});
export type CreateUserBody = z.infer<typeof createUserBody>;

export const userResponse = z.object({
  id: z.string(),
  name: z.string(),
  kind: userKind,
  admin: z.boolean(),
  email: z.string().nullable(),
  createdAt: isoTime,
  deactivatedAt: isoTime.nullable(),
  version: z.number().int(),
  idp: z.string().optional().describe('External users: the IdP connector they are linked to'),
  externalSubject: z.string().optional().describe("External users: the IdP's `sub`"),
});

export const createProjectBody = z.strictObject({ name });
export const projectResponse = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: isoTime,
  version: z.number().int(),
});

export const collaboratorBody = z.strictObject({ role: projectRole });
export const collaboratorsResponse = z.array(z.object({ userId: z.string(), role: projectRole }));
export const collaboratorResponse = z.object({
  projectId: z.string(),
  userId: z.string(),
  role: projectRole,
  version: z.number().int().describe('The project version after the change'),
});
export const collaboratorRemovedResponse = z.object({
  projectId: z.string(),
  userId: z.string(),
  removed: z.literal(true),
  version: z.number().int(),
});

const deploymentFields = {
  name,
  hosts: z.array(host).max(100).transform(distinct),
  pathPrefixes: z.array(pathPrefix).min(1).max(100).transform(distinct),
  authentication: z.boolean(),
  credentialKinds: z.array(credentialKind).min(1).transform(distinct),
  grantedGroups: z.array(groupName).max(MAX_GROUPS_PER_USER).transform(distinct),
  environment: z.string().min(1).max(200).nullable(),
};

/** Every field a client may set on a deployment, each optional (a create needs `name`, a change any one). */
const deploymentChanges = z.strictObject(deploymentFields).partial();

export const createDeploymentBody = z.strictObject({
  projectId: z.string().min(1),
  ...deploymentChanges.shape,
  name: deploymentFields.name,
});
export type CreateDeploymentBody = z.infer<typeof createDeploymentBody>;

export const patchDeploymentBody = deploymentChanges.refine(
  (v) => Object.values(v).some((x) => x !== undefined),
  'name at least one field to change (any but projectId)',
);

/** What `deploymentView` returns: the deployment's event state (`deploymentId` as `id`) and its times and version. */
export const deploymentResponse = z.object({
  id: z.string(),
  ...deploymentState.omit({ deploymentId: true }).shape,
  createdAt: isoTime,
  updatedAt: isoTime,
  version: z.number().int(),
});

/** A header value as it can go on the wire: visible ASCII and spaces (keys, JWTs and tokens all are). */
const headerValue = z
  .string()
  .min(1)
  .max(16 * 1024)
  .regex(/^[\x20-\x7e]+$/, 'must be visible ASCII (a header value)');

/**
 * `POST /v1/deployments/{deploymentId}/probe`: the request sent through the operator's gateway. The path is a
 * request target in origin form (`/…`, an optional query), visible ASCII without `#`, so it goes to the
 * gateway exactly as given; the credential fields are those of `POST /v1/authorize`.
 */
export const probeBody = z.strictObject({
  path: z
    .string()
    .max(8192)
    .regex(/^\/[\x21-\x22\x24-\x7e]*$/, 'must start with / and hold only visible ASCII, without # or spaces'),
  method: z.enum(PROBE_METHODS).optional(),
  host: z.string().min(1).max(256).optional(),
  authorization: headerValue.optional(),
  accessKey: headerValue.optional(),
});

export const probeResponse = z.object({
  status: z
    .number()
    .int()
    .describe('The HTTP status the gateway answered (the model’s, when it let the request through)'),
  latencyMs: z.number().int().describe('Milliseconds until the gateway’s response headers'),
});

export const policyBody = z.strictObject({
  requireExternalUserLoginAfterHours: z
    .number()
    .int()
    .min(-1)
    .max(87600)
    .describe('-1: no limit; 0: external access disabled everywhere; 1–87600: hours since the last group refresh'),
});
export const policyResponse = z.object({
  requireExternalUserLoginAfterHours: z.number().int(),
  version: z.number().int(),
});

export const meResponse = z.object({
  id: z.string(),
  name: z.string(),
  kind: userKind,
  admin: z.boolean(),
  groups: z.array(
    z.object({
      name: z.string(),
      refreshedAt: isoTime
        .nullable()
        .describe('the login clock: last sign-in or webhook refresh; null: provisioned by SCIM, never signed in'),
    }),
  ),
  deployments: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      projectId: z.string(),
      hosts: z.array(z.string()).describe('where clients send requests (the Host header)'),
      pathPrefixes: z.array(z.string()),
    }),
  ),
});

export const signInBody = z.strictObject({
  idToken: z
    .string()
    .min(1)
    .max(16 * 1024)
    .describe("The IdP's OIDC ID token (compact JWS)"),
});
export const signInResponse = z.object({
  user: z.object({ id: z.string(), name: z.string(), kind: userKind, groups: z.array(z.string()) }),
  token: z
    .string()
    .describe('A Tollgate service token for this user (EdDSA), valid on the management API and the authorizer'),
  expiresAt: isoTime,
});

export const webhookBody = z.object({
  type: z.string().min(1).max(200),
  timestamp: z.string().max(100).optional(),
  data: z.unknown(),
});
export const webhookResponse = z.union([
  z.object({ accepted: z.literal(true) }),
  z.object({ duplicate: z.literal(true) }),
  z.object({ ignored: z.literal(true) }),
]);

// --- lists (cursor pagination) ---------------------------------------------------------------------------

/** `?q=`: a case-insensitive substring; empty means no filter. */
const searchText = z
  .string()
  .max(200)
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** `?admin=true|false` (exactly; anything else is 400). */
const booleanFlag = z
  .enum(['true', 'false'], 'true or false')
  .transform((v) => v === 'true')
  .optional();

export const userListQuery = z.strictObject({
  q: searchText,
  kind: userKind.optional(),
  admin: booleanFlag,
  status: z.enum(['active', 'deactivated'], 'active or deactivated').optional(),
  ...pageQueryFields,
});
export const userListResponse = z.object({ users: z.array(userResponse), nextCursor: nextCursorField });

export const projectListQuery = z.strictObject({ q: searchText, ...pageQueryFields });
export const listedProjectResponse = projectResponse.extend({
  role: projectRole.nullable().describe("The caller's role; null for a Tollgate admin who is not a collaborator"),
});
export const projectListResponse = z.object({ projects: z.array(listedProjectResponse), nextCursor: nextCursorField });

export const deploymentListQuery = z.strictObject({
  projectId: z.string().min(1).max(100).optional(),
  q: searchText,
  ...pageQueryFields,
});
export const deploymentListResponse = z.object({
  deployments: z.array(deploymentResponse),
  nextCursor: nextCursorField,
});

// --- examples (OpenAPI) ----------------------------------------------------------------------------------

export const EXAMPLES = {
  createUser: { name: 'ci-bot', kind: 'machine', admin: false, email: null },
  user: {
    id: 'usr_3ZkF8mQ2rT7wX1yA',
    name: 'ci-bot',
    kind: 'machine',
    admin: false,
    email: null,
    createdAt: '2026-11-26T06:30:00.000Z',
    deactivatedAt: null,
    version: 1,
  },
  createProject: { name: 'fraud-detection' },
  project: { id: 'prj_8Hq2LmN4pR6sT0vW', name: 'fraud-detection', createdAt: '2026-11-26T06:30:00.000Z', version: 1 },
  collaborator: { role: 'contributor' },
  collaboratorSet: {
    projectId: 'prj_8Hq2LmN4pR6sT0vW',
    userId: 'usr_3ZkF8mQ2rT7wX1yA',
    role: 'contributor',
    version: 2,
  },
  collaborators: [
    { userId: 'usr_admin', role: 'owner' },
    { userId: 'usr_3ZkF8mQ2rT7wX1yA', role: 'contributor' },
  ],
  createDeployment: {
    projectId: 'prj_8Hq2LmN4pR6sT0vW',
    name: 'fraud-v3',
    hosts: ['models.example.com'],
    pathPrefixes: ['/v1/fraud'],
    grantedGroups: ['ml-readers'],
  },
  patchDeployment: { grantedGroups: ['ml-readers', 'fraud-analysts'], authentication: true },
  deployment: {
    id: 'dep_5Tn7Yp9Qa1Sc3Ue5',
    projectId: 'prj_8Hq2LmN4pR6sT0vW',
    name: 'fraud-v3',
    hosts: ['models.example.com'],
    pathPrefixes: ['/v1/fraud'],
    authentication: true,
    credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
    grantedGroups: ['ml-readers'],
    environment: null,
    createdAt: '2026-11-26T06:30:00.000Z',
    updatedAt: '2026-11-26T06:30:00.000Z',
    version: 1,
  },
  probe: { path: '/v1/fraud/score', method: 'POST', authorization: 'Bearer tgi_…' },
  probeResult: { status: 200, latencyMs: 12 },
  policy: { requireExternalUserLoginAfterHours: 24 },
  policyResponse: { requireExternalUserLoginAfterHours: 24, version: 3 },
  me: {
    id: 'usr_9Kd2Lf4Gh6Jk8Lm0',
    name: 'corp:00u1ab2cd3EF4gh5i6',
    kind: 'external',
    admin: false,
    groups: [{ name: 'ml-readers', refreshedAt: '2026-11-26T06:30:00.000Z' }],
    deployments: [
      {
        id: 'dep_5Tn7Yp9Qa1Sc3Ue5',
        name: 'fraud-v3',
        projectId: 'prj_8Hq2LmN4pR6sT0vW',
        hosts: ['models.example.com'],
        pathPrefixes: ['/v1/fraud'],
      },
    ],
  },
  signIn: {
    idToken: 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjFlOWdkazcifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSJ9.c2lnbmF0dXJl',
  },
  signInResponse: {
    user: { id: 'usr_9Kd2Lf4Gh6Jk8Lm0', name: 'corp:00u1ab2cd3EF4gh5i6', kind: 'external', groups: ['ml-readers'] },
    token: 'eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiJ1c3JfOUtkMkxmNEdoNkprOExtMCJ9.c2lnbmF0dXJl',
    expiresAt: '2026-11-26T07:30:00.000Z',
  },
  webhook: {
    type: 'user.groups.changed',
    timestamp: '2026-11-26T06:30:00.000Z',
    data: { subject: '00u1ab2cd3EF4gh5i6', groups: ['ml-readers'] },
  },
};
