import type { DomainEvent, ProjectRole, UserCreated } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import type { ProjectRecord, UserRecord } from '../types';
import { type Evolver, type PendingUser, type RoleEntry, time, userRecord } from './records';

const EMPTY_GROUPS: ReadonlySet<string> = Object.freeze(new Set<string>()) as ReadonlySet<string>;
const EMPTY_ROLES: ReadonlyMap<string, ProjectRole> = new Map();
const subjectKey = (idp: string, subject: string): string => `${idp}\u0000${subject}`;

/**
 * The directory: users (by id, name and IdP subject), their groups and login clock, facts that arrive
 * before a user's `UserCreated` (held as pending), projects and their collaborators' roles.
 */
export class DirectoryArea implements Evolver {
  private readonly users = new Map<string, UserRecord>();
  private readonly usersByName = new Map<string, UserRecord>();
  /** `<idp>\0<subject>` → the user an IdP connector's sign-in, SCIM and webhooks name. */
  private readonly usersByExternalSubject = new Map<string, UserRecord>();
  private readonly pendingUsers = new Map<string, PendingUser>();
  /** User id → stream version of the group set held (ties of `groupsChangedAt` go to the later version). */
  private readonly groupsVersions = new Map<string, number>();
  private readonly projects = new Map<string, ProjectRecord>();
  private readonly roles = new Map<string, Map<string, RoleEntry>>();

  evolve(e: DomainEvent, event: RecordedEvent): void {
    const version = event.streamVersion;
    switch (e.type) {
      case 'UserCreated':
        return this.userCreated(e.data);
      case 'UserDeactivated':
        return this.userDeactivated(e.data.userId, time(e.data.deactivatedAt));
      case 'UserReactivated':
        return this.userReactivated(e.data.userId);
      case 'GroupsRefreshed': {
        const at = time(e.data.refreshedAt);
        return this.groupsChanged(e.data.userId, e.data.groups, at, version, at);
      }
      case 'GroupsEdited':
        return this.groupsChanged(e.data.userId, e.data.groups, time(e.data.editedAt), version, null);
      case 'ProjectCreated': {
        const { projectId, name, ownerId, createdAt } = e.data;
        this.projects.set(projectId, Object.freeze({ projectId, name, ownerId, createdAt: time(createdAt) }));
        return this.setRole(projectId, ownerId, 'owner', version);
      }
      case 'CollaboratorSet':
        return this.setRole(e.data.projectId, e.data.userId, e.data.role, version);
      case 'CollaboratorRemoved':
        return this.setRole(e.data.projectId, e.data.userId, null, version);
      default:
        return;
    }
  }

  private userCreated(u: UserCreated): void {
    const existing = this.users.get(u.userId);
    const pending = this.pendingUsers.get(u.userId);
    this.pendingUsers.delete(u.userId);
    const record = userRecord({
      userId: u.userId,
      name: u.name,
      kind: u.kind,
      admin: u.admin,
      email: u.email,
      idp: u.idp ?? null,
      externalSubject: u.externalSubject ?? null,
      createdAt: time(u.createdAt),
      deactivatedAt: existing?.deactivatedAt ?? pending?.deactivatedAt ?? null,
      groups: existing?.groups ?? (pending?.groups ? new Set(pending.groups) : EMPTY_GROUPS),
      groupsRefreshedAt: existing?.groupsRefreshedAt ?? pending?.groupsRefreshedAt ?? null,
      groupsChangedAt: existing?.groupsChangedAt ?? pending?.groupsChangedAt ?? null,
    });
    if (!existing && pending?.groups) this.groupsVersions.set(u.userId, pending.groupsVersion);
    if (existing && existing.name !== record.name && this.usersByName.get(existing.name)?.userId === u.userId) {
      this.usersByName.delete(existing.name);
    }
    this.storeUser(record);
  }

  /** Stores a user record and its name and subject indexes (events, and snapshot loading). */
  storeUser(record: UserRecord): void {
    this.users.set(record.userId, record);
    const holder = this.usersByName.get(record.name);
    // Names are unique (the writer refuses a taken one); should two users still share one, the smaller id wins.
    if (!holder || holder.userId === record.userId || record.userId < holder.userId)
      this.usersByName.set(record.name, record);
    if (record.idp !== null && record.externalSubject !== null) {
      const key = subjectKey(record.idp, record.externalSubject);
      const linked = this.usersByExternalSubject.get(key);
      // One Tollgate user per (idp, sub); should two claim it, the smaller id wins, as for names.
      if (!linked || linked.userId === record.userId || record.userId < linked.userId)
        this.usersByExternalSubject.set(key, record);
    }
  }

  private userDeactivated(userId: string, at: number): void {
    const user = this.users.get(userId);
    if (user) {
      if (user.deactivatedAt === null || at < user.deactivatedAt)
        this.storeUser(userRecord({ ...user, deactivatedAt: at }));
      return;
    }
    const pending = this.pending(userId);
    if (pending.deactivatedAt === null || at < pending.deactivatedAt) pending.deactivatedAt = at;
  }

  /**
   * A user's stream is applied in version order, so a reactivation always follows the deactivation it
   * undoes; the keys revoked with the deactivation stay revoked (their own events say so).
   */
  private userReactivated(userId: string): void {
    const user = this.users.get(userId);
    if (user) {
      if (user.deactivatedAt !== null) this.storeUser(userRecord({ ...user, deactivatedAt: null }));
      return;
    }
    this.pending(userId).deactivatedAt = null;
  }

