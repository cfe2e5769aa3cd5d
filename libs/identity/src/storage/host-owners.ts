import type { Sql } from './sql';

/**
 * Which project owns each host (CONTRACT.md section 3): the project whose deployment first named it. A
 * claim is one row per host under a primary key, inserted before the deployment's event is appended, so two
 * projects racing for a fresh host cannot both win: the second insert waits for the first and finds it.
 *
 * A claim is never released, also not when the owning project's last deployment stops naming the host
 * (docs/security.md, "Host ownership"): clients and DNS still point at a host its deployments just left, and
 * the moment between "removed" and "added again" is exactly when another project would take it over.
 */
export interface HostOwnerStore {
  /**
   * Claims every unowned host in `hosts` for `projectId` and hands the owner of each (host → project id) to
   * `accept`, all at once: when `accept` throws, nothing is claimed. A concurrent claim of the same fresh host
   * waits for this one to be kept or undone.
   */
  claim(
    hosts: readonly string[],
    projectId: string,
    accept: (owners: ReadonlyMap<string, string>) => Promise<void>,
  ): Promise<void>;
}

/** Host owners in PostgreSQL: one row per host, claimed and checked in one transaction. */
export class PostgresHostOwners implements HostOwnerStore {
  constructor(private readonly sql: Sql) {}

  async claim(
    hosts: readonly string[],
    projectId: string,
    accept: (owners: ReadonlyMap<string, string>) => Promise<void>,
  ): Promise<void> {
    const distinct = [...new Set(hosts)].sort(); // one order for everyone: two claims cannot deadlock
    if (distinct.length === 0) return;
    await this.sql.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO host_owners (host, project_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`,
        [distinct, projectId],
      );
      const { rows } = await tx.query<{ host: string; project_id: string }>(
        `SELECT host, project_id FROM host_owners WHERE host = ANY($1::text[])`,
        [distinct],
      );
      await accept(new Map(rows.map((r) => [r.host, r.project_id])));
    });
  }
}
