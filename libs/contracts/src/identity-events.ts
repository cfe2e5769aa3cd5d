import { z } from 'zod';
import { credentialKind, isoTime, projectRole, userKind } from './primitives';

/**
 * Events written by the identity service (topic tollgate.identity.v1).
 * Streams: `user-<userId>`, `project-<projectId>`, `deployment-<deploymentId>`, `external-access-policy`.
 */
export const userCreated = z.strictObject({
  userId: z.string(),
  name: z.string().min(1).max(200),
  kind: userKind,
  admin: z.boolean(),
  email: z.string().nullable(),
  /** External users: the IdP connector and the IdP's `sub`, shared by sign-in, webhooks and SCIM. */
  idp: z.string().optional(),
  externalSubject: z.string().optional(),
  createdAt: isoTime,
});

export const userDeactivated = z.strictObject({
  userId: z.string(),
  deactivatedAt: isoTime,
});

/** A deactivated user restored (SCIM `active: true`). Their keys stay revoked: a new key must be created. */
export const userReactivated = z.strictObject({
  userId: z.string(),
  reactivatedAt: isoTime,
});

/**
 * The user's whole current group set (replaces the previous one), as of `refreshedAt`: an IdP's statement
 * about the user that also proves a recent login (sign-in: the ID token's `iat`; webhooks: their
 * `webhook-timestamp`). `refreshedAt` is the login clock `requireExternalUserLoginAfterHours` counts from.
 * Consumers order group sets by time (`refreshedAt` here, `editedAt` of `GroupsEdited`), then stream version;
 * one whose `refreshedAt` is older than the set held (a login older than a later SCIM edit) carries that same
 * set and only moves the login clock.
 */
export const groupsRefreshed = z.strictObject({
  userId: z.string(),
  groups: z.array(z.string()),
  refreshedAt: isoTime,
});

/**
 * The user's whole current group set (replaces the previous one) after a membership edit that is not a
 * login (SCIM), as of `editedAt`. It takes groups away (or adds them) at once, but leaves the login clock
 * (the last `GroupsRefreshed`'s `refreshedAt`) where it was: an IdP provisioning a user proves nothing about
 * when that user last signed in.
 */
export const groupsEdited = z.strictObject({
  userId: z.string(),
  groups: z.array(z.string()),
  editedAt: isoTime,
});

export const projectCreated = z.strictObject({
  projectId: z.string(),
  name: z.string(),
  ownerId: z.string(),
  createdAt: isoTime,
});

export const collaboratorSet = z.strictObject({
  projectId: z.string(),
  userId: z.string(),
  role: projectRole,
});

export const collaboratorRemoved = z.strictObject({
  projectId: z.string(),
  userId: z.string(),
});

/** Full state of a deployment; `DeploymentUpdated` carries the full new state too, so consumers replace. */
export const deploymentState = z.strictObject({
  deploymentId: z.string(),
  projectId: z.string(),
  name: z.string(),
  hosts: z.array(z.string()),
  pathPrefixes: z.array(z.string()),
  authentication: z.boolean(),
  credentialKinds: z.array(credentialKind),
  grantedGroups: z.array(z.string()),
  environment: z.string().nullable(),
});

export const externalAccessPolicyChanged = z.strictObject({
  requireExternalUserLoginAfterHours: z.number().int().min(-1).max(87600),
});

export const identityEventSchemas = {
  UserCreated: userCreated,
  UserDeactivated: userDeactivated,
  UserReactivated: userReactivated,
  GroupsRefreshed: groupsRefreshed,
  GroupsEdited: groupsEdited,
  ProjectCreated: projectCreated,
  CollaboratorSet: collaboratorSet,
  CollaboratorRemoved: collaboratorRemoved,
  DeploymentCreated: deploymentState,
  DeploymentUpdated: deploymentState,
  ExternalAccessPolicyChanged: externalAccessPolicyChanged,
} as const;

export type UserCreated = z.infer<typeof userCreated>;
export type UserDeactivated = z.infer<typeof userDeactivated>;
export type UserReactivated = z.infer<typeof userReactivated>;
export type GroupsRefreshed = z.infer<typeof groupsRefreshed>;
export type GroupsEdited = z.infer<typeof groupsEdited>;
export type ProjectCreated = z.infer<typeof projectCreated>;
export type CollaboratorSet = z.infer<typeof collaboratorSet>;
export type CollaboratorRemoved = z.infer<typeof collaboratorRemoved>;
export type DeploymentState = z.infer<typeof deploymentState>;
export type ExternalAccessPolicyChanged = z.infer<typeof externalAccessPolicyChanged>;

export type IdentityEvent =
  | { type: 'UserCreated'; data: UserCreated }
  | { type: 'UserDeactivated'; data: UserDeactivated }
  | { type: 'UserReactivated'; data: UserReactivated }
  | { type: 'GroupsRefreshed'; data: GroupsRefreshed }
  | { type: 'GroupsEdited'; data: GroupsEdited }
  | { type: 'ProjectCreated'; data: ProjectCreated }
  | { type: 'CollaboratorSet'; data: CollaboratorSet }
  | { type: 'CollaboratorRemoved'; data: CollaboratorRemoved }
  | { type: 'DeploymentCreated'; data: DeploymentState }
  | { type: 'DeploymentUpdated'; data: DeploymentState }
  | { type: 'ExternalAccessPolicyChanged'; data: ExternalAccessPolicyChanged };

export const userStream = (userId: string): string => `user-${userId}`;
export const projectStream = (projectId: string): string => `project-${projectId}`;
export const deploymentStream = (deploymentId: string): string => `deployment-${deploymentId}`;
export const EXTERNAL_ACCESS_POLICY_STREAM = 'external-access-policy';

/**
 * The identity service signs the service tokens it issues at IdP sign-in (scope `any`) with its own Ed25519
 * keys, rotated like the keys service's. It publishes each public key on the identity log, on this stream, as
 * a `SigningKeyPublished` event before the key signs, and retires it with `SigningKeyRetired` once its last
 * token has expired: the same types and data schemas as the keys service's (key-events.ts, same meaning), so
 * a consumer that learns signing keys by event type (the access model, the JWKS) learns both. Stream ids are
 * unique across stores, hence not `signing-keys`.
 */
export const IDENTITY_SIGNING_KEYS_STREAM = 'identity-signing-keys';
