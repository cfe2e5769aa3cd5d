import { newId } from '@tollgate/authn';
import { ApiError, deploymentStream } from '@tollgate/contracts';
import { type RecordedEvent, VersionConflictError } from '@tollgate/event-store';
import type { Actor } from '../domain/actor';
import {
  assertHostsAvailable,
  type DeploymentAggregate,
  type DeploymentChanges,
  deploymentDecider,
  type NewDeployment,
  type DeploymentView,
  deploymentView,
  type HostClaim,
  type ProjectAccess,
} from '../domain/deployment';
import { canManageProject, canSeeProject, type ProjectState } from '../domain/project';
import { type Route, routesMinus, routesOf, sameRoute } from '../domain/routes';
import type { DirectoryStores } from '../storage/directory-stores';
import { type Aggregates, type Created, foldRecorded, type Loaded } from './aggregates';
import { type CommandContext, metadataOf, requestFingerprint, toApiError } from './command-context';
import { type ListPage, type ListWindow, readPage } from './lists';

const iso = (date: Date): string => date.toISOString();

function accessTo(project: ProjectState, actor: Actor): ProjectAccess {
  return { canSee: canSeeProject(project, actor), canManage: canManageProject(project, actor) };
}

function deploymentViewOf(loaded: Loaded<DeploymentAggregate>): DeploymentView {
  const first = loaded.events[0]!;
  const last = loaded.events[loaded.events.length - 1]!;
  return deploymentView(loaded.state, { createdAt: iso(first.recordedAt), updatedAt: iso(last.recordedAt) });
}

/**
 * Deployments and their routes. A host belongs to the project that first named it (a claim row); a
 * host + path prefix to one deployment (a reservation row); both are taken before the event is appended.
 */
export class DeploymentsService {
  constructor(
    private readonly aggregates: Aggregates,
    private readonly store: Pick<DirectoryStores, 'reservations' | 'hostOwners' | 'listing'>,
  ) {}

  /**
   * Claims the hosts of `routes` for `projectId` (a host nobody named yet becomes its own, race-safe in
   * PostgreSQL); 409, claiming nothing, when one belongs to another project the caller may not manage.
   */
  private async claimHosts(actor: Actor, projectId: string, routes: Route[]): Promise<void> {
    await this.store.hostOwners.claim(
      routes.map((r) => r.host),
      projectId,
      async (owners) => {
        const claims: HostClaim[] = [];
        for (const [host, ownerProjectId] of owners) {
          const callerManagesOwner =
            actor.admin ||
            ownerProjectId === projectId ||
            canManageProject((await this.aggregates.project(ownerProjectId)).state, actor);
          claims.push({ host, ownerProjectId, callerManagesOwner });
        }
        assertHostsAvailable(projectId, claims);
      },
    );
  }

  /**
   * Reserves `routes` for `deploymentId`. 409 when another deployment uses one of them (or is being created
   * with it right now); an orphaned reservation (its holder never committed, or moved away) is taken over.
   */
  private async reserveRoutes(deploymentId: string, routes: Route[]): Promise<Route[]> {
    const takenOver: Route[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await this.store.reservations.reserveRoutes(deploymentId, routes);
      if ('reserved' in result) return [...result.reserved, ...takenOver];
      for (const conflict of result.conflicts) {
        const holder = await this.aggregates.deployment(conflict.heldBy);
        const inUse =
          holder.state.deployment !== null && routesOf(holder.state.deployment).some((r) => sameRoute(r, conflict));
        if (inUse || !conflict.old) {
          throw new ApiError(
            'conflict',
            `host ${conflict.host} with path prefix ${conflict.pathPrefix} belongs to another deployment`,
            [{ field: 'hosts', message: `${conflict.host} ${conflict.pathPrefix} is taken` }],
          );
        }
        if (await this.store.reservations.takeOverRoute(conflict, conflict.heldBy, deploymentId))
          takenOver.push(conflict);
      }
    }
    await this.store.reservations.releaseRoutes(deploymentId, takenOver);
    throw new ApiError('conflict', 'a host and path prefix of this deployment belongs to another deployment');
  }

