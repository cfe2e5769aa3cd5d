import type { Sql } from './sql';

/** A SCIM user's attributes Tollgate keeps for the IdP (userName, name, emails…), next to the Tollgate user. */
export interface ScimUserRow {
  idp: string;
  userId: string;
  userName: string;
  externalId: string;
  /** The resource's other attributes, as last written by the IdP (no id, meta, active, groups, password). */
  attributes: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface ScimGroupRow {
  groupId: string;
  idp: string;
  displayName: string;
  externalId: string | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

interface UserDbRow {
  idp: string;
  user_id: string;
  user_name: string;
  external_id: string;
  attributes: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  version: number;
}
interface GroupDbRow {
  group_id: string;
  idp: string;
  display_name: string;
  external_id: string | null;
  created_at: Date;
  updated_at: Date;
  version: number;
}

const toUser = (r: UserDbRow): ScimUserRow => ({
  idp: r.idp,
  userId: r.user_id,
  userName: r.user_name,
  externalId: r.external_id,
  attributes: r.attributes,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});
const toGroup = (r: GroupDbRow): ScimGroupRow => ({
  groupId: r.group_id,
  idp: r.idp,
  displayName: r.display_name,
  externalId: r.external_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

/** Which unique index a write violated. */
export class ScimUniquenessError extends Error {
  constructor(readonly attribute: 'userName' | 'externalId' | 'displayName') {
    super(`${attribute} is already taken`);
  }
}

const uniqueIndex = (error: unknown): string | undefined =>
  (error as { code?: string } | null)?.code === '23505'
    ? ((error as { constraint?: string }).constraint ?? '')
    : undefined;

function rethrowUnique(error: unknown): never {
  const index = uniqueIndex(error);
  if (index === 'scim_users_user_name_idx') throw new ScimUniquenessError('userName');
  if (index === 'scim_users_external_id_idx' || index === 'scim_users_pkey')
    throw new ScimUniquenessError('externalId');
  if (index === 'scim_groups_display_name_idx') throw new ScimUniquenessError('displayName');
  throw error;
}

const USER_COLUMNS = 'idp, user_id, user_name, external_id, attributes, created_at, updated_at, version';
const GROUP_COLUMNS = 'group_id, idp, display_name, external_id, created_at, updated_at, version';

export class ScimStore {
  constructor(private readonly sql: Sql) {}

  // --- users --------------------------------------------------------------------------------------------

  async user(idp: string, userId: string): Promise<ScimUserRow | undefined> {
    const { rows } = await this.sql.query<UserDbRow>(
      `SELECT ${USER_COLUMNS} FROM scim_users WHERE idp = $1 AND user_id = $2`,
      [idp, userId],
    );
    return rows[0] && toUser(rows[0]);
  }

  async userByUserName(idp: string, userName: string): Promise<ScimUserRow | undefined> {
    const { rows } = await this.sql.query<UserDbRow>(
      `SELECT ${USER_COLUMNS} FROM scim_users WHERE idp = $1 AND lower(user_name) = lower($2)`,
      [idp, userName],
    );
    return rows[0] && toUser(rows[0]);
  }

  async userByExternalId(idp: string, externalId: string): Promise<ScimUserRow | undefined> {
    const { rows } = await this.sql.query<UserDbRow>(
      `SELECT ${USER_COLUMNS} FROM scim_users WHERE idp = $1 AND external_id = $2`,
      [idp, externalId],
    );
    return rows[0] && toUser(rows[0]);
  }

  /** Every SCIM user of the connector, in a stable order (creation, then id). */
  async users(idp: string): Promise<ScimUserRow[]> {
    const { rows } = await this.sql.query<UserDbRow>(
      `SELECT ${USER_COLUMNS} FROM scim_users WHERE idp = $1 ORDER BY created_at, user_id`,
      [idp],
    );
    return rows.map(toUser);
  }

  async insertUser(row: Omit<ScimUserRow, 'createdAt' | 'updatedAt' | 'version'>): Promise<ScimUserRow> {
    try {
      const { rows } = await this.sql.query<UserDbRow>(
        `INSERT INTO scim_users (idp, user_id, user_name, external_id, attributes) VALUES ($1, $2, $3, $4, $5::jsonb)
         RETURNING ${USER_COLUMNS}`,
        [row.idp, row.userId, row.userName, row.externalId, JSON.stringify(row.attributes)],
      );
      return toUser(rows[0]!);
    } catch (error) {
      rethrowUnique(error);
    }
  }

  /** Writes new attributes if the row is still at `version`; undefined when someone else wrote first. */
  async updateUser(
    idp: string,
    userId: string,
    version: number,
    values: { userName: string; attributes: Record<string, unknown> },
  ): Promise<ScimUserRow | undefined> {
    try {
      const { rows } = await this.sql.query<UserDbRow>(
        `UPDATE scim_users SET user_name = $4, attributes = $5::jsonb, updated_at = now(), version = version + 1
         WHERE idp = $1 AND user_id = $2 AND version = $3 RETURNING ${USER_COLUMNS}`,
        [idp, userId, version, values.userName, JSON.stringify(values.attributes)],
      );
      return rows[0] && toUser(rows[0]);
    } catch (error) {
      rethrowUnique(error);
    }
  }

  async deleteUser(idp: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.sql.query(`DELETE FROM scim_users WHERE idp = $1 AND user_id = $2`, [idp, userId]);
    return rowCount === 1;
  }

  // --- groups -------------------------------------------------------------------------------------------

  async group(idp: string, groupId: string): Promise<ScimGroupRow | undefined> {
    const { rows } = await this.sql.query<GroupDbRow>(
      `SELECT ${GROUP_COLUMNS} FROM scim_groups WHERE idp = $1 AND group_id = $2`,
      [idp, groupId],
    );
    return rows[0] && toGroup(rows[0]);
  }

  async groupByDisplayName(idp: string, displayName: string): Promise<ScimGroupRow | undefined> {
    const { rows } = await this.sql.query<GroupDbRow>(
      `SELECT ${GROUP_COLUMNS} FROM scim_groups WHERE idp = $1 AND display_name = $2`,
      [idp, displayName],
    );
    return rows[0] && toGroup(rows[0]);
  }

  async groups(idp: string): Promise<ScimGroupRow[]> {
    const { rows } = await this.sql.query<GroupDbRow>(
      `SELECT ${GROUP_COLUMNS} FROM scim_groups WHERE idp = $1 ORDER BY created_at, group_id`,
      [idp],
    );
    return rows.map(toGroup);
  }

  /** The SCIM groups of the connector among `names` (to show a user's `groups`). */
  async groupsNamed(idp: string, names: readonly string[]): Promise<ScimGroupRow[]> {
    if (names.length === 0) return [];
    const { rows } = await this.sql.query<GroupDbRow>(
      `SELECT ${GROUP_COLUMNS} FROM scim_groups WHERE idp = $1 AND display_name = ANY($2::text[]) ORDER BY display_name`,
      [idp, names],
    );
    return rows.map(toGroup);
  }

  async insertGroup(row: Pick<ScimGroupRow, 'groupId' | 'idp' | 'displayName' | 'externalId'>): Promise<ScimGroupRow> {
    try {
      const { rows } = await this.sql.query<GroupDbRow>(
        `INSERT INTO scim_groups (group_id, idp, display_name, external_id) VALUES ($1, $2, $3, $4) RETURNING ${GROUP_COLUMNS}`,
        [row.groupId, row.idp, row.displayName, row.externalId],
      );
      return toGroup(rows[0]!);
    } catch (error) {
      rethrowUnique(error);
    }
  }

  async updateGroup(
    idp: string,
    groupId: string,
    version: number,
    values: { displayName: string; externalId: string | null },
  ): Promise<ScimGroupRow | undefined> {
    try {
      const { rows } = await this.sql.query<GroupDbRow>(
        `UPDATE scim_groups SET display_name = $4, external_id = $5, updated_at = now(), version = version + 1
         WHERE idp = $1 AND group_id = $2 AND version = $3 RETURNING ${GROUP_COLUMNS}`,
        [idp, groupId, version, values.displayName, values.externalId],
      );
      return rows[0] && toGroup(rows[0]);
    } catch (error) {
      rethrowUnique(error);
    }
  }

  async deleteGroup(idp: string, groupId: string): Promise<boolean> {
    const { rowCount } = await this.sql.query(`DELETE FROM scim_groups WHERE idp = $1 AND group_id = $2`, [
      idp,
      groupId,
    ]);
    return rowCount === 1;
  }
}
