// Public API of @tollgate/keys: the keys service module, its banner, and its pure domain (for tools and tests).
export { KeysModule, KEYS_RUNTIME, keysBanner } from './keys.module';
export { KeysRuntime, type KeysModuleOptions } from './keys-runtime';
export { BOOTSTRAP_ADMIN_KEY_ID, BootstrapAdminKeyService } from './service/bootstrap-admin-key.service';
export { keysMigrations } from './storage/migrations';
export { KEYS_SIGNING_KEY_COLUMN, PostgresSigningKeyVault } from './storage/signing-key-vault';
export { KeyPolicyService } from './service/key-policy.service';
export type { BulkRevocationResult, BulkRevokedKey } from './service/bulk-revocation.service';
export * from './domain';