  async createDeployment(
    context: CommandContext,
    input: NewDeployment,
    idempotencyKey?: string,
  ): Promise<Created<DeploymentView>> {
    const { state: project } = await this.aggregates.project(input.projectId);
    const deploymentId = newId('dep');
    const events = deploymentDecider.decide(
      { type: 'CreateDeployment', access: accessTo(project, context.actor), deploymentId, deployment: input },
      deploymentDecider.initialState,
    );
    const fingerprint = requestFingerprint('POST /v1/deployments', input);
    const toView = (recorded: RecordedEvent[]) =>
      deploymentViewOf({ state: foldRecorded(deploymentDecider, recorded), events: recorded });
    const replayed = await this.aggregates.replay(context, idempotencyKey, fingerprint, toView);
    if (replayed) return replayed;

    const deployment = events[0]!.data;
    await this.claimHosts(context.actor, deployment.projectId, routesOf(deployment));
    const reserved = await this.reserveRoutes(deploymentId, routesOf(deployment));
    try {
      const result = await this.aggregates.append(context, deploymentStream(deploymentId), 0, events, {
        idempotencyKey,
        fingerprint,
      });
      if (result.replayed) await this.store.reservations.releaseRoutes(deploymentId, reserved);
      return { view: toView(result.events), replayed: result.replayed };
    } catch (error) {
      await this.store.reservations.releaseRoutes(deploymentId, reserved).catch(() => undefined);
      throw error;
    }
  }

  async getDeployment(context: CommandContext, deploymentId: string): Promise<DeploymentView> {
    const loaded = await this.aggregates.deployment(deploymentId);
    if (!loaded.state.exists) throw new ApiError('not-found', 'deployment not found');
    const { state: project } = await this.aggregates.project(loaded.state.deployment!.projectId);
    if (!canSeeProject(project, context.actor)) throw new ApiError('not-found', 'deployment not found');
    return deploymentViewOf(loaded);
  }

  async updateDeployment(
    context: CommandContext,
    deploymentId: string,
    changes: DeploymentChanges,
    ifMatch?: number,
  ): Promise<DeploymentView> {
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.aggregates.deployment(deploymentId);
      const { state } = loaded;
      if (!state.exists) throw new ApiError('not-found', 'deployment not found');
      const { state: project } = await this.aggregates.project(state.deployment!.projectId);
      const decided = deploymentDecider.decide(
        { type: 'UpdateDeployment', access: accessTo(project, context.actor), changes, ifMatch },
        state,
      );
      if (decided.length === 0) return deploymentViewOf(loaded);
      const before = routesOf(state.deployment!);
      const after = routesOf(decided[0]!.data);
      // A new route on a host is a new claim on it, also for a deployment already there (a wider prefix).
      await this.claimHosts(context.actor, state.deployment!.projectId, routesMinus(after, before));
      const reserved = await this.reserveRoutes(deploymentId, routesMinus(after, before));
      let appended: RecordedEvent[];
      try {
        appended = (
          await this.aggregates.events.append(deploymentStream(deploymentId), state.version, decided, {
            metadata: metadataOf(context),
          })
        ).events;
      } catch (error) {
        await this.store.reservations.releaseRoutes(deploymentId, reserved).catch(() => undefined);
        if (error instanceof VersionConflictError && attempt < 5) continue;
        throw toApiError(error, 'version-conflict');
      }
      const dropped = routesMinus(before, after);
      if (dropped.length > 0) {
        await this.store.reservations.releaseRoutes(deploymentId, dropped);
        // A concurrent update may have taken a dropped route back meanwhile: keep what the latest state uses.
        const latest = await this.aggregates.deployment(deploymentId);
        const stillUsed = routesOf(latest.state.deployment!).filter((r) => dropped.some((d) => sameRoute(d, r)));
        if (stillUsed.length > 0) await this.store.reservations.reserveRoutes(deploymentId, stillUsed);
      }
      const events = [...loaded.events, ...appended];
      return deploymentViewOf({ state: foldRecorded(deploymentDecider, events), events });
    }
  }

  /** Deployments of the projects the caller collaborates on (all for a Tollgate admin), in creation order. */
  async listDeployments(
    context: CommandContext,
    filter: { projectId?: string; q?: string },
    window: ListWindow,
  ): Promise<ListPage<DeploymentView>> {
    const projects = new Map<string, Promise<ProjectState>>();
    const projectOf = (projectId: string): Promise<ProjectState> => {
      if (!projects.has(projectId))
        projects.set(
          projectId,
          this.aggregates.project(projectId).then((p) => p.state),
        );
      return projects.get(projectId)!;
    };
    return readPage(
      window,
      (take) => this.store.listing.deployments(context.actor, filter, { after: window.after, take }),
      async (row) => {
        const loaded = await this.aggregates.load(row.streamId, deploymentDecider);
        if (!loaded.state.exists) return undefined;
        if (!canSeeProject(await projectOf(loaded.state.deployment!.projectId), context.actor)) return undefined;
        return deploymentViewOf(loaded);
      },
    );
  }
}
