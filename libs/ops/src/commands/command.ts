import { type ParseArgsConfig } from 'node:util';
import type { TollgateConfig } from '@tollgate/config';
import { type RecordedEvent } from '@tollgate/event-store';
import { CliError } from '../cli-errors';
import { foldUntil } from '../fold';
import { TollgateApi } from '../http-client';
import type { Output } from '../output';
import { openWriterStores, readStore, readWaivers, type RecordedWaiver, type WriterStores } from '../stores';
import { toModelWaivers } from '../waivers';

/** What a command runs with: validated configuration, a database URL getter, output, stdin. */
export interface CliContext {
  config: TollgateConfig;
  /** Resolves the database (DATABASE_URL, or the embedded one under TOLLGATE_DATA_DIR while the product is stopped). */
  database(): Promise<string>;
  out: Output;
  readStdin(): Promise<string>;
}

/** One `tollgate <group> <name>` command: its help, its options and what it runs. */
export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  positionals: number | [number, number];
  run(
    args: { values: Record<string, string | boolean | undefined>; positionals: string[] },
    ctx: CliContext,
  ): Promise<number>;
}

export const common = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
export const apiOptions = {
  url: { type: 'string' },
  key: { type: 'string' },
} as const;

/** Every store's events, each in position order. */
export const allEvents = (stores: WriterStores['stores']) => [...stores.values()].map((store) => readStore(store));

/** The access model as of `at`, folded from the stores; operators' waivers are honoured (a waived poison event has no effect). */
export async function foldStores(stores: WriterStores, at: number, progress: boolean) {
  return foldUntil(allEvents(stores.stores), at, progress, toModelWaivers(await readWaivers(stores)));
}

export async function withStores<T>(ctx: CliContext, fn: (stores: WriterStores) => Promise<T>): Promise<T> {
  const stores = await openWriterStores(await ctx.database());
  try {
    return await fn(stores);
  } catch (err) {
    if (/relation ".*events" does not exist/.test((err as Error).message)) {
      throw new CliError('the event tables do not exist yet: run `tollgate migrate` (or start the product once)');
    }
    throw err;
  } finally {
    await stores.close();
  }
}

export function api(values: Record<string, string | boolean | undefined>, ctx: CliContext): TollgateApi {
  const url = (values.url as string | undefined) ?? `http://127.0.0.1:${ctx.config.http.port}`;
  const key = (values.key as string | undefined) ?? ctx.config.bootstrapAdminKey;
  return new TollgateApi(url, key);
}

export const describeEvent = (e: RecordedEvent) =>
  `${String(e.position).padStart(6)}  ${e.recordedAt.toISOString()}  ${e.type.padEnd(28)} ${e.streamId}@${e.streamVersion}  by ${e.metadata.actor} via ${e.metadata.channel}  ${e.id}`;

export const eventJson = (e: RecordedEvent) => ({ ...e, recordedAt: e.recordedAt.toISOString() });

export const describeWaiver = (w: RecordedWaiver) =>
  `by ${w.data.waivedBy} (${w.event.metadata.actor} via ${w.event.metadata.channel}) at ${w.event.recordedAt.toISOString()}, ` +
  `EventWaived ${w.event.id} (${w.schema} ${w.event.streamId}@${w.event.streamVersion}); reason: ${JSON.stringify(w.data.reason)}`;

export const waiverJson = (w: RecordedWaiver) => ({
  waiverEventId: w.event.id,
  store: w.schema,
  streamId: w.event.streamId,
  streamVersion: w.event.streamVersion,
  waivedBy: w.data.waivedBy,
  actor: w.event.metadata.actor,
  channel: w.event.metadata.channel,
  waivedAt: w.event.recordedAt.toISOString(),
  reason: w.data.reason,
});
