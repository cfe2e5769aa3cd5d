import type { GroupsEdited, GroupsRefreshed, UserCreated } from '@tollgate/contracts';
import type { InlineProjection, RecordedEvent } from '@tollgate/event-store';
import type { Sql } from './sql';

/** "Who has group G": each user's current group set, to list a SCIM group's members or apply `group.deleted`. */
export interface GroupIndex {
  /** Users of connector `idp` whose set contains `group` (exact, case-sensitive), by user id. */
  membersOf(idp: string, group: string): Promise<string[]>;
}

/** The events that set a user's connector or group set. */
export const GROUP_INDEX_EVENTS = ['UserCreated', 'GroupsRefreshed', 'GroupsEdited'] as const;

/** One user's entry as an event sets it: its connector (creation only) and group set, at the event's version. */
interface GroupSet {
  userId: string;
  /** Only `UserCreated` names the connector; a group change keeps the one the user has. */
  idp?: string | null;
  version: number;
  groups: string[];
}

function groupSetOf(event: RecordedEvent): GroupSet {
  if (event.type === 'UserCreated') {
    const data = event.data as UserCreated;
    return { userId: data.userId, idp: data.idp ?? null, version: event.streamVersion, groups: [] };
  }
  const data = event.data as GroupsRefreshed | GroupsEdited;
  return { userId: data.userId, version: event.streamVersion, groups: [...data.groups] };
}

/**
 * The index in PostgreSQL (`user_group_sets`), written by `postgresGroupIndexProjection` in the transaction of
 * every append that creates a user or changes a group set: never behind the log, so nothing rebuilds it at
 * start (migration `GroupIndexBackfill` filled it once for a database written before).
 */
export class PostgresGroupIndex implements GroupIndex {
  constructor(private readonly sql: Sql) {}

  async membersOf(idp: string, group: string): Promise<string[]> {
    const { rows } = await this.sql.query<{ user_id: string }>(
      `SELECT user_id FROM user_group_sets WHERE idp = $1 AND groups @> ARRAY[$2]::text[] ORDER BY user_id`,
      [idp, group],
    );
    return rows.map((r) => r.user_id);
  }
}

/**
 * Writes `user_group_sets` inside the append's transaction. A user without a row yet (created by a replica of
 * a version before this one) gets its connector from its `UserCreated`; the version guard keeps a newer set
 * when such a replica, which writes the index after its appends, comes late.
 */
export const postgresGroupIndexProjection: InlineProjection = {
  handles: GROUP_INDEX_EVENTS,
  async apply(events, tx) {
    for (const event of events) {
      const set = groupSetOf(event);
      await tx.query(
        `INSERT INTO user_group_sets AS s (user_id, idp, version, groups)
         VALUES ($1, coalesce($2, (SELECT data->>'idp' FROM events WHERE stream_id = $5 AND type = 'UserCreated')), $3, $4)
         ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, groups = EXCLUDED.groups
           WHERE s.version < EXCLUDED.version`,
        [set.userId, set.idp ?? null, set.version, set.groups, event.streamId],
      );
    }
  },
};

/** The index in memory, for unit tests: the same contract as PostgreSQL (group-index.contract.ts). */
export class InMemoryGroupIndex implements GroupIndex {
  private readonly sets = new Map<string, { idp: string | null; version: number; groups: readonly string[] }>();

  /** Give it to the `InMemoryEventStore` as an inline projection. */
  readonly projection: InlineProjection<undefined> = {
    handles: GROUP_INDEX_EVENTS,
    apply: async (events) => {
      for (const set of events.map(groupSetOf)) {
        const current = this.sets.get(set.userId);
        if (current && current.version >= set.version) continue;
        this.sets.set(set.userId, { idp: set.idp ?? current?.idp ?? null, version: set.version, groups: set.groups });
      }
    },
  };

  async membersOf(idp: string, group: string): Promise<string[]> {
    return [...this.sets]
      .filter(([, set]) => set.idp === idp && set.groups.includes(group))
      .map(([userId]) => userId)
      .sort();
  }
}
