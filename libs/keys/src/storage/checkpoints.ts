import { KEYS_SCHEMA } from '@tollgate/contracts';
import type { ProjectionPosition } from '@tollgate/event-store';
import type { DataSource } from 'typeorm';

/** Where a reactor (a projection whose effect is appending events) keeps its position. */
export interface CheckpointStore {
  load(name: string): Promise<ProjectionPosition | undefined>;
  save(name: string, position: ProjectionPosition): Promise<void>;
}

export class PostgresCheckpointStore implements CheckpointStore {
  constructor(private readonly dataSource: DataSource) {}

  async load(name: string): Promise<ProjectionPosition | undefined> {
    const rows: { position: ProjectionPosition }[] = await this.dataSource.query(
      `SELECT position FROM "${KEYS_SCHEMA}".reactor_checkpoints WHERE name = $1`,
      [name],
    );
    return rows[0]?.position;
  }

  async save(name: string, position: ProjectionPosition): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO "${KEYS_SCHEMA}".reactor_checkpoints (name, position) VALUES ($1, $2::jsonb)
       ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
      [name, JSON.stringify(position)],
    );
  }
}
