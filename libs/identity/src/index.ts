// Public API of @tollgate/identity: the identity service module and what ops tooling needs.
export { IdentityModule, IDENTITY_RUNTIME } from './identity.module';
export { IdentityRuntime, type IdentityModuleOptions } from './identity-runtime';
export { identityMigrations } from './storage/migrations';
export { IDENTITY_SIGNING_KEY_COLUMN } from './storage/signing-key-store';
export { BUILT_IN_ADMIN_ID, BUILT_IN_ADMIN_NAME, externalUserName } from './domain/user';
export { WEBHOOK_EVENT_SCHEMAS, type WebhookEventType } from './idp/webhooks/webhook-events';
