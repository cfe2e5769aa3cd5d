import { ApiError, type AccessKeySlot, type KeyRevoked, type KeyScope } from '@tollgate/contracts';
import type { EventStore } from '@tollgate/event-store';
import type { Caller } from '@tollgate/platform';
import type { Clock } from '../domain/time';
import type { KeyReadModel, StoredKey } from '../storage/key-read-model';
import type { Directory } from './directory';
import { commitRevocations, type KeyToRevoke } from './revoke-keys';
import { apiMetadata, requestFingerprint, type RequestMeta } from './support';

/** Exactly one of them: whose keys a bulk revocation covers. */
export type BulkSelector = { user: string } | { group: string } | { project: string } | { deployment: string };

export interface BulkRevokedKey {
  keyId: string;
  kind: 'user-key' | 'access-key';
  /** User keys: the owner and the scope; access keys: the deployment and the slot. */
  userId: string | null;
  scope: KeyScope | null;
  deploymentId: string | null;
  slot: AccessKeySlot | null;
  /** The `KeyRevoked` event (null in a dry run). */
  eventId: string | null;
}

export interface BulkRevocationResult {
  /** Internal: the stored answer of an earlier request with this Idempotency-Key (not in the body). */
  replayed?: boolean;
  dryRun: boolean;
  /** Every key the selector covered that was not revoked yet, oldest first. */
  keys: BulkRevokedKey[];
  /** The revocations' event ids, one per key (empty in a dry run); each confirmable at GET /v1/revocations/{id}. */
  eventIds: string[];
}

export interface BulkRevocationDeps {
  store: EventStore;
  reads: KeyReadModel;
  directory: Directory;
  clock: Clock;
}

interface Coverage {
  /** Owners whose user keys are covered, and the scopes covered (user and group: both). */
  userIds: string[];
  scopes: ReadonlySet<KeyScope>;
  deploymentIds: string[];
}

const ALL_SCOPES: ReadonlySet<KeyScope> = new Set(['inference', 'management']);
const INFERENCE: ReadonlySet<KeyScope> = new Set(['inference']);

/**
 * Server-side bulk revocation (`POST /v1/revocations`): every key a selector covers is revoked in ONE
 * transaction, so an incident response never stops half-way. What a selector covers:
 * - `user`: every key of that user (admin, or the user);
 * - `group`: every key of every current member of that group (admin);
 * - `deployment`: its access keys, and the inference keys of every user who may invoke it now (collaborators
 *   with an invoking role, members of its granted groups); management keys are not credentials for a model
 *   and stay, so whoever responds can keep managing;
 * - `project`: the same for each of its deployments.
 * Deployments and projects: a Tollgate admin or the project's owner or admin; a caller who is no
 * collaborator gets 404, like for an unknown id; a contributor or viewer 403.
 */
export class BulkRevocationService {
  constructor(private readonly deps: BulkRevocationDeps) {}

  async revoke(
    caller: Caller,
    selector: BulkSelector,
    dryRun: boolean,
    rawBody: unknown,
    meta: RequestMeta,
  ): Promise<BulkRevocationResult> {
    const coverage = await this.coverage(caller, selector, meta.arrival);
    const covered = async (): Promise<StoredKey[]> =>
      (await this.deps.reads.unrevoked(coverage)).filter(
        (k) => k.kind === 'access-key' || coverage.scopes.has(k.scope!),
      );
    if (dryRun) return { dryRun, keys: (await covered()).map((k) => listed(k, null)), eventIds: [] };

    const reasonFor = (k: StoredKey): KeyToRevoke['reason'] =>
      k.kind === 'access-key' ? 'slot-revoked' : k.userId === caller.userId ? 'user' : 'admin';
    const planned = new Map<string, StoredKey>();
    const result = await commitRevocations(
      this.deps.store,
      async () => {
        planned.clear();
        for (const k of await covered()) planned.set(k.keyId, k);
        return {
          revoke: [...planned.values()].map((k) => ({ keyId: k.keyId, version: k.version, reason: reasonFor(k) })),
        };
      },
      this.deps.clock,
      {
        metadata: apiMetadata(caller, meta),
        idempotencyKey: meta.idempotencyKey,
        fingerprint: requestFingerprint('POST /v1/revocations', '', rawBody),
      },
    );
    const keys: BulkRevokedKey[] = [];
    for (const event of result.events) {
      const { keyId } = event.data as KeyRevoked;
      // A replay answers from the stored events: their keys are read again.
      const key = planned.get(keyId) ?? (await this.deps.reads.byId(keyId));
      if (key) keys.push(listed(key, event.id));
    }
    return { dryRun, keys, eventIds: keys.map((k) => k.eventId!), ...(result.replayed ? { replayed: true } : {}) };
  }

  private async coverage(caller: Caller, selector: BulkSelector, arrival: number): Promise<Coverage> {
    const { directory } = this.deps;
    if ('user' in selector) {
      if (selector.user !== caller.userId) {
        // Another user's keys are not visible to a non-admin: 404, as for a user that does not exist.
        if (!caller.admin || !(await directory.user(selector.user, arrival))) throw notFound('user');
      }
      return { userIds: [selector.user], scopes: ALL_SCOPES, deploymentIds: [] };
    }
    if ('group' in selector) {
      if (!caller.admin) throw new ApiError('forbidden', "only Tollgate admins revoke a group's keys");
      return { userIds: directory.groupMembers(selector.group), scopes: ALL_SCOPES, deploymentIds: [] };
    }
    if ('deployment' in selector) {
      const deployment = await directory.deployment(selector.deployment, arrival);
      if (!deployment) throw notFound('deployment');
      await this.mayManage(caller, deployment.projectId, arrival, 'deployment');
      return {
        userIds: directory.invokers(deployment.deploymentId),
        scopes: INFERENCE,
        deploymentIds: [deployment.deploymentId],
      };
    }
    const project = await directory.project(selector.project, arrival);
    if (!project) throw notFound('project');
    await this.mayManage(caller, project.projectId, arrival, 'project');
    const deploymentIds = directory.deploymentsOf(project.projectId).map((d) => d.deploymentId);
    const userIds = new Set(deploymentIds.flatMap((id) => directory.invokers(id)));
    return { userIds: [...userIds], scopes: INFERENCE, deploymentIds };
  }

  /** A Tollgate admin, or the project's owner or admin; no role: 404 (the object stays hidden); else 403. */
  private async mayManage(caller: Caller, projectId: string, arrival: number, what: string): Promise<void> {
    if (caller.admin) return;
    const role = await this.deps.directory.roleOf(
      projectId,
      caller.userId,
      arrival,
      (r) => r === 'owner' || r === 'admin',
    );
    if (role === 'owner' || role === 'admin') return;
    if (role === undefined) throw notFound(what);
    throw new ApiError('forbidden', `only the project's owner or admin, or a Tollgate admin, revoke a ${what}'s keys`);
  }
}

const notFound = (what: string): ApiError => new ApiError('not-found', `${what} not found`);

const listed = (k: StoredKey, eventId: string | null): BulkRevokedKey => ({
  keyId: k.keyId,
  kind: k.kind,
  userId: k.userId,
  scope: k.scope,
  deploymentId: k.deploymentId,
  slot: k.slot,
  eventId,
});
