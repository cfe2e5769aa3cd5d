import type { DataSource } from 'typeorm';
import { EVENT_COLUMNS, type EventRow, rowToEvent, withClient } from './pg';
import { storeTables, type StoreTables } from './schema';
import type { RecordedEvent } from './types';

/**
 * Read-only access to one writer schema's event table for processes that do not write it (the access model
 * looking for an operator's waiver in embedded mode, the ops CLI). The table's layout stays this library's
 * business: readers ask for a stream or an event, never write SQL on another service's schema.
 */
export class EventTableReader {
  private readonly t: StoreTables;
  private readonly source: string;

  constructor(private readonly options: { dataSource: DataSource; schema: string }) {
    this.t = storeTables(options.schema);
    this.source = `/tollgate/${options.schema}`;
  }

  /** Every event of a stream, in stream order. */
  async readStream(streamId: string): Promise<RecordedEvent[]> {
    return withClient(this.options.dataSource, async (client) => {
      const { rows } = await client.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ${this.t.events} WHERE stream_id = $1 ORDER BY stream_version`,
        [streamId],
      );
      return rows.map((r) => rowToEvent(r, this.source));
    });
  }

  /** The stream version of the event with this id, or null when this table does not hold it. */
  async streamVersionOf(eventId: string): Promise<number | null> {
    return withClient(this.options.dataSource, async (client) => {
      const { rows } = await client.query<{ stream_version: string | number }>(
        `SELECT stream_version FROM ${this.t.events} WHERE event_id = $1`,
        [eventId],
      );
      return rows[0] ? Number(rows[0].stream_version) : null;
    });
  }
}
