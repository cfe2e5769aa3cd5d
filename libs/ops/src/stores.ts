import { IDENTITY_SCHEMA, KEYS_SCHEMA } from '@tollgate/contracts';
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
  if (!(WRITER_SCHEMAS as readonly string[]).includes(value)) throw usageError(`--store must be one of ${WRITER_SCHEMAS.join(', ')}`);
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
