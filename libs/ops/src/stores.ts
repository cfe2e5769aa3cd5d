import {
  EVENT_WAIVED,
  eventWaived,
  IDENTITY_SCHEMA,
  KEYS_SCHEMA,
  waiversStream,
  type EventWaived,
} from '@tollgate/contracts';
import { createDataSource } from '@tollgate/database';
import { PostgresEventStore, type RecordedEvent } from '@tollgate/event-store';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { unreachableError, usageError } from './cli-errors';

export const WRITER_SCHEMAS = [KEYS_SCHEMA, IDENTITY_SCHEMA] as const;
export type WriterSchema = (typeof WRITER_SCHEMAS)[number];

export interface WriterStores {
  stores: Map<WriterSchema, PostgresEventStore>;
  dataSource: DataSource;
  close(): Promise<void>;
}

export function parseStore(value: string | undefined): WriterSchema[] {
  if (value === undefined) return [...WRITER_SCHEMAS];
  if (!(WRITER_SCHEMAS as readonly string[]).includes(value))
    throw usageError(`--store must be one of ${WRITER_SCHEMAS.join(', ')}`);
  return [value as WriterSchema];
}

/** Opens the writers' event stores (read-only use) on one database. */
export async function openWriterStores(url: string): Promise<WriterStores> {
  const dataSource = createDataSource({ url, migrations: [], name: 'tollgate-ops', poolSize: 2 });
  try {
    await dataSource.initialize();
  } catch (err) {
    throw unreachableError(`cannot reach PostgreSQL: ${(err as Error).message}`);
  }
  const registry = new Registry();
  const stores = new Map<WriterSchema, PostgresEventStore>();
  for (const schema of WRITER_SCHEMAS) stores.set(schema, new PostgresEventStore({ dataSource, schema, registry }));
  return { stores, dataSource, close: () => dataSource.destroy() };
}

/** Every committed event of a store in position order, page by page. */
export async function* readStore(store: PostgresEventStore, after = 0, pageSize = 1000): AsyncGenerator<RecordedEvent> {
  let position = after;
  for (;;) {
    const page = await store.readAll({ after: position, limit: pageSize });
    for (const event of page) yield event;
    if (page.length < pageSize) return;
    position = page[page.length - 1]!.position;
  }
}

/** An event and the store that holds it. */
export interface FoundEvent {
  schema: WriterSchema;
  event: RecordedEvent;
}

/** The event with this id, in whichever store holds it (an index lookup on `event_id`), or undefined. */
export async function findEvent(stores: WriterStores, eventId: string): Promise<FoundEvent | undefined> {
  for (const [schema, store] of stores.stores) {
    const rows: { position: string | number }[] = await stores.dataSource.query(
      `SELECT position FROM "${schema}".events WHERE event_id = $1`,
      [eventId],
    );
    if (!rows[0]) continue;
    const position = Number(rows[0].position);
    const [event] = await store.readAll({ after: position - 1, limit: 1 });
    if (event && event.id === eventId) return { schema, event };
  }
  return undefined;
}

/** A recorded waiver: the `EventWaived` event, its validated data and the store holding it. */
export interface RecordedWaiver {
  schema: WriterSchema;
  event: RecordedEvent;
  data: EventWaived;
}

/** Every valid `EventWaived` of the stores' waivers streams, oldest first per store. */
export async function readWaivers(stores: WriterStores): Promise<RecordedWaiver[]> {
  const out: RecordedWaiver[] = [];
  for (const [schema, store] of stores.stores) {
    const slice = await store.readStream(waiversStream(schema));
    for (const event of slice.events) {
      if (event.type !== EVENT_WAIVED) continue;
      const parsed = eventWaived.safeParse(event.data);
      if (parsed.success) out.push({ schema, event, data: parsed.data });
    }
  }
  return out;
}
