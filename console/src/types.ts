/** The API's shapes the console reads (CONTRACT.md section 3 and the OpenAPI document at /docs-json). */

export type UserKind = 'internal' | 'external' | 'machine';
export type KeyScope = 'inference' | 'management';
export type CredentialKind = 'api-key' | 'access-key' | 'jwt' | 'service-token';
export const CREDENTIAL_KINDS: CredentialKind[] = ['api-key', 'access-key', 'jwt', 'service-token'];
export const ROLES = ['owner', 'admin', 'contributor', 'viewer'] as const;

export interface Me {
  id: string;
  name: string;
  kind: UserKind;
  admin: boolean;
  groups: { name: string; refreshedAt: string | null }[];
  deployments: { id: string; name: string; projectId: string; hosts?: string[]; pathPrefixes?: string[] }[];
}

export interface ApiKey {
  keyId: string;
  userId: string;
  name: string;
  scope: KeyScope;
  status: 'active' | 'expired' | 'revoked';
  expiresAt: string | null;
  createdAt: string;
  revokedAt: string | null;
  /** Start of the minute of the last use through the authorizer; null: never used (published within a minute). */
  lastUsedAt: string | null;
  /** The key that replaced this one in a rotation, and when the rotation ends this one; null: never rotated. */
  successorKeyId: string | null;
  revokesAt: string | null;
}

export interface CreatedKey {
  keyId: string;
  key: string | null;
  name: string;
  scope: KeyScope;
  expiresAt: string | null;
}

/** `POST /v1/keys/{keyId}/rotate`: the new key (secret once) and when the old one stops working. */
export interface RotatedKey extends CreatedKey {
  rotatedFrom: string;
  previousKeyRevokesAt: string;
  eventIds: string[];
}

export interface KeyPolicy {
  defaultLifetimeDays: number;
  maxLifetimeDays: number | null;
  /** Longest service token a machine user may ask for (3600–86400 s). */
  maxServiceTokenLifetimeSeconds: number;
  version: number;
}

export interface ExternalAccessPolicy {
  requireExternalUserLoginAfterHours: number;
  version: number;
}

export interface User {
  id: string;
  name: string;
  kind: UserKind;
  admin: boolean;
  email: string | null;
  createdAt: string;
  deactivatedAt: string | null;
}

export interface Project {
  id: string;
  name: string;
  createdAt: string;
  version: number;
}

export interface Collaborator {
  userId: string;
  role: (typeof ROLES)[number];
}

export interface Deployment {
  id: string;
  projectId: string;
  name: string;
  hosts: string[];
  pathPrefixes: string[];
  authentication: boolean;
  credentialKinds: CredentialKind[];
  grantedGroups: string[];
  environment: string | null;
  version: number;
}

export interface Decision {
  allowed: boolean;
  status: number;
  reason: string;
  subject?: string;
  keyId?: string;
  issuer?: string;
  deployment?: string;
  trace?: { rule: string; outcome: string; detail?: string }[];
  replica?: { replicaId: string; watermarkAgeMs: number | null };
}

/** `POST /v1/deployments/{id}/probe`: the gateway's status for one request, and the time to its headers. */
export interface ProbeAnswer {
  status: number;
  latencyMs: number;
}

export interface Confirmation {
  eventId: string;
  committedAt: string;
  replicas: { replicaId: string; appliedAt: string | null; lagMs: number | null }[];
  appliedByAll: boolean;
}
