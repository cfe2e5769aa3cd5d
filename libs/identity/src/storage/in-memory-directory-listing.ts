import type { EventStore, RecordedEvent } from '@tollgate/event-store';
import type { DirectoryListing, ListedStream, Lister, UserFilter, Window } from './directory-listing';

const contains = (text: string | null | undefined, q: string): boolean =>
  (text ?? '').toLowerCase().includes(q.toLowerCase());

type Data = Record<string, unknown>;

/**
 * The list queries over an in-memory event store, for unit tests: the same contract as the SQL over
 * `identity.events` (directory-listing.contract.ts). Reads the whole log at each call.
 */
export class InMemoryDirectoryListing implements DirectoryListing {
  constructor(private readonly events: EventStore) {}

  private async log(): Promise<RecordedEvent[]> {
    const all: RecordedEvent[] = [];
    for (;;) {
      const page = await this.events.readAll({ after: all.at(-1)?.position ?? 0, limit: 1000 });
      if (page.length === 0) return all;
      all.push(...page);
    }
  }

  private page(created: RecordedEvent[], window: Window, keep: (event: RecordedEvent) => boolean): ListedStream[] {
    return created
      .filter((e) => e.position > window.after && keep(e))
      .slice(0, window.take)
      .map((e) => ({ position: e.position, streamId: e.streamId }));
  }

  /** Creation events of `type` on streams starting with `prefix`, in position order. */
  private static created(log: RecordedEvent[], type: string, prefix: string): RecordedEvent[] {
    return log.filter((e) => e.type === type && e.streamId.startsWith(prefix));
  }

  /** The projects (stream ids) `userId` collaborates on now: the latest event naming them is no removal. */
  private static projectsOf(log: RecordedEvent[], userId: string): Set<string> {
    const latest = new Map<string, string>();
    for (const e of log) {
      if (!e.streamId.startsWith('project-')) continue;
      if (!['ProjectCreated', 'CollaboratorSet', 'CollaboratorRemoved'].includes(e.type)) continue;
      const data = e.data as Data;
      if ((data.userId ?? data.ownerId) === userId) latest.set(e.streamId, e.type);
    }
    return new Set([...latest].filter(([, type]) => type !== 'CollaboratorRemoved').map(([stream]) => stream));
  }

  async users(filter: UserFilter, window: Window): Promise<ListedStream[]> {
    const log = await this.log();
    const deactivated = new Map<string, boolean>();
    for (const e of log) {
      if (e.type === 'UserDeactivated' || e.type === 'UserReactivated')
        deactivated.set(e.streamId, e.type === 'UserDeactivated');
    }
    return this.page(InMemoryDirectoryListing.created(log, 'UserCreated', 'user-'), window, (e) => {
      const data = e.data as Data;
      const q = filter.q;
      if (q !== undefined && !contains(data.name as string, q) && !contains(data.email as string, q)) return false;
      if (filter.kind !== undefined && data.kind !== filter.kind) return false;
      if (filter.admin !== undefined && data.admin !== filter.admin) return false;
      const status = deactivated.get(e.streamId) ? 'deactivated' : 'active';
      return filter.status === undefined || status === filter.status;
    });
  }

  async projects(lister: Lister, filter: { q?: string }, window: Window): Promise<ListedStream[]> {
    const log = await this.log();
    const mine = lister.admin ? undefined : InMemoryDirectoryListing.projectsOf(log, lister.userId);
    return this.page(InMemoryDirectoryListing.created(log, 'ProjectCreated', 'project-'), window, (e) => {
      if (mine && !mine.has(e.streamId)) return false;
      return filter.q === undefined || contains((e.data as Data).name as string, filter.q);
    });
  }

  async deployments(
    lister: Lister,
    filter: { projectId?: string; q?: string },
    window: Window,
  ): Promise<ListedStream[]> {
    const log = await this.log();
    const mine = lister.admin ? undefined : InMemoryDirectoryListing.projectsOf(log, lister.userId);
    const latest = new Map<string, Data>();
    for (const e of log) if (e.streamId.startsWith('deployment-')) latest.set(e.streamId, e.data as Data);
    return this.page(InMemoryDirectoryListing.created(log, 'DeploymentCreated', 'deployment-'), window, (e) => {
      const projectId = (e.data as Data).projectId as string;
      if (mine && !mine.has(`project-${projectId}`)) return false;
      if (filter.projectId !== undefined && projectId !== filter.projectId) return false;
      if (filter.q === undefined) return true;
      const now = latest.get(e.streamId)!;
      const q = filter.q;
      return contains(now.name as string, q) || ((now.hosts as string[] | undefined) ?? []).some((h) => contains(h, q));
    });
  }
}
