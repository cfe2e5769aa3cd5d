import { newId } from '@tollgate/authn';
import { ApiError, type ProjectRole, projectStream } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import {
  assertCanManageProject,
  canSeeProject,
  collaboratorsView,
  type ProjectCommand,
  projectDecider,
  type ProjectState,
  type ProjectView,
  projectView,
} from '../domain/project';
import type { DirectoryStores } from '../storage/directory-stores';
import { type Aggregates, type Created, foldRecorded } from './aggregates';
import { type CommandContext, requestFingerprint } from './command-context';
import { type ListPage, type ListWindow, readPage } from './lists';

export type ListedProject = ProjectView & { role: ProjectRole | null };

const iso = (date: Date): string => date.toISOString();

/** Projects and their collaborators: who may see a project, manage it, and hand out ownership. */
export class ProjectsService {
  constructor(
    private readonly aggregates: Aggregates,
    private readonly store: Pick<DirectoryStores, 'listing'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async createProject(
    context: CommandContext,
    input: { name: string },
    idempotencyKey?: string,
  ): Promise<Created<ProjectView>> {
    const { state: creator } = await this.aggregates.user(context.actor.userId);
    const projectId = newId('prj');
    const events = projectDecider.decide(
      {
        type: 'CreateProject',
        projectId,
        name: input.name,
        creator: {
          userId: context.actor.userId,
          exists: creator.exists,
          deactivated: creator.deactivatedAt !== null,
          kind: creator.kind,
        },
        at: iso(this.now()),
      },
      projectDecider.initialState,
    );
    const fingerprint = requestFingerprint('POST /v1/projects', input);
    const toView = (recorded: RecordedEvent[]) => projectView(foldRecorded(projectDecider, recorded));
    const replayed = await this.aggregates.replay(context, idempotencyKey, fingerprint, toView);
    if (replayed) return replayed;
    const result = await this.aggregates.append(context, projectStream(projectId), 0, events, {
      idempotencyKey,
      fingerprint,
    });
    return { view: toView(result.events), replayed: result.replayed };
  }

  private async visibleProject(context: CommandContext, projectId: string): Promise<ProjectState> {
    const { state } = await this.aggregates.project(projectId);
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
    const { state: project } = await this.aggregates.project(projectId);
    assertCanManageProject(project, context.actor);
    const { state: user } = await this.aggregates.user(userId);
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
    return this.aggregates.command(context, projectStream(projectId), projectDecider, command, 'version-conflict');
  }

  /** Projects the caller collaborates on (all for a Tollgate admin), in creation order, with the caller's role. */
  async listProjects(
    context: CommandContext,
    filter: { q?: string },
    window: ListWindow,
  ): Promise<ListPage<ListedProject>> {
    return readPage(
      window,
      (take) => this.store.listing.projects(context.actor, filter, { after: window.after, take }),
      async (row) => {
        const { state } = await this.aggregates.load(row.streamId, projectDecider);
        if (!canSeeProject(state, context.actor)) return undefined;
        return { ...projectView(state), role: state.collaborators.get(context.actor.userId) ?? null };
      },
    );
  }
}
