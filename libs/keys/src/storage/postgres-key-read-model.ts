import {
  KEYS_SCHEMA,
  type KeyCreated,
  type KeyEvent,
  type KeyRevoked,
  type KeyRotated,
  type KeyUse,
} from '@tollgate/contracts';
import type { DataSource } from 'typeorm';
import {
  storedKey,
  type DueRotation,
  type KeyReadModel,
  type KeyUsageStore,
  type StoredKey,
  type UserKeyCount,
} from './key-read-model';

const EVENTS = `"${KEYS_SCHEMA}".events`;
const USAGE = `"${KEYS_SCHEMA}".key_usage`;

/**
 * KeyCreated rows joined with their (first) KeyRevoked and their KeyRotated, and the stream's current
 * version (what a revocation or rotation must expect). `$where` filters the KeyCreated row `c`.
 */
const keysWhere = (where: string, order = 'c.position') => `
  SELECT c.data AS created, r.data AS revoked, r.event_id AS revoked_event_id, rot.data AS rotated,
         (SELECT max(v.stream_version) FROM ${EVENTS} v WHERE v.stream_id = c.stream_id) AS version, u.last_used_at
  FROM ${EVENTS} c
  LEFT JOIN LATERAL (
    SELECT data, event_id FROM ${EVENTS} x
    WHERE x.stream_id = c.stream_id AND x.type = 'KeyRevoked' ORDER BY x.stream_version LIMIT 1
  ) r ON true
  LEFT JOIN LATERAL (
    SELECT data FROM ${EVENTS} y
    WHERE y.stream_id = c.stream_id AND y.type = 'KeyRotated' ORDER BY y.stream_version LIMIT 1
  ) rot ON true
  LEFT JOIN ${USAGE} u ON u.key_id = c.data->>'keyId'
  WHERE c.type = 'KeyCreated' AND ${where}
  ORDER BY ${order}`;

interface KeyRow {
  created: KeyCreated;
  revoked: KeyRevoked | null;
  revoked_event_id: string | null;
  rotated: KeyRotated | null;
  version: number;
  last_used_at: Date | null;
}

const toKey = (row: KeyRow): StoredKey =>
  storedKey(
    row.created,
    row.revoked ? { data: row.revoked, eventId: row.revoked_event_id! } : null,
    Number(row.version),
    row.last_used_at === null ? null : new Date(row.last_used_at).toISOString(),
    row.rotated,
  );

/**
 * The read model as SQL over the keys service's own `events` table (indexed by migration
 * `KeysServiceTables…`). No projection to lag behind: a query sees every append that has committed.
 */
