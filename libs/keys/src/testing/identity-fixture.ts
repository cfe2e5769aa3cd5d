import { IDENTITY_SCHEMA, type DeploymentState, type IdentityEvent, type ProjectRole } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createEventStoreMigrations, PostgresEventStore } from '@tollgate/event-store';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

/**
 * Plays the identity service in the keys service's tests: appends identity events to the `identity` schema
 * with the real event store, so the process's access model (and the keys service's reaction to
 * `UserDeactivated`) see them exactly as they would see the identity service's. Test support only.
 */
export class IdentityFixture {
  private constructor(
    private readonly dataSource: DataSource,
    readonly store: PostgresEventStore,
  ) {}

  static async start(databaseUrl: string): Promise<IdentityFixture> {
    const dataSource = createDataSource({
      url: databaseUrl,
      schema: IDENTITY_SCHEMA,
      migrations: createEventStoreMigrations(IDENTITY_SCHEMA),
      name: 'keys-test-identity',
      poolSize: 2,
    });
    await runMigrations(dataSource);
    return new IdentityFixture(
      dataSource,
      new PostgresEventStore({ dataSource, schema: IDENTITY_SCHEMA, registry: new Registry() }),
    );
  }

  private async emit(streamId: string, event: IdentityEvent): Promise<string> {
    const result = await this.store.append(streamId, 'any', [event], {
      metadata: { actor: 'usr_admin', channel: 'rest' },
    });
    return result.events[0]!.id;
  }

  user(
    userId: string,
    name: string,
    options: { admin?: boolean; kind?: 'internal' | 'external' | 'machine' } = {},
  ): Promise<string> {
    return this.emit(`user-${userId}`, {
      type: 'UserCreated',
      data: {
        userId,
        name,
        kind: options.kind ?? 'internal',
        admin: options.admin ?? false,
        email: null,
        createdAt: new Date().toISOString(),
      },
    });
  }

  deactivate(userId: string): Promise<string> {
    return this.emit(`user-${userId}`, {
      type: 'UserDeactivated',
      data: { userId, deactivatedAt: new Date().toISOString() },
    });
  }

  groups(userId: string, groups: string[]): Promise<string> {
    return this.emit(`user-${userId}`, {
      type: 'GroupsRefreshed',
      data: { userId, groups, refreshedAt: new Date().toISOString() },
    });
  }

  project(projectId: string, ownerId: string): Promise<string> {
    return this.emit(`project-${projectId}`, {
      type: 'ProjectCreated',
      data: { projectId, name: projectId, ownerId, createdAt: new Date().toISOString() },
    });
  }

  role(projectId: string, userId: string, role: ProjectRole): Promise<string> {
    return this.emit(`project-${projectId}`, { type: 'CollaboratorSet', data: { projectId, userId, role } });
  }

  deployment(deploymentId: string, projectId: string, over: Partial<DeploymentState> = {}): Promise<string> {
    return this.emit(`deployment-${deploymentId}`, {
      type: 'DeploymentCreated',
      data: {
        deploymentId,
        projectId,
        name: deploymentId,
        hosts: [`${deploymentId.toLowerCase().replace(/_/g, '-')}.models.example.com`],
        pathPrefixes: ['/'],
        authentication: true,
        credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
        grantedGroups: [],
        environment: null,
        ...over,
      },
    });
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
