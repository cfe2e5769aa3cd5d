import type { Route } from '../domain/routes';
import type { Sql } from './sql';

/**
 * Reservations that make uniqueness hold under concurrency: a row is inserted (unique index) before the
 * event that needs it is appended, and released if that append does not happen. A crash between the two
 * leaves an orphan; a reservation older than `ORPHAN_AGE_SECONDS` whose holder does not actually use it
 * (checked against the event streams by the caller) may be taken over with `takeOver*`.
 */
export const ORPHAN_AGE_SECONDS = 60;

export interface RouteConflict extends Route {
  heldBy: string;
  /** Older than the orphan age. */
  old: boolean;
}

export type Reserved = { ok: true } | { ok: false; heldBy: string; old: boolean };

/** The reservations the directory services take; PostgreSQL below, in memory in `in-memory-reservations.ts`. */
export interface ReservationStore {
  /** Reserves `name` for `userId` (already its own: ok), or says who holds it and whether that is old. */
  reserveUserName(name: string, userId: string): Promise<Reserved>;
  releaseUserName(name: string, userId: string): Promise<void>;
  /** Gives an orphaned name to `userId` if `orphanHolder` still holds it. */
  takeOverUserName(name: string, orphanHolder: string, userId: string): Promise<boolean>;
  findSubject(idp: string, subject: string): Promise<{ userId: string; old: boolean } | undefined>;
  linkSubject(idp: string, subject: string, userId: string): Promise<Reserved>;
  unlinkSubject(idp: string, subject: string, userId: string): Promise<void>;
  takeOverSubject(idp: string, subject: string, orphanHolder: string, userId: string): Promise<boolean>;
  /**
   * Reserves every route for `deploymentId`, all or nothing. Returns the routes newly reserved (those the
   * deployment already held are not repeated), or the conflicts with other deployments (nothing reserved).
   */
  reserveRoutes(
    deploymentId: string,
    routes: readonly Route[],
  ): Promise<{ reserved: Route[] } | { conflicts: RouteConflict[] }>;
  releaseRoutes(deploymentId: string, routes: readonly Route[]): Promise<void>;
  takeOverRoute(route: Route, orphanHolder: string, deploymentId: string): Promise<boolean>;
}

const routeKey = (r: Route): string => `${r.host}\u0000${r.pathPrefix}`;

/** Reservations in PostgreSQL: a unique index per kind, so two concurrent reservations cannot both win. */
export class PostgresReservations implements ReservationStore {
  constructor(private readonly sql: Sql) {}

  // --- user names -------------------------------------------------------------------------------------

  async reserveUserName(name: string, userId: string): Promise<Reserved> {
    const inserted = await this.sql.query(
      `INSERT INTO user_names (name, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING name`,
      [name, userId],
    );
    if (inserted.rowCount === 1) return { ok: true };
    const { rows } = await this.sql.query<{ user_id: string; old: boolean }>(
      `SELECT user_id, reserved_at < now() - make_interval(secs => $2) AS old FROM user_names WHERE name = $1`,
      [name, ORPHAN_AGE_SECONDS],
    );
    if (rows.length === 0) return this.reserveUserName(name, userId); // released meanwhile
    if (rows[0]!.user_id === userId) return { ok: true };
    return { ok: false, heldBy: rows[0]!.user_id, old: rows[0]!.old };
  }

  async releaseUserName(name: string, userId: string): Promise<void> {
    await this.sql.query(`DELETE FROM user_names WHERE name = $1 AND user_id = $2`, [name, userId]);
  }

  /** Gives an orphaned name to `userId` if `orphanHolder` still holds it. */
  async takeOverUserName(name: string, orphanHolder: string, userId: string): Promise<boolean> {
    const r = await this.sql.query(
      `UPDATE user_names SET user_id = $3, reserved_at = now() WHERE name = $1 AND user_id = $2`,
      [name, orphanHolder, userId],
    );
    return r.rowCount === 1;
  }

  // --- (idp, subject) links --------------------------------------------------------------------------

  async findSubject(idp: string, subject: string): Promise<{ userId: string; old: boolean } | undefined> {
    const { rows } = await this.sql.query<{ user_id: string; old: boolean }>(
      `SELECT user_id, reserved_at < now() - make_interval(secs => $3) AS old
       FROM external_subjects WHERE idp = $1 AND subject = $2`,
      [idp, subject, ORPHAN_AGE_SECONDS],
    );
    return rows[0] ? { userId: rows[0].user_id, old: rows[0].old } : undefined;
  }

