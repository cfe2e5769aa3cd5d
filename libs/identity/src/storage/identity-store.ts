import type { KeySealer } from '@tollgate/authn';
import { IDENTITY_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { type EventStore, PostgresEventStore } from '@tollgate/event-store';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { type DirectoryListing, PostgresDirectoryListing } from './directory-listing';
import type { DirectoryStores } from './directory-stores';
import { type GroupIndex, PostgresGroupIndex, postgresGroupIndexProjection } from './group-index';
import { type HostOwnerStore, PostgresHostOwners } from './host-owners';
import { identityMigrations } from './migrations';
import { PostgresReservations, type ReservationStore } from './reservations';
import { ScimStore } from './scim-store';
import { IdentitySigningKeyVault } from './signing-key-store';
import { createSql, type Sql } from './sql';
import { WebhookDeliveries } from './webhook-deliveries';

/** Everything the identity service keeps in PostgreSQL (schema `identity`): its event store and its tables. */
export class IdentityStore implements DirectoryStores {
  readonly events: EventStore;
  readonly sql: Sql;
  readonly reservations: ReservationStore;
  readonly hostOwners: HostOwnerStore;
  readonly webhookDeliveries: WebhookDeliveries;
  /** Private halves of the sign-in signing keys (sealed). */
  readonly signingKeys: IdentitySigningKeyVault;
  readonly groupIndex: GroupIndex;
  readonly scim: ScimStore;
  readonly listing: DirectoryListing;

  private constructor(
    readonly dataSource: DataSource,
    registry: Registry,
    sealer: KeySealer,
  ) {
    this.events = new PostgresEventStore({
      dataSource,
      schema: IDENTITY_SCHEMA,
      registry,
      inlineProjections: [postgresGroupIndexProjection],
    });
    this.sql = createSql(dataSource);
    this.reservations = new PostgresReservations(this.sql);
    this.hostOwners = new PostgresHostOwners(this.sql);
    this.webhookDeliveries = new WebhookDeliveries(this.sql);
    this.signingKeys = new IdentitySigningKeyVault(this.sql, sealer);
    this.groupIndex = new PostgresGroupIndex(this.sql);
    this.scim = new ScimStore(this.sql);
    this.listing = new PostgresDirectoryListing(this.sql);
  }

  /**
   * Connects, runs the schema's migrations (idempotent, under an advisory lock) and seals any signing key still
   * in plaintext (or under a previous KEK).
   */
  static async open(options: {
    databaseUrl: string;
    registry: Registry;
    /** Seals the sign-in signing keys at rest (`keySealerOf(context)`). */
    sealer: KeySealer;
    poolSize?: number;
  }): Promise<IdentityStore> {
    const dataSource = createDataSource({
      url: options.databaseUrl,
      schema: IDENTITY_SCHEMA,
      migrations: identityMigrations(),
      name: 'tollgate-identity',
      poolSize: options.poolSize,
    });
    await dataSource.initialize();
    try {
      await runMigrations(dataSource);
      const store = new IdentityStore(dataSource, options.registry, options.sealer);
      await store.signingKeys.sealAll();
      return store;
    } catch (error) {
      await dataSource.destroy().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
