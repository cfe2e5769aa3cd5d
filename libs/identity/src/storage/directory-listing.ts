import type { UserKind } from '@tollgate/contracts';
import type { Sql } from './sql';

/** One listed object: the position of its creation event (its place in creation order) and its stream. */
export interface ListedStream {
  position: number;
  streamId: string;
}

/** Who is listing: a Tollgate admin sees everything; anyone else only what their collaborations show. */
export interface Lister {
  userId: string;
  admin: boolean;
}

export interface Window {
  /** Creation-event position after which the page starts (0: from the beginning). */
  after: number;
  /** How many rows to return (the caller asks one more than a page to learn whether another follows). */
  take: number;
}

/**
 * The directory's list queries: creation events in creation order (their log position), filtered, with
 * visibility part of every query. PostgreSQL below; in memory in `in-memory-directory-listing.ts`; one
 * contract (`directory-listing.contract.ts`).
 */
/** `GET /v1/users`' filters, combined with AND. */
export interface UserFilter {
  /** A case-insensitive substring of the name or email. */
  q?: string;
  kind?: UserKind;
  /** A Tollgate admin, or not (fixed at creation). */
  admin?: boolean;
  /** Deactivated now, or not: the latest of `UserDeactivated` and `UserReactivated` decides. */
  status?: 'active' | 'deactivated';
}

export interface DirectoryListing {
  /** Users (the caller checks that the lister is an admin) that match `filter`. */
  users(filter: UserFilter, window: Window): Promise<ListedStream[]>;
  /** Projects the lister collaborates on (every project for an admin) whose name contains `q`. */
  projects(lister: Lister, filter: { q?: string }, window: Window): Promise<ListedStream[]>;
  /**
   * Deployments of the projects the lister collaborates on (all for an admin), of project `projectId`, whose
   * current name or one of whose current hosts contains `q`.
   */
  deployments(lister: Lister, filter: { projectId?: string; q?: string }, window: Window): Promise<ListedStream[]>;
}

/**
 * The projects `$1` collaborates on now: per project, the latest collaborator event naming the user (the
 * creator is named by `ProjectCreated.ownerId`) is not a removal.
 */
const MY_PROJECTS = `
  SELECT stream_id FROM (
    SELECT DISTINCT ON (stream_id) stream_id, type FROM events
    WHERE type IN ('ProjectCreated', 'CollaboratorSet', 'CollaboratorRemoved')
      AND stream_id LIKE 'project-%'
      AND coalesce(data->>'userId', data->>'ownerId') = $1
    ORDER BY stream_id, stream_version DESC
  ) latest
  WHERE type <> 'CollaboratorRemoved'`;

/** `text` contains `$n` case-insensitively (strpos: no LIKE wildcards to escape). */
const contains = (text: string, param: string) => `strpos(lower(${text}), lower(${param}::text)) > 0`;

/**
 * The list queries of the directory, over the identity service's own event log: the creation events, in
 * creation order (the log position, unique), filtered by what users and projects cannot change after
 * creation (a user's name, email and kind, a project's name, a deployment's project) or, for deployments,
 * by their latest state. Visibility is part of every query; the directory re-checks each folded object.
 * Consistent with every append that has returned, like `GET` by id.
 */
export class PostgresDirectoryListing implements DirectoryListing {
  constructor(private readonly sql: Sql) {}

  private async rows(text: string, params: unknown[]): Promise<ListedStream[]> {
    const { rows } = await this.sql.query<{ position: string; stream_id: string }>(text, params);
    return rows.map((r) => ({ position: Number(r.position), streamId: r.stream_id }));
  }

  /**
   * Users (the caller checks that the lister is an admin) whose name or email contains `q`, of `kind`, admin
   * or not (fixed at creation), active or deactivated now (the latest of `UserDeactivated` and
   * `UserReactivated` on the user's stream).
   */
  users(filter: UserFilter, window: Window): Promise<ListedStream[]> {
    return this.rows(
      `SELECT c.position, c.stream_id FROM events c
       WHERE c.type = 'UserCreated' AND c.stream_id LIKE 'user-%' AND c.position > $1
         AND ($2::text IS NULL OR ${contains(`c.data->>'name'`, '$2')} OR ${contains(`coalesce(c.data->>'email', '')`, '$2')})
         AND ($3::text IS NULL OR c.data->>'kind' = $3)
         AND ($5::boolean IS NULL OR (c.data->>'admin')::boolean = $5)
         AND ($6::text IS NULL OR $6 = (
           SELECT CASE WHEN s.type = 'UserDeactivated' THEN 'deactivated' ELSE 'active' END
           FROM (SELECT 'UserCreated' AS type, 0 AS v
                 UNION ALL
                 SELECT x.type, x.stream_version FROM events x
                 WHERE x.stream_id = c.stream_id AND x.type IN ('UserDeactivated', 'UserReactivated')) s
           ORDER BY s.v DESC LIMIT 1))
       ORDER BY c.position LIMIT $4`,
      [window.after, filter.q ?? null, filter.kind ?? null, window.take, filter.admin ?? null, filter.status ?? null],
    );
  }

  /** Projects the lister collaborates on (every project for an admin) whose name contains `q`. */
  projects(lister: Lister, filter: { q?: string }, window: Window): Promise<ListedStream[]> {
    return this.rows(
      `SELECT c.position, c.stream_id FROM events c
       WHERE c.type = 'ProjectCreated' AND c.stream_id LIKE 'project-%' AND c.position > $2
         AND ($3::boolean OR c.stream_id IN (${MY_PROJECTS}))
         AND ($4::text IS NULL OR ${contains(`c.data->>'name'`, '$4')})
       ORDER BY c.position LIMIT $5`,
      [lister.userId, window.after, lister.admin, filter.q ?? null, window.take],
    );
  }

  /**
   * Deployments of the projects the lister collaborates on (all for an admin), of project `projectId`, whose
   * current name or one of whose current hosts contains `q`.
   */
  deployments(lister: Lister, filter: { projectId?: string; q?: string }, window: Window): Promise<ListedStream[]> {
    return this.rows(
      `SELECT c.position, c.stream_id FROM events c
       WHERE c.type = 'DeploymentCreated' AND c.stream_id LIKE 'deployment-%' AND c.position > $2
         AND ($3::boolean OR 'project-' || (c.data->>'projectId') IN (${MY_PROJECTS}))
         AND ($4::text IS NULL OR c.data->>'projectId' = $4)
         AND ($5::text IS NULL OR EXISTS (
           SELECT 1 FROM (
             SELECT data FROM events l WHERE l.stream_id = c.stream_id ORDER BY l.stream_version DESC LIMIT 1
           ) latest
           WHERE ${contains(`latest.data->>'name'`, '$5')}
              OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(latest.data->'hosts') h WHERE ${contains('h', '$5')})
         ))
       ORDER BY c.position LIMIT $6`,
      [lister.userId, window.after, lister.admin, filter.projectId ?? null, filter.q ?? null, window.take],
    );
  }
}
