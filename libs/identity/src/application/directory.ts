import { setTimeout as sleep } from 'node:timers/promises';
import { normalizeHost, normalizePath } from '@tollgate/access-model';
import { newId } from '@tollgate/authn';
import {
  ApiError,
  deploymentStream,
  type DeploymentState,
  EXTERNAL_ACCESS_POLICY_STREAM,
  type ProjectRole,
  projectStream,
  type UserCreated,
  type UserKind,
  userStream,
} from '@tollgate/contracts';
import {
  type Decider,
  type DomainEvent,
  fold,
  handleCommand,
  type RecordedEvent,
  VersionConflictError,
} from '@tollgate/event-store';
import type { Actor } from '../domain/actor';
import {
  type DeploymentAggregate,
  type DeploymentChanges,
  deploymentDecider,
  DEPLOYMENT_DEFAULTS,
  type DeploymentEvent,
  type DeploymentFields,
  type DeploymentView,
  deploymentView,
  type ProjectAccess,
} from '../domain/deployment';
import { type PolicyState, policyDecider } from '../domain/external-access-policy';
import {
  assertCanManageProject,
  canManageProject,
  canSeeProject,
  collaboratorsView,
  type ProjectCommand,
  type ProjectEvent,
  projectDecider,
  type ProjectState,
  type ProjectView,
  projectView,
} from '../domain/project';
import {
  BUILT_IN_ADMIN_ID,
  BUILT_IN_ADMIN_NAME,
  externalUserName,
  type UserCommand,
  userDecider,
  type UserEvent,
  type UserState,
  type UserView,
  userView,
} from '../domain/user';
import type { IdentityStore } from '../storage/identity-store';
import type { Route } from '../storage/reservations';
import { type CommandContext, metadataOf, requestFingerprint, toApiError, translating } from './command-context';

export interface Created<V> {
  view: V;
  /** The stored response of an earlier request with the same `Idempotency-Key`. */
  replayed: boolean;
}

export interface Loaded<S> {
  state: S;
  events: RecordedEvent[];
}

export interface NewUser {
  name: string;
  kind: UserKind;
  admin: boolean;
  email: string | null;
}

export interface NewDeployment extends Partial<DeploymentFields> {
  projectId: string;
  name: string;
}

const iso = (date: Date): string => date.toISOString();

/** The routes (host × path prefix) a deployment claims, as the authorizer compares them. */
export function routesOf(deployment: Pick<DeploymentState, 'hosts' | 'pathPrefixes'>): Route[] {
  const routes = new Map<string, Route>();
  for (const host of deployment.hosts.map(normalizeHost)) {
    for (const pathPrefix of deployment.pathPrefixes.map(normalizePath))
      routes.set(`${host} ${pathPrefix}`, { host, pathPrefix });
  }
  return [...routes.values()];
}

const sameRoute = (a: Route, b: Route): boolean => a.host === b.host && a.pathPrefix === b.pathPrefix;
const minus = (a: Route[], b: Route[]): Route[] => a.filter((r) => !b.some((x) => sameRoute(r, x)));

/**
 * The directory: users, projects and collaborators, deployments and the external-access policy. Every
 * change is a command decided by a pure decider and appended to its stream with optimistic concurrency;
 * uniqueness (user names, (idp, subject) links, host + path prefix routes) is enforced by reservations
 * in unique indexes taken before the append.
 */
