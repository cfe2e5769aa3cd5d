import { eventToMessage, PartitionPublisher, type RecordedEvent, topicPartitions } from '@tollgate/event-store';
import { classifyKafkaConnectError, createKafka } from '@tollgate/platform';
import { EXIT, notFoundError, unreachableError, usageError } from '../cli-errors';
import { Progress } from '../progress';
import { findEvent, parseStore, readStore, type RecordedWaiver } from '../stores';
import { checkWaiveRequest, waiveEvent, waiverOf } from '../waivers';
import {
  type CliContext,
  type Command,
  withStores,
  describeEvent,
  eventJson,
  describeWaiver,
  waiverJson,
} from './command';

/** `tollgate events …`: read the event log, waive a poison event, republish to Kafka. */
export const EVENTS_COMMANDS: Record<string, Command> = {
  'events tail': {
    summary: "print events from the writers' stores, oldest first (optionally following new ones)",
    usage:
      'tollgate events tail [--store keys|identity] [--type T] [--stream S] [--from POSITION] [--limit N] [--follow]',
    options: {
      store: { type: 'string' },
      type: { type: 'string' },
      stream: { type: 'string' },
      from: { type: 'string' },
      limit: { type: 'string' },
      follow: { type: 'boolean' },
    },
    positionals: 0,
    async run({ values }, ctx) {
      const schemas = parseStore(values.store as string | undefined);
      const from = values.from === undefined ? 0 : Number(values.from);
      const limit = values.limit === undefined ? Infinity : Number(values.limit);
      if (!Number.isInteger(from) || from < 0) throw usageError('--from must be a position (an integer ≥ 0)');
      if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1))
        throw usageError('--limit must be an integer ≥ 1');
      return withStores(ctx, async ({ stores }) => {
        const after = new Map(schemas.map((s) => [s, Math.max(0, from - 1)]));
        let printed = 0;
        for (;;) {
          for (const schema of schemas) {
            for await (const event of readStore(stores.get(schema)!, after.get(schema))) {
              after.set(schema, event.position);
              if (values.type && event.type !== values.type) continue;
              if (values.stream && event.streamId !== values.stream) continue;
              if (ctx.out.json) ctx.out.line(JSON.stringify({ store: schema, ...eventJson(event) }));
              else ctx.out.line(`${schema.padEnd(8)} ${describeEvent(event)}`);
              if (++printed >= limit) return EXIT.ok;
            }
          }
          if (!values.follow) return EXIT.ok;
          await new Promise((r) => setTimeout(r, 500));
        }
      });
    },
  },

  'events show': {
    summary: 'one event in full, by position (with --store) or by event id',
    usage: 'tollgate events show <position|evt_id> [--store keys|identity]',
    options: { store: { type: 'string' } },
    positionals: 1,
    async run({ values, positionals }, ctx) {
      const ref = positionals[0]!;
      const byPosition = /^\d+$/.test(ref);
      if (!byPosition && !/^evt_/.test(ref)) throw usageError('give a position (integer) or an event id (evt_…)');
      const schemas = parseStore(values.store as string | undefined);
      if (byPosition && schemas.length > 1) throw usageError('a position is per store: add --store keys|identity');
      return withStores(ctx, async (opened) => {
        if (!byPosition) {
          const found = await findEvent(opened, ref);
          if (found && schemas.includes(found.schema))
            return show(found.schema, found.event, await waiverOf(opened, found.event), ctx);
          throw notFoundError(`no event ${ref}`);
        }
        const store = opened.stores.get(schemas[0]!)!;
        const [event] = await store.readAll({ after: Number(ref) - 1, limit: 1 });
        if (event && event.position === Number(ref))
          return show(schemas[0]!, event, await waiverOf(opened, event), ctx);
        throw notFoundError(`no event ${ref}`);
      });
    },
  },

  'events waive': {
    summary:
      "record an operator's decision that a poison event is applied without effect (EventWaived); halted replicas resume",
    usage: 'tollgate events waive <evt_id> --reason "<why>" --by <operator> [--force]',
    options: { reason: { type: 'string' }, by: { type: 'string' }, force: { type: 'boolean' } },
    positionals: 1,
    async run({ values, positionals }, ctx) {
      const request = {
        eventId: positionals[0]!,
        reason: values.reason as string | undefined,
        by: values.by as string | undefined,
        force: values.force === true,
      };
      checkWaiveRequest(request); // usage errors before any connection
      return withStores(ctx, async (stores) => {
        const { appended, target, waiver } = await waiveEvent(stores, request);
        const { event } = target;
        if (ctx.out.json) {
          ctx.out.data({
            appended,
            event: {
              store: target.schema,
              id: event.id,
              type: event.type,
              streamId: event.streamId,
              streamVersion: event.streamVersion,
              position: event.position,
            },
            waiver: waiverJson(waiver),
          });
          return EXIT.ok;
        }
        const what = `${event.id} (${event.type} ${event.streamId}@${event.streamVersion}, ${target.schema} position ${event.position})`;
        if (!appended) {
          ctx.out.line(`${what} was already waived: ${describeWaiver(waiver)}; nothing appended`);
          return EXIT.ok;
        }
        ctx.out.line(`waived ${what}: recorded ${describeWaiver(waiver)}`);
        ctx.out.line(
          `replicas halted on it find the waiver in the event tables and resume within seconds (tollgate projection status); every other consumer reads it from the ${target.schema} log`,
        );
        return EXIT.ok;
      });
    },
  },

  'events republish': {
    summary: 'publish events from a store to Kafka again, from a position (consumers ignore duplicates)',
    usage: 'tollgate events republish --store keys|identity --from POSITION [--topic T]',
    options: { store: { type: 'string' }, from: { type: 'string' }, topic: { type: 'string' } },
    positionals: 0,
    async run({ values }, ctx) {
      const [schema] = parseStore(values.store as string | undefined);
      if (values.store === undefined) throw usageError('--store is required');
      const from = Number(values.from);
      if (values.from === undefined || !Number.isInteger(from) || from < 1)
        throw usageError('--from must be a position ≥ 1');
      if (!ctx.config.kafka) throw usageError('KAFKA_BROKERS is not set: there is no Kafka to republish to');
      const topic = (values.topic as string | undefined) ?? `tollgate.${schema}.v1`;
      const kafka = createKafka(ctx.config.kafka, { clientSuffix: 'ops', retry: { retries: 2 } });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      try {
        await producer.connect();
      } catch (err) {
        const refused = classifyKafkaConnectError(ctx.config.kafka, err);
        throw unreachableError(refused?.message ?? `cannot reach Kafka: ${(err as Error).message}`);
      }
      try {
        // One send per partition: a multi-partition send can lose records during a leader change (see
        // PartitionPublisher); a republish exists to repair exactly such losses.
        const admin = kafka.admin();
        await admin.connect();
        const publisher = new PartitionPublisher(
          topic,
          await topicPartitions(admin, topic).finally(() => admin.disconnect()),
        );
        return await withStores(ctx, async ({ stores }) => {
          const progress = new Progress(
            'republishing',
            undefined,
            process.stderr,
            !ctx.out.json && Boolean(process.stderr.isTTY),
          );
          let count = 0;
          let batch: RecordedEvent[] = [];
          const flush = async () => {
            if (batch.length) await publisher.publish(producer, batch.map(eventToMessage));
            batch = [];
          };
          for await (const event of readStore(stores.get(schema!)!, from - 1)) {
            batch.push(event);
            count += 1;
            if (batch.length === 500) await flush();
            progress.update(count);
          }
          await flush();
          progress.done();
          if (ctx.out.json) ctx.out.data({ store: schema, topic, from, republished: count });
          else ctx.out.line(`republished ${count} events of ${schema} from position ${from} to ${topic}`);
          return EXIT.ok;
        });
      } finally {
        await producer.disconnect();
      }
    },
  },
};

async function show(
  schema: string,
  event: RecordedEvent,
  waiver: RecordedWaiver | undefined,
  ctx: CliContext,
): Promise<number> {
  if (ctx.out.json)
    ctx.out.data({ store: schema, ...eventJson(event), ...(waiver ? { waiver: waiverJson(waiver) } : {}) });
  else {
    ctx.out.line(`${schema} ${describeEvent(event)}`);
    ctx.out.line(JSON.stringify({ data: event.data, metadata: event.metadata }, null, 2));
    if (waiver) ctx.out.line(`WAIVED (applied without effect): ${describeWaiver(waiver)}`);
  }
  return EXIT.ok;
}