  /**
   * A group event: the set changed at `at` (the newest by time, then stream version, wins), and, for
   * `GroupsRefreshed`, the login clock moved to `loginAt` (the latest wins; SCIM's `GroupsEdited` has none).
   */
  private groupsChanged(userId: string, groups: string[], at: number, version: number, loginAt: number | null): void {
    const laterLogin = (held: number | null): number | null =>
      loginAt !== null && (held === null || loginAt > held) ? loginAt : held;
    const user = this.users.get(userId);
    if (user) {
      const newer = isNewerGroups(at, version, user.groupsChangedAt, this.groupsVersions.get(userId) ?? 0);
      const login = laterLogin(user.groupsRefreshedAt);
      if (!newer && login === user.groupsRefreshedAt) return;
      if (newer) this.groupsVersions.set(userId, version);
      this.storeUser(
        userRecord({
          ...user,
          ...(newer ? { groups: new Set(groups), groupsChangedAt: at } : {}),
          groupsRefreshedAt: login,
        }),
      );
      return;
    }
    const pending = this.pending(userId);
    pending.groupsRefreshedAt = laterLogin(pending.groupsRefreshedAt);
    if (!isNewerGroups(at, version, pending.groupsChangedAt, pending.groupsVersion)) return;
    pending.groups = [...groups];
    pending.groupsChangedAt = at;
    pending.groupsVersion = version;
  }

  private pending(userId: string): PendingUser {
    let pending = this.pendingUsers.get(userId);
    if (!pending) {
      pending = { deactivatedAt: null, groups: null, groupsRefreshedAt: null, groupsChangedAt: null, groupsVersion: 0 };
      this.pendingUsers.set(userId, pending);
    }
    return pending;
  }

  private setRole(projectId: string, userId: string, role: ProjectRole | null, version: number): void {
    let members = this.roles.get(projectId);
    if (!members) this.roles.set(projectId, (members = new Map()));
    const held = members.get(userId);
    if (held && held.version >= version) return;
    members.set(userId, { role, version });
  }

  // ---- lookups ----

  user(userId: string): UserRecord | undefined {
    return this.users.get(userId);
  }

  /** The group set a group event is about to replace: the user's, or the pending one (see `reducesAccess`). */
  heldGroups(userId: string): ReadonlySet<string> | undefined {
    const user = this.users.get(userId);
    if (user) return user.groups;
    const pending = this.pendingUsers.get(userId)?.groups;
    return pending ? new Set(pending) : undefined;
  }

  userByName(name: string): UserRecord | undefined {
    return this.usersByName.get(name);
  }

  userByExternalSubject(idp: string, subject: string): UserRecord | undefined {
    return this.usersByExternalSubject.get(subjectKey(idp, subject));
  }

  allUsers(): IterableIterator<UserRecord> {
    return this.users.values();
  }

  project(projectId: string): ProjectRecord | undefined {
    return this.projects.get(projectId);
  }

  roleOf(projectId: string, userId: string): ProjectRole | undefined {
    return this.roles.get(projectId)?.get(userId)?.role ?? undefined;
  }

  collaborators(projectId: string): ReadonlyMap<string, ProjectRole> {
    const members = this.roles.get(projectId);
    if (!members) return EMPTY_ROLES;
    const out = new Map<string, ProjectRole>();
    for (const [userId, entry] of members) if (entry.role !== null) out.set(userId, entry.role);
    return out;
  }

  counts(): { users: number; projects: number } {
    return { users: this.users.size, projects: this.projects.size };
  }

  isEmpty(): boolean {
    return this.users.size === 0 && this.pendingUsers.size === 0 && this.projects.size === 0 && this.roles.size === 0;
  }

  // ---- snapshots ----

  snapshotPart() {
    const roles: [string, string, RoleEntry][] = [];
    for (const [projectId, members] of this.roles)
      for (const [userId, entry] of members) roles.push([projectId, userId, entry]);
    return {
      users: [...this.users.values()],
      groupsVersions: new Map(this.groupsVersions),
      // Pending facts are mutated in place: copy them.
      pendingUsers: [...this.pendingUsers].map(([userId, p]): [string, PendingUser] => [
        userId,
        { ...p, groups: p.groups ? [...p.groups] : null },
      ]),
      projects: [...this.projects.values()],
      roles,
    };
  }

  load(part: {
    users: readonly UserRecord[];
    groupsVersions: ReadonlyMap<string, number> | Iterable<[string, number]>;
    pendingUsers: readonly [string, PendingUser][];
    projects: readonly ProjectRecord[];
    roles: readonly [string, string, RoleEntry][];
  }): void {
    for (const user of part.users) this.storeUser(user);
    for (const [userId, version] of part.groupsVersions) this.groupsVersions.set(userId, version);
    for (const [userId, pending] of part.pendingUsers) this.pendingUsers.set(userId, pending);
    for (const project of part.projects) this.projects.set(project.projectId, project);
    for (const [projectId, userId, entry] of part.roles) {
      let members = this.roles.get(projectId);
      if (!members) this.roles.set(projectId, (members = new Map()));
      members.set(userId, entry);
    }
  }
}

function isNewerGroups(at: number, version: number, heldAt: number | null, heldVersion: number): boolean {
  if (heldAt === null) return true;
  return at > heldAt || (at === heldAt && version > heldVersion);
}