export class PostgresKeyReadModel implements KeyReadModel, KeyUsageStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * One statement for a whole batch; `GREATEST` (and the `WHERE`, which skips the write when nothing moves)
   * keeps every key's value monotonic whatever order batches arrive in. Rows are locked in key-id order
   * (`foldKeyUsage` sorts), so two keys replicas folding overlapping batches cannot deadlock.
   */
  async recordUsage(uses: readonly KeyUse[]): Promise<void> {
    if (uses.length === 0) return;
    await this.dataSource.query(
      `INSERT INTO ${USAGE} AS u (key_id, last_used_at)
       SELECT * FROM unnest($1::text[], $2::timestamptz[])
       ON CONFLICT (key_id) DO UPDATE SET last_used_at = GREATEST(u.last_used_at, EXCLUDED.last_used_at)
       WHERE u.last_used_at < EXCLUDED.last_used_at`,
      [uses.map((u) => u.keyId), uses.map((u) => u.lastUsedAt)],
    );
  }

  private async keys(sql: string, params: unknown[]): Promise<StoredKey[]> {
    const rows: KeyRow[] = await this.dataSource.query(sql, params);
    return rows.map(toKey);
  }

  async byId(keyId: string): Promise<StoredKey | undefined> {
    // The stream id is the key id's stream: uses the (stream_id, stream_version) unique index.
    return (await this.keys(keysWhere(`c.stream_id = $1`), [`key-${keyId}`]))[0];
  }

  async bySecretHash(secretHash: string): Promise<StoredKey | undefined> {
    return (await this.keys(keysWhere(`c.data->>'secretHash' = $1`), [secretHash]))[0];
  }

  userKeys(userId: string): Promise<StoredKey[]> {
    return this.keys(keysWhere(`c.data->>'userId' = $1 AND c.data->>'kind' = 'user-key'`), [userId]);
  }

  async unrevoked(owners: { userIds: readonly string[]; deploymentIds: readonly string[] }): Promise<StoredKey[]> {
    if (owners.userIds.length === 0 && owners.deploymentIds.length === 0) return [];
    const keys = await this.keys(
      keysWhere(
        `((c.data->>'userId' = ANY($1::text[]) AND c.data->>'kind' = 'user-key')
          OR (c.data->>'deploymentId' = ANY($2::text[]) AND c.data->>'kind' = 'access-key'))`,
      ),
      [owners.userIds, owners.deploymentIds],
    );
    return keys.filter((k) => k.revokedAt === null);
  }

  async countsByUser(now: string): Promise<UserKeyCount[]> {
    const rows: { user_id: string; active: string }[] = await this.dataSource.query(
      `SELECT c.data->>'userId' AS user_id,
              count(*) FILTER (WHERE r.event_id IS NULL AND (c.data->>'expiresAt' IS NULL OR c.data->>'expiresAt' > $1)) AS active
       FROM ${EVENTS} c
       LEFT JOIN LATERAL (
         SELECT event_id FROM ${EVENTS} x WHERE x.stream_id = c.stream_id AND x.type = 'KeyRevoked' LIMIT 1
       ) r ON true
       WHERE c.type = 'KeyCreated' AND c.data->>'kind' = 'user-key'
       GROUP BY 1 ORDER BY 1`,
      [now],
    );
    return rows.map((r) => ({ userId: r.user_id, active: Number(r.active) }));
  }

  async expiring(from: string, until: string, userId?: string): Promise<StoredKey[]> {
    const keys = await this.keys(
      keysWhere(
        `c.data->>'kind' = 'user-key' AND c.data->>'expiresAt' > $1 AND c.data->>'expiresAt' <= $2
         AND ($3::text IS NULL OR c.data->>'userId' = $3)`,
        `c.data->>'expiresAt', c.position`,
      ),
      [from, until, userId ?? null],
    );
    return keys.filter((k) => k.revokedAt === null);
  }

  async dueRotations(now: string, limit: number): Promise<DueRotation[]> {
    // Uses the partial index `key_rotated_revokes_idx` (migration RotationIndex…): only rotations are scanned.
    const rows: { key_id: string; event_id: string; revokes_at: string }[] = await this.dataSource.query(
      `SELECT y.data->>'keyId' AS key_id, y.event_id, y.data->>'revokesAt' AS revokes_at
       FROM ${EVENTS} y
       WHERE y.type = 'KeyRotated' AND y.data->>'revokesAt' <= $1
         AND NOT EXISTS (SELECT 1 FROM ${EVENTS} x WHERE x.stream_id = y.stream_id AND x.type = 'KeyRevoked')
       ORDER BY y.data->>'revokesAt', y.position
       LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => ({ keyId: r.key_id, eventId: r.event_id, revokesAt: r.revokes_at }));
  }

  async accessKeyEvents(deploymentId: string): Promise<KeyEvent[]> {
    const rows: { type: KeyEvent['type']; data: KeyEvent['data'] }[] = await this.dataSource.query(
      `SELECT e.type, e.data FROM ${EVENTS} e
       WHERE e.stream_id IN (
         SELECT c.stream_id FROM ${EVENTS} c
         WHERE c.type = 'KeyCreated' AND c.data->>'deploymentId' = $1 AND c.data->>'kind' = 'access-key'
       )
       ORDER BY e.position`,
      [deploymentId],
    );
    return rows.map((r) => ({ type: r.type, data: r.data }) as KeyEvent);
  }
}
