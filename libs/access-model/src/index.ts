// Public API of @tollgate/access-model: the in-memory projection the authorizer answers from and that every
// management API authenticates callers with.
export { AccessModel, type AccessModelOptions, type AccessReductionApplied } from './access-model';
export { DEFAULT_EXTERNAL_ACCESS_POLICY, DEFAULT_KEY_POLICY, keyState, type PublicJwkRecord } from './model/records';
export type { EventWaiver, WaiverNotice } from './model/waivers';
export type {
  AccessModelCounts,
  DeploymentRecord,
  ExternalAccessPolicy,
  KeyPolicy,
  KeyRecord,
  KeyRevocationReasonValue,
  KeyState,
  ProjectRecord,
  SigningKeyRecord,
  UserRecord,
} from './types';
export { reducesAccess, type PriorFacts } from './access-reduction';
export { SNAPSHOT_FORMAT, SnapshotFormatError, type AccessModelSnapshot } from './snapshot';
export { toDeploymentFacts, toUserFacts } from './facts';
export { createFreshness, type Freshness, type WatermarkSource } from './freshness';
export {
  BOOTSTRAP_ADMIN_NAME,
  BOOTSTRAP_ADMIN_USER_ID,
  expiredServiceTokenReason,
  isBuiltInAdmin,
  keyRefusal,
  resolveJwtUser,
  resolveServiceToken,
  resolveUserKey,
  type CredentialLookups,
  type KeyRefusal,
  type ServiceTokenResolution,
  type UserKeyResolution,
} from './credential-resolver';
export {
  AccessModelCallerAuthenticator,
  createModelTokenVerifier,
  refusal,
  WWW_AUTHENTICATE_INVALID,
  WWW_AUTHENTICATE_NONE,
  type AccessModelCallerAuthenticatorOptions,
  type CallerRefusal,
} from './caller-authenticator';
export { AccessModelModule, KeyUsage, type AccessModelModuleOptions } from './access-model.module';
export {
  countsAsUse,
  KeyUsagePublisher,
  KeyUsageTally,
  type KeyDecision,
  type KeyUsagePublisherOptions,
  type KeyUsageSink,
} from './usage/key-usage';
export { BusKeyUsageSink, KafkaKeyUsageSink, KEY_USAGE_RETENTION_MS } from './usage/key-usage-sinks';
export {
  AccessModelRuntime,
  type AccessModelRuntimeOptions,
  type AccessModelStatus,
  type RuntimePhase,
  type WaiverLookup,
} from './runtime';
export {
  ACCESS_MODEL_MIGRATIONS,
  ACCESS_MODEL_SCHEMA,
  decodePayload,
  SnapshotStore,
  type SnapshotPayload,
  type StoredSnapshot,
} from './snapshot-store';
export { ACCESS_MODEL, ACCESS_MODEL_RUNTIME, FRESHNESS, KEY_USAGE } from './tokens';