  async linkSubject(idp: string, subject: string, userId: string): Promise<Reserved> {
    const inserted = await this.sql.query(
      `INSERT INTO external_subjects (idp, subject, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING user_id`,
      [idp, subject, userId],
    );
    if (inserted.rowCount === 1) return { ok: true };
    const found = await this.findSubject(idp, subject);
    if (!found) return this.linkSubject(idp, subject, userId);
    if (found.userId === userId) return { ok: true };
    return { ok: false, heldBy: found.userId, old: found.old };
  }

  async unlinkSubject(idp: string, subject: string, userId: string): Promise<void> {
    await this.sql.query(`DELETE FROM external_subjects WHERE idp = $1 AND subject = $2 AND user_id = $3`, [
      idp,
      subject,
      userId,
    ]);
  }

  async takeOverSubject(idp: string, subject: string, orphanHolder: string, userId: string): Promise<boolean> {
    const r = await this.sql.query(
      `UPDATE external_subjects SET user_id = $4, reserved_at = now() WHERE idp = $1 AND subject = $2 AND user_id = $3`,
      [idp, subject, orphanHolder, userId],
    );
    return r.rowCount === 1;
  }

  // --- host + path prefix routes ---------------------------------------------------------------------

  /**
   * Reserves every route for `deploymentId`, all or nothing. Returns the routes newly reserved (those the
   * deployment already held are not repeated), or the conflicts with other deployments (nothing reserved).
   */
  async reserveRoutes(
    deploymentId: string,
    routes: readonly Route[],
  ): Promise<{ reserved: Route[] } | { conflicts: RouteConflict[] }> {
    if (routes.length === 0) return { reserved: [] };
    return this.sql
      .transaction(async (tx) => {
        const reserved: Route[] = [];
        const conflicts: RouteConflict[] = [];
        // One order for everyone, so two overlapping reservations cannot deadlock.
        for (const route of dedupe(routes).sort((a, b) => (routeKey(a) < routeKey(b) ? -1 : 1))) {
          const inserted = await tx.query(
            `INSERT INTO deployment_routes (host, path_prefix, deployment_id) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING host`,
            [route.host, route.pathPrefix, deploymentId],
          );
          if (inserted.rowCount === 1) {
            reserved.push(route);
            continue;
          }
          const { rows } = await tx.query<{ deployment_id: string; old: boolean }>(
            `SELECT deployment_id, reserved_at < now() - make_interval(secs => $3) AS old
           FROM deployment_routes WHERE host = $1 AND path_prefix = $2`,
            [route.host, route.pathPrefix, ORPHAN_AGE_SECONDS],
          );
          const holder = rows[0];
          if (holder && holder.deployment_id !== deploymentId)
            conflicts.push({ ...route, heldBy: holder.deployment_id, old: holder.old });
        }
        if (conflicts.length > 0) throw new RouteConflicts(conflicts);
        return { reserved };
      })
      .catch((error: unknown) => {
        if (error instanceof RouteConflicts) return { conflicts: error.conflicts };
        throw error;
      });
  }

  async releaseRoutes(deploymentId: string, routes: readonly Route[]): Promise<void> {
    for (const route of dedupe(routes)) {
      await this.sql.query(
        `DELETE FROM deployment_routes WHERE host = $1 AND path_prefix = $2 AND deployment_id = $3`,
        [route.host, route.pathPrefix, deploymentId],
      );
    }
  }

  async takeOverRoute(route: Route, orphanHolder: string, deploymentId: string): Promise<boolean> {
    const r = await this.sql.query(
      `UPDATE deployment_routes SET deployment_id = $4, reserved_at = now()
       WHERE host = $1 AND path_prefix = $2 AND deployment_id = $3`,
      [route.host, route.pathPrefix, orphanHolder, deploymentId],
    );
    return r.rowCount === 1;
  }
}

class RouteConflicts extends Error {
  constructor(readonly conflicts: RouteConflict[]) {
    super('route conflicts');
  }
}

function dedupe(routes: readonly Route[]): Route[] {
  const seen = new Map<string, Route>();
  for (const r of routes) seen.set(routeKey(r), r);
  return [...seen.values()];
}