export class Directory {
  constructor(
    private readonly store: IdentityStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  // --- loading --------------------------------------------------------------------------------------------

  private async load<C, E extends DomainEvent, S>(streamId: string, decider: Decider<C, E, S>): Promise<Loaded<S>> {
    const slice = await this.store.events.readStream(streamId);
    return {
      state: fold(
        decider,
        slice.events.map((e) => ({ type: e.type, data: e.data }) as E),
      ),
      events: slice.events,
    };
  }

  loadUser(userId: string): Promise<Loaded<UserState>> {
    return this.load(userStream(userId), userDecider);
  }

  loadProject(projectId: string): Promise<Loaded<ProjectState>> {
    return this.load(projectStream(projectId), projectDecider);
  }

  loadDeployment(deploymentId: string): Promise<Loaded<DeploymentAggregate>> {
    return this.load(deploymentStream(deploymentId), deploymentDecider);
  }

  private async replay<V>(
    context: CommandContext,
    key: string | undefined,
    fingerprint: string,
    toView: (events: RecordedEvent[]) => V,
  ): Promise<Created<V> | undefined> {
    if (key === undefined) return undefined;
    const stored = await translating(() =>
      this.store.events.lookupIdempotencyKey(metadataOf(context).actor, key, fingerprint),
    );
    return stored ? { view: toView(stored.events), replayed: true } : undefined;
  }

  // --- users ----------------------------------------------------------------------------------------------

  /** The built-in admin `usr_admin` (name `admin`), at first start; a repeat is a no-op (docs/SERVICES.md). */
  async ensureBuiltInAdmin(): Promise<void> {
    await this.store.reservations.reserveUserName(BUILT_IN_ADMIN_NAME, BUILT_IN_ADMIN_ID);
    const data: UserCreated = {
      userId: BUILT_IN_ADMIN_ID,
      name: BUILT_IN_ADMIN_NAME,
      kind: 'internal',
      admin: true,
      email: null,
      createdAt: iso(this.now()),
    };
    try {
      await this.store.events.append(userStream(BUILT_IN_ADMIN_ID), 0, [{ type: 'UserCreated', data }], {
        metadata: { actor: 'system', channel: 'system' },
      });
      await this.store.groupIndex.record(BUILT_IN_ADMIN_ID, null, 1, []);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
    }
  }

  /** Reserves `name` for `userId`; 409 when a user (or a creation in flight) has it. */
  private async reserveName(name: string, userId: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const reserved = await this.store.reservations.reserveUserName(name, userId);
      if (reserved.ok) return;
      const holder = await this.loadUser(reserved.heldBy);
      if (holder.state.exists || !reserved.old)
        throw new ApiError('conflict', `the user name ${JSON.stringify(name)} is taken`);
      if (await this.store.reservations.takeOverUserName(name, reserved.heldBy, userId)) return;
    }
    throw new ApiError('conflict', `the user name ${JSON.stringify(name)} is taken`);
  }

  async createUser(context: CommandContext, input: NewUser, idempotencyKey?: string): Promise<Created<UserView>> {
    if (!context.actor.admin) throw new ApiError('forbidden', 'only a Tollgate admin may create users');
    const fingerprint = requestFingerprint('POST /v1/users', input);
    const toView = (events: RecordedEvent[]) => userView(fold(userDecider, events as unknown as UserEvent[]));
    const replayed = await this.replay(context, idempotencyKey, fingerprint, toView);
    if (replayed) return replayed;

    const userId = newId('usr');
    await this.reserveName(input.name, userId);
    try {
      const data: UserCreated = { userId, ...input, createdAt: iso(this.now()) };
      const result = await translating(() =>
        this.store.events.append(userStream(userId), 0, [{ type: 'UserCreated', data }], {
          metadata: metadataOf(context),
          idempotencyKey,
          fingerprint,
        }),
      );
      if (result.replayed) await this.store.reservations.releaseUserName(input.name, userId);
      else await this.store.groupIndex.record(userId, null, result.version, []);
      return { view: toView(result.events), replayed: result.replayed };
    } catch (error) {
      await this.store.reservations.releaseUserName(input.name, userId).catch(() => undefined);
      throw error;
    }
  }

  /** A user, for an admin or the user themself; anyone else gets 404. */
  async getUser(context: CommandContext, userId: string): Promise<UserView> {
    const { state } = await this.loadUser(userId);
    if (!state.exists || (!context.actor.admin && context.actor.userId !== userId))
      throw new ApiError('not-found', 'user not found');
    return userView(state);
  }

  /** Deactivation (admin): final, denied everywhere; the keys service revokes the user's keys on `UserDeactivated`. */
  async deactivateUser(context: CommandContext, userId: string): Promise<UserView> {
    if (!context.actor.admin) {
      if (context.actor.userId === userId)
        throw new ApiError('forbidden', 'only a Tollgate admin may deactivate users');
      throw new ApiError('not-found', 'user not found');
    }
    if (userId === BUILT_IN_ADMIN_ID) throw new ApiError('forbidden', 'the built-in admin cannot be deactivated');
    return userView(await this.userCommand(context, userId, { type: 'DeactivateUser', at: iso(this.now()) }));
  }

