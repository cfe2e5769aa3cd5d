// Public API of @tollgate/signing-keys: one rotation design for both token signers (the keys service's
// service-token key and the identity service's sign-in key). The decider is pure; the service runs it on an
// event store and a vault.
export * from './signing-keys.decider';
export { SigningKeysService, type SigningKeysDeps } from './signing-keys.service';
export { InMemorySigningKeyVault, SealedSigningKeyVault, type SigningKeyVault } from './vault';
