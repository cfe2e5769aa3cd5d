import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@tollgate/authn';
import { ApiError, userStream } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import {
  BUILT_IN_ADMIN_ID,
  BUILT_IN_ADMIN_NAME,
  externalUserName,
  type NewUser,
  type UserCommand,
  userDecider,
  type UserState,
  type UserView,
  userView,
} from '../domain/user';
import type { UserFilter } from '../storage/directory-listing';
import type { DirectoryStores } from '../storage/directory-stores';
import { type Aggregates, type Created, foldRecorded, type Loaded } from './aggregates';
import { type CommandContext, requestFingerprint, SYSTEM_ACTOR } from './command-context';
import { type ListPage, type ListWindow, readPage } from './lists';

const iso = (date: Date): string => date.toISOString();

/**
 * Users: created by an admin, by first sign-in or by SCIM (linked to their IdP's subject), deactivated and
 * reactivated, and their group sets. User names and (idp, subject) links are unique through reservations
 * taken before the `UserCreated` append.
 */
export class UsersService {
  constructor(
    private readonly aggregates: Aggregates,
    private readonly store: Pick<DirectoryStores, 'reservations' | 'groupIndex' | 'listing'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  loadUser(userId: string): Promise<Loaded<UserState>> {
    return this.aggregates.user(userId);
  }

  /** The built-in admin `usr_admin` (name `admin`), at first start; a repeat is a no-op (docs/SERVICES.md). */
  async ensureBuiltInAdmin(): Promise<void> {
    await this.store.reservations.reserveUserName(BUILT_IN_ADMIN_NAME, BUILT_IN_ADMIN_ID);
    await this.userCommand({ actor: SYSTEM_ACTOR, channel: 'system' }, BUILT_IN_ADMIN_ID, {
      type: 'CreateBuiltInAdmin',
      at: iso(this.now()),
    });
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
    const userId = newId('usr');
    const events = userDecider.decide(
      { type: 'CreateUser', by: context.actor, userId, user: input, at: iso(this.now()) },
      userDecider.initialState,
    );
    const fingerprint = requestFingerprint('POST /v1/users', input);
    const toView = (recorded: RecordedEvent[]) => userView(foldRecorded(userDecider, recorded));
    const replayed = await this.aggregates.replay(context, idempotencyKey, fingerprint, toView);
    if (replayed) return replayed;

    await this.reserveName(input.name, userId);
    try {
      const result = await this.aggregates.append(context, userStream(userId), 0, events, {
        idempotencyKey,
        fingerprint,
      });
      if (result.replayed) await this.store.reservations.releaseUserName(input.name, userId);
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

  /** Deactivation (admin): denied everywhere; the keys service revokes the user's keys on `UserDeactivated`. */
  async deactivateUser(context: CommandContext, userId: string): Promise<UserView> {
    if (!context.actor.admin) {
      if (context.actor.userId === userId)
        throw new ApiError('forbidden', 'only a Tollgate admin may deactivate users');
      throw new ApiError('not-found', 'user not found');
    }
    return userView(await this.userCommand(context, userId, { type: 'DeactivateUser', at: iso(this.now()) }));
  }

  /** Runs a user command (the group index follows in the append's transaction). */
  async userCommand(context: CommandContext, userId: string, command: UserCommand): Promise<UserState> {
    return this.aggregates.command(context, userStream(userId), userDecider, command);
  }

  /** Users in creation order (Tollgate admin only), by name or email substring and kind. */
  async listUsers(context: CommandContext, filter: UserFilter, window: ListWindow): Promise<ListPage<UserView>> {
    if (!context.actor.admin) throw new ApiError('forbidden', 'only a Tollgate admin may list users');
    return readPage(
      window,
      (take) => this.store.listing.users(filter, { after: window.after, take }),
      async (row) => {
        const { state } = await this.aggregates.load(row.streamId, userDecider);
        return state.exists ? userView(state) : undefined;
      },
    );
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
        const events = userDecider.decide(
          { type: 'LinkExternalUser', userId, idp, subject, email, at: iso(this.now()) },
          userDecider.initialState,
        );
        const result = await this.aggregates.append(context, userStream(userId), 0, events);
        return { state: foldRecorded(userDecider, result.events), created: true };
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

  /**
   * Removes (and optionally renames into `renamedTo`) a group for every user of connector `idp` who has it.
   * `edit.refresh` as for `EditGroups` (a webhook's `group.deleted` refreshes at its timestamp, SCIM does not).
   */
  async rewriteGroup(
    context: CommandContext,
    idp: string,
    group: string,
    renamedTo: string | null,
    edit: { at?: string; refresh: boolean },
  ): Promise<void> {
    const at = edit.at ?? iso(this.now());
    for (const userId of await this.membersOf(idp, group)) {
      await this.userCommand(context, userId, {
        type: 'EditGroups',
        add: renamedTo === null ? [] : [renamedTo],
        remove: [group],
        at,
        refresh: edit.refresh,
      });
    }
  }
}
