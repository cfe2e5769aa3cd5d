import type { Sql } from './sql';

/**
 * Each user's current group set, at the stream version it reflects, to answer "who has group G" (a SCIM
 * group's members, `group.deleted`). Written after each append with a version guard (a late writer never
 * overwrites a newer set) and rebuilt from the event log at start, so a crash between an append and its
 * index write heals at the next start.
 */
export class GroupIndex {
  constructor(private readonly sql: Sql) {}

  async record(userId: string, idp: string | null, version: number, groups: readonly string[]): Promise<void> {
    await this.sql.query(
      `INSERT INTO user_group_sets AS s (user_id, idp, version, groups) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id) DO UPDATE SET idp = EXCLUDED.idp, version = EXCLUDED.version, groups = EXCLUDED.groups
         WHERE s.version < EXCLUDED.version`,
      [userId, idp, version, groups],
    );
  }

  /** Users of connector `idp` whose set contains `group` (exact, case-sensitive), by user id. */
  async membersOf(idp: string, group: string): Promise<string[]> {
    const { rows } = await this.sql.query<{ user_id: string }>(
      `SELECT user_id FROM user_group_sets WHERE idp = $1 AND groups @> ARRAY[$2]::text[] ORDER BY user_id`,
      [idp, group],
    );
    return rows.map((r) => r.user_id);
  }
}
