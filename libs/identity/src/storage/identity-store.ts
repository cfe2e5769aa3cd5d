import { IDENTITY_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { type EventStore, PostgresEventStore, type RecordedEvent } from '@tollgate/event-store';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { GroupIndex } from './group-index';
import { identityMigrations } from './migrations';
import { Reservations } from './reservations';
import { ScimStore } from './scim-store';
import { SigningKeyStore } from './signing-key-store';
import { createSql, type Sql } from './sql';
import { WebhookDeliveries } from './webhook-deliveries';

/** Everything the identity service keeps in PostgreSQL (schema `identity`): its event store and its tables. */
export class IdentityStore {
  readonly events: EventStore;
  readonly sql: Sql;
  readonly reservations: Reservations;
  readonly webhookDeliveries: WebhookDeliveries;
  readonly signingKeys: SigningKeyStore;
  readonly groupIndex: GroupIndex;
  readonly scim: ScimStore;

  private constructor(
    readonly dataSource: DataSource,
    registry: Registry,
  ) {
    this.events = new PostgresEventStore({ dataSource, schema: IDENTITY_SCHEMA, registry });
    this.sql = createSql(dataSource);
    this.reservations = new Reservations(this.sql);
    this.webhookDeliveries = new WebhookDeliveries(this.sql);
    this.signingKeys = new SigningKeyStore(this.sql);
    this.groupIndex = new GroupIndex(this.sql);
    this.scim = new ScimStore(this.sql);
  }

  /** Connects, runs the schema's migrations (idempotent, under an advisory lock) and rebuilds the group index. */
  static async open(options: { databaseUrl: string; registry: Registry; poolSize?: number }): Promise<IdentityStore> {
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
      const store = new IdentityStore(dataSource, options.registry);
      await store.rebuildGroupIndex();
      return store;
    } catch (error) {
      await dataSource.destroy().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /**
   * Folds every user stream's group set from the log into `user_group_sets` (version-guarded, so it never
   * undoes a newer write made concurrently by another replica).
   */
  async rebuildGroupIndex(): Promise<void> {
    const users = new Map<string, { idp: string | null; version: number; groups: string[] }>();
    for (let after = 0; ;) {
      const page: RecordedEvent[] = await this.events.readAll({ after, limit: 1000 });
      if (page.length === 0) break;
      for (const event of page) {
        after = event.position;
        if (!event.streamId.startsWith('user-')) continue;
        const entry = users.get(event.streamId) ?? { idp: null, version: 0, groups: [] };
        entry.version = Math.max(entry.version, event.streamVersion);
        const data = event.data as { idp?: string; groups?: string[] };
        if (event.type === 'UserCreated') entry.idp = data.idp ?? null;
        if (event.type === 'GroupsRefreshed') entry.groups = data.groups ?? [];
        users.set(event.streamId, entry);
      }
    }
    for (const [stream, entry] of users) {
      await this.groupIndex.record(stream.slice('user-'.length), entry.idp, entry.version, entry.groups);
    }
  }
}
