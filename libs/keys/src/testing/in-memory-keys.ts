import { AccessModel } from '@tollgate/access-model';
import { type IdentityEvent, type ProjectRole, SIGNING_KEYS_STREAM } from '@tollgate/contracts';
import { InMemoryEventStore, type RecordedEvent } from '@tollgate/event-store';
import type { Caller } from '@tollgate/platform';
import { RateLimiter } from '../domain/rate-limit';
import { AccessKeysService } from '../service/access-keys.service';
import { BootstrapAdminKeyService } from '../service/bootstrap-admin-key.service';
import { BulkRevocationService } from '../service/bulk-revocation.service';
import { accessModelDirectory } from '../service/directory';
import { KeyPolicyService } from '../service/key-policy.service';
import type { RequestMeta } from '../service/support';
import { TokensService } from '../service/tokens.service';
import { RotationSweeper } from '../service/rotation-sweeper';
import { UserDeactivationReactor } from '../service/user-deactivation.reactor';
import { UserKeysService } from '../service/user-keys.service';
import { InMemoryKeyReadModel } from '../storage/in-memory-key-read-model';
import { InMemoryLocks } from '../storage/locks';
import { InMemorySigningKeyVault, type SigningKeySchedule, SigningKeysService } from '@tollgate/signing-keys';
import { InMemoryTokenRequestStore } from '../storage/token-requests';

export const T0 = Date.parse('2026-11-26T06:30:00.000Z');

export const TEST_SCHEDULE: SigningKeySchedule = {
  rotationPeriodMs: 7 * 86_400_000,
  publishLeadMs: 3_600_000,
  firstKeyLeadMs: 2_000,
  tokenLifetimeMs: 3_600_000,
  retirementMarginMs: 300_000,
};

export const caller = (userId: string, admin = false): Caller => ({
  userId,
  name: userId,
  admin,
  via: 'management-key',
});

let requests = 0;
export const meta = (idempotencyKey?: string): RequestMeta => ({
  requestId: `req_test${++requests}`,
  arrival: Date.now(),
  ...(idempotencyKey ? { idempotencyKey } : {}),
});

/**
 * Every keys service on in-memory storage, a settable clock and a real `AccessModel` fed identity events
 * directly (the identity service's role). For unit tests: no I/O, no timers.
 */
export class InMemoryKeys {
  now = T0;
  readonly clock = () => this.now;
  readonly store = new InMemoryEventStore({ source: '/tollgate/keys' });
  readonly reads = new InMemoryKeyReadModel(this.store);
  readonly model = new AccessModel({ now: this.clock });
  readonly vault = new InMemorySigningKeyVault();
  readonly logs: { level: string; fields: object; msg?: string }[] = [];
  readonly logger = {
    info: (fields: object, msg?: string) => void this.logs.push({ level: 'info', fields, msg }),
    warn: (fields: object, msg?: string) => void this.logs.push({ level: 'warn', fields, msg }),
    error: (fields: object, msg?: string) => void this.logs.push({ level: 'error', fields, msg }),
  };
  // In memory every event is applied as it is appended: the model is always caught up.
  readonly directory = accessModelDirectory(this.model, { maxStalenessMs: 0, waitForWatermark: async () => true });
  readonly limiter: RateLimiter;
  readonly policy: KeyPolicyService;
  readonly userKeys: UserKeysService;
  readonly accessKeys: AccessKeysService;
  readonly bulk: BulkRevocationService;
  readonly signingKeys: SigningKeysService;
  readonly tokens: TokensService;
  readonly reactor: UserDeactivationReactor;
  readonly rotations: RotationSweeper;
  private identityVersions = new Map<string, number>();
  private position = 0;