  /** Runs a user command; keeps the group index in step. */
  async userCommand(context: CommandContext, userId: string, command: UserCommand): Promise<UserState> {
    const { state, events } = await translating(() =>
      handleCommand(this.store.events, userStream(userId), userDecider, command, metadataOf(context), { retries: 5 }),
    );
    if (events.some((e) => e.type === 'GroupsRefreshed')) {
      await this.store.groupIndex.record(userId, state.idp, state.version, state.groups);
    }
    return state;
  }

  // --- external users (IdP channels) --------------------------------------------------------------------

  /** The user linked to (`idp`, `subject`), if one exists. */
  async linkedUser(idp: string, subject: string): Promise<UserState | undefined> {
    const link = await this.store.reservations.findSubject(idp, subject);
    if (!link) return undefined;
    const { state } = await this.loadUser(link.userId);
    return state.exists ? state : undefined;
  }

  /**
   * The external user linked to (`idp`, `subject`), created with name `<idp>:<subject>` when there is none.
   * Concurrent first sign-ins (or a sign-in racing a SCIM create) end with one user: the (idp, subject)
   * link is a unique row taken before the `UserCreated` append.
   */
  async ensureExternalUser(
    context: CommandContext,
    idp: string,
    subject: string,
    email: string | null = null,
  ): Promise<{ state: UserState; created: boolean }> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const link = await this.store.reservations.findSubject(idp, subject);
      let userId: string;
      if (link) {
        const { state } = await this.loadUser(link.userId);
        if (state.exists) return { state, created: false };
        if (!link.old) {
          // Another request is creating this user right now: wait for it.
          if (Date.now() > deadline) throw new ApiError('unavailable', 'the user is being created; retry');
          await sleep(50);
          continue;
        }
        userId = newId('usr');
        if (!(await this.store.reservations.takeOverSubject(idp, subject, link.userId, userId))) continue;
      } else {
        userId = newId('usr');
        if (!(await this.store.reservations.linkSubject(idp, subject, userId)).ok) continue;
      }
      const name = externalUserName(idp, subject);
      try {
        await this.reserveName(name, userId);
      } catch (error) {
        await this.store.reservations.unlinkSubject(idp, subject, userId);
        throw error;
      }
      try {
        const data: UserCreated = {
          userId,
          name,
          kind: 'external',
          admin: false,
          email,
          idp,
          externalSubject: subject,
          createdAt: iso(this.now()),
        };
        const result = await translating(() =>
          this.store.events.append(userStream(userId), 0, [{ type: 'UserCreated', data }], {
            metadata: metadataOf(context),
          }),
        );
        await this.store.groupIndex.record(userId, idp, result.version, []);
        return { state: fold(userDecider, [{ type: 'UserCreated', data }]), created: true };
      } catch (error) {
        await this.store.reservations.releaseUserName(name, userId).catch(() => undefined);
        await this.store.reservations.unlinkSubject(idp, subject, userId).catch(() => undefined);
        throw error;
      }
    }
  }

  /** Users of connector `idp` whose group set contains `group`. */
  membersOf(idp: string, group: string): Promise<string[]> {
    return this.store.groupIndex.membersOf(idp, group);
  }

  /** Removes (and optionally renames into `renamedTo`) a group for every user of connector `idp` who has it. */
  async rewriteGroup(context: CommandContext, idp: string, group: string, renamedTo: string | null): Promise<void> {
    const at = iso(this.now());
    for (const userId of await this.membersOf(idp, group)) {
      await this.userCommand(context, userId, {
        type: 'EditGroups',
        add: renamedTo === null ? [] : [renamedTo],
        remove: [group],
        at,
      });
    }
  }

  // --- projects -------------------------------------------------------------------------------------------

  async createProject(
    context: CommandContext,
    input: { name: string },
    idempotencyKey?: string,
  ): Promise<Created<ProjectView>> {
    const { state: creator } = await this.loadUser(context.actor.userId);
    if (!creator.exists || creator.deactivatedAt !== null || creator.kind === 'external') {
      throw new ApiError('forbidden', 'projects are created by internal or machine users');
    }
    const fingerprint = requestFingerprint('POST /v1/projects', input);
    const toView = (events: RecordedEvent[]) => projectView(fold(projectDecider, events as unknown as ProjectEvent[]));
    const replayed = await this.replay(context, idempotencyKey, fingerprint, toView);
    if (replayed) return replayed;
    const projectId = newId('prj');
    const result = await translating(() =>
      this.store.events.append(
        projectStream(projectId),
        0,
        [
          {
            type: 'ProjectCreated',
            data: { projectId, name: input.name, ownerId: context.actor.userId, createdAt: iso(this.now()) },
          },
        ],
        { metadata: metadataOf(context), idempotencyKey, fingerprint },
      ),
    );
    return { view: toView(result.events), replayed: result.replayed };
  }

  private async visibleProject(context: CommandContext, projectId: string): Promise<ProjectState> {
    const { state } = await this.loadProject(projectId);
    if (!canSeeProject(state, context.actor)) throw new ApiError('not-found', 'project not found');
    return state;
  }

  async getProject(context: CommandContext, projectId: string): Promise<ProjectView> {
    return projectView(await this.visibleProject(context, projectId));
  }

  async collaborators(
    context: CommandContext,
    projectId: string,
  ): Promise<{ collaborators: { userId: string; role: ProjectRole }[]; version: number }> {
    const state = await this.visibleProject(context, projectId);
    return { collaborators: collaboratorsView(state), version: state.version };
  }

  async setCollaborator(
    context: CommandContext,
    projectId: string,
    userId: string,
    role: ProjectRole,
    ifMatch?: number,
  ) {
    const { state: project } = await this.loadProject(projectId);
    assertCanManageProject(project, context.actor);
    const { state: user } = await this.loadUser(userId);
    if (!user.exists) throw new ApiError('not-found', 'user not found');
    const state = await this.projectCommand(context, projectId, {
      type: 'SetCollaborator',
      by: context.actor,
      userId,
      role,
      ifMatch,
    });
    return { projectId, userId, role: state.collaborators.get(userId)!, version: state.version };
  }

  async removeCollaborator(context: CommandContext, projectId: string, userId: string, ifMatch?: number) {
    const state = await this.projectCommand(context, projectId, {
      type: 'RemoveCollaborator',
      by: context.actor,
      userId,
      ifMatch,
    });
    return { projectId, userId, removed: true, version: state.version };
  }

  /** A command on a project's stream: retried on a concurrent write; a stale `ifMatch` is `version-conflict`. */
  private async projectCommand(
    context: CommandContext,
    projectId: string,
    command: ProjectCommand,
  ): Promise<ProjectState> {
    const { state } = await translating(
      () =>
        handleCommand(this.store.events, projectStream(projectId), projectDecider, command, metadataOf(context), {
          retries: 5,
        }),
      'version-conflict',
    );
    return state;
  }

  // --- deployments ----------------------------------------------------------------------------------------

  private accessTo(project: ProjectState, actor: Actor): ProjectAccess {
    return { canSee: canSeeProject(project, actor), canManage: canManageProject(project, actor) };
  }

  private deploymentViewOf(loaded: Loaded<DeploymentAggregate>): DeploymentView {
    const first = loaded.events[0]!;
    const last = loaded.events[loaded.events.length - 1]!;
    return deploymentView(loaded.state, { createdAt: iso(first.recordedAt), updatedAt: iso(last.recordedAt) });
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
        const holder = await this.loadDeployment(conflict.heldBy);
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
    const { state: project } = await this.loadProject(input.projectId);
    const access = this.accessTo(project, context.actor);
    if (!access.canSee) throw new ApiError('not-found', 'project not found');
    if (!access.canManage)
      throw new ApiError('forbidden', 'only the project owner or admin, or a Tollgate admin, may add deployments');
    const fingerprint = requestFingerprint('POST /v1/deployments', input);
    const toView = (events: RecordedEvent[]) =>
      this.deploymentViewOf({ state: fold(deploymentDecider, events as unknown as DeploymentEvent[]), events });
    const replayed = await this.replay(context, idempotencyKey, fingerprint, toView);
    if (replayed) return replayed;

    const deploymentId = newId('dep');
    const deployment: DeploymentState = {
      deploymentId,
      projectId: input.projectId,
      name: input.name,
      hosts: input.hosts ?? DEPLOYMENT_DEFAULTS.hosts,
      pathPrefixes: input.pathPrefixes ?? DEPLOYMENT_DEFAULTS.pathPrefixes,
      authentication: input.authentication ?? DEPLOYMENT_DEFAULTS.authentication,
      credentialKinds: input.credentialKinds ?? DEPLOYMENT_DEFAULTS.credentialKinds,
      grantedGroups: input.grantedGroups ?? DEPLOYMENT_DEFAULTS.grantedGroups,
      environment: input.environment ?? DEPLOYMENT_DEFAULTS.environment,
    };
    const events = deploymentDecider.decide(
      { type: 'CreateDeployment', access, deployment },
      deploymentDecider.initialState,
    );
    const reserved = await this.reserveRoutes(deploymentId, routesOf(deployment));
    try {
      const result = await translating(() =>
        this.store.events.append(deploymentStream(deploymentId), 0, events, {
          metadata: metadataOf(context),
          idempotencyKey,
          fingerprint,
        }),
      );
      if (result.replayed) await this.store.reservations.releaseRoutes(deploymentId, reserved);
      return { view: toView(result.events), replayed: result.replayed };
    } catch (error) {
      await this.store.reservations.releaseRoutes(deploymentId, reserved).catch(() => undefined);
      throw error;
    }
  }

  async getDeployment(context: CommandContext, deploymentId: string): Promise<DeploymentView> {
    const loaded = await this.loadDeployment(deploymentId);
    if (!loaded.state.exists) throw new ApiError('not-found', 'deployment not found');
    const { state: project } = await this.loadProject(loaded.state.deployment!.projectId);
    if (!canSeeProject(project, context.actor)) throw new ApiError('not-found', 'deployment not found');
    return this.deploymentViewOf(loaded);
  }

  async updateDeployment(
    context: CommandContext,
    deploymentId: string,
    changes: DeploymentChanges,
    ifMatch?: number,
  ): Promise<DeploymentView> {
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.loadDeployment(deploymentId);
      const { state } = loaded;
      if (!state.exists) throw new ApiError('not-found', 'deployment not found');
      const { state: project } = await this.loadProject(state.deployment!.projectId);
      const decided = deploymentDecider.decide(
        { type: 'UpdateDeployment', access: this.accessTo(project, context.actor), changes, ifMatch },
        state,
      );
      if (decided.length === 0) return this.deploymentViewOf(loaded);
      const before = routesOf(state.deployment!);
      const after = routesOf(decided[0]!.data);
      const reserved = await this.reserveRoutes(deploymentId, minus(after, before));
      let appended: RecordedEvent[];
      try {
        appended = (
          await this.store.events.append(deploymentStream(deploymentId), state.version, decided, {
            metadata: metadataOf(context),
          })
        ).events;
      } catch (error) {
        await this.store.reservations.releaseRoutes(deploymentId, reserved).catch(() => undefined);
        if (error instanceof VersionConflictError && attempt < 5) continue;
        throw toApiError(error, 'version-conflict');
      }
      const dropped = minus(before, after);
      if (dropped.length > 0) {
        await this.store.reservations.releaseRoutes(deploymentId, dropped);
        // A concurrent update may have taken a dropped route back meanwhile: keep what the latest state uses.
        const latest = await this.loadDeployment(deploymentId);
        const stillUsed = routesOf(latest.state.deployment!).filter((r) => dropped.some((d) => sameRoute(d, r)));
        if (stillUsed.length > 0) await this.store.reservations.reserveRoutes(deploymentId, stillUsed);
      }
      const events = [...loaded.events, ...appended];
      return this.deploymentViewOf({ state: fold(deploymentDecider, events as unknown as DeploymentEvent[]), events });
    }
  }

  // --- external-access policy -----------------------------------------------------------------------------

  async policy(): Promise<PolicyState> {
    return (await this.load(EXTERNAL_ACCESS_POLICY_STREAM, policyDecider)).state;
  }

  async setPolicy(
    context: CommandContext,
    requireExternalUserLoginAfterHours: number,
    ifMatch?: number,
  ): Promise<PolicyState> {
    const { state } = await translating(
      () =>
        handleCommand(
          this.store.events,
          EXTERNAL_ACCESS_POLICY_STREAM,
          policyDecider,
          { type: 'SetExternalAccessPolicy', by: context.actor, requireExternalUserLoginAfterHours, ifMatch },
          metadataOf(context),
          { retries: 5 },
        ),
      'version-conflict',
    );
    return state;
  }
}
