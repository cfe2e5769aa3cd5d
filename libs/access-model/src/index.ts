// Public API of @tollgate/access-model: the in-memory projection the authorizer answers from and that every
// management API authenticates callers with.
export { AccessModel, keyState, type AccessModelOptions, type PublicJwkRecord } from './access-model';
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
export { SNAPSHOT_FORMAT, type AccessModelSnapshot } from './snapshot';
export { normalizeHost, normalizePath } from './routing';
export { createFreshness, type Freshness, type WatermarkSource } from './freshness';
export {
  AccessModelCallerAuthenticator,
  BOOTSTRAP_ADMIN_NAME,
  BOOTSTRAP_ADMIN_USER_ID,
  createModelTokenVerifier,
  type AccessModelCallerAuthenticatorOptions,
} from './caller-authenticator';
export { AccessModelModule, type AccessModelModuleOptions } from './access-model.module';
export { ACCESS_MODEL, FRESHNESS } from './tokens';