  constructor(options: { limit?: number; schedule?: SigningKeySchedule } = {}) {
    const { store, reads, directory, clock } = this;
    this.limiter = new RateLimiter(options.limit ?? 30);
    this.policy = new KeyPolicyService(store);
    this.userKeys = new UserKeysService({ store, reads, policy: this.policy, directory, limiter: this.limiter, clock });
    this.accessKeys = new AccessKeysService({
      store,
      reads,
      directory,
      limiter: this.limiter,
      locks: new InMemoryLocks(),
      clock,
    });
    this.bulk = new BulkRevocationService({ store, reads, directory, clock });
    this.signingKeys = new SigningKeysService({
      stream: SIGNING_KEYS_STREAM,
      name: 'keys',
      store,
      vault: this.vault,
      schedule: options.schedule ?? TEST_SCHEDULE,
      longestTokenLifetimeSeconds: () => this.policy.longestServiceTokenLifetimeEver(),
      clock,
      logger: this.logger,
    });
    this.tokens = new TokensService({
      reads,
      directory,
      signingKeys: this.signingKeys,
      requests: new InMemoryTokenRequestStore(clock),
      policy: this.policy,
      clock,
    });
    this.rotations = new RotationSweeper({ store, reads, clock, logger: this.logger });
    this.reactor = new UserDeactivationReactor({
      store,
      reads,
      clock,
      logger: this.logger,
      sleep: async () => undefined,
    });
  }

  bootstrap(configuredKey?: string): BootstrapAdminKeyService {
    return new BootstrapAdminKeyService({
      store: this.store,
      policy: this.policy,
      clock: this.clock,
      configuredKey,
      logger: this.logger,
    });
  }

  /** Applies an identity event to the access model, as its runner would; returns it as recorded. */
  identity(streamId: string, event: IdentityEvent): RecordedEvent {
    const version = (this.identityVersions.get(streamId) ?? 0) + 1;
    this.identityVersions.set(streamId, version);
    const recorded: RecordedEvent = {
      id: `evt_identity${++this.position}`,
      source: '/tollgate/identity',
      streamId,
      streamVersion: version,
      position: this.position,
      type: event.type,
      data: event.data,
      metadata: { actor: 'usr_admin', channel: 'rest' },
      recordedAt: new Date(this.now),
    };
    this.model.apply(recorded);
    return recorded;
  }

  user(userId: string, options: { admin?: boolean } = {}): Caller {
    this.identity(`user-${userId}`, {
      type: 'UserCreated',
      data: {
        userId,
        name: userId.replace(/^usr_/, ''),
        kind: 'internal',
        admin: options.admin ?? false,
        email: null,
        createdAt: new Date(this.now).toISOString(),
      },
    });
    return caller(userId, options.admin ?? false);
  }

  deactivate(userId: string): RecordedEvent {
    return this.identity(`user-${userId}`, {
      type: 'UserDeactivated',
      data: { userId, deactivatedAt: new Date(this.now).toISOString() },
    });
  }

  project(projectId: string, ownerId: string, roles: Record<string, ProjectRole> = {}): void {
    this.identity(`project-${projectId}`, {
      type: 'ProjectCreated',
      data: { projectId, name: projectId, ownerId, createdAt: new Date(this.now).toISOString() },
    });
    for (const [userId, role] of Object.entries(roles))
      this.identity(`project-${projectId}`, { type: 'CollaboratorSet', data: { projectId, userId, role } });
  }

  deployment(deploymentId: string, projectId: string): void {
    this.identity(`deployment-${deploymentId}`, {
      type: 'DeploymentCreated',
      data: {
        deploymentId,
        projectId,
        name: deploymentId,
        hosts: [`${deploymentId}.example.com`.replace(/_/g, '-')],
        pathPrefixes: ['/'],
        authentication: true,
        credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
        grantedGroups: [],
        environment: null,
      },
    });
  }

  /** Every event in the keys store, in commit order. */
  async events(): Promise<RecordedEvent[]> {
    return this.store.readAll({ limit: 100_000 });
  }
}

/** The error code an async call fails with (or 'ok'). */
export async function codeOf(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
    return 'ok';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    throw error;
  }
}
