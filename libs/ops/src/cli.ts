import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AccessModel, AccessModelRuntime, keyState } from '@tollgate/access-model';
import type { TollgateConfig } from '@tollgate/config';
import { eventToMessage, type RecordedEvent } from '@tollgate/event-store';
import { createLogger, createMetricsRegistry } from '@tollgate/platform';
import { Kafka, logLevel } from 'kafkajs';
import { whoCan, why } from './audit';
import { CliError, EXIT, notFoundError, parseTime, unreachableError, usageError } from './cli-errors';
import { foldUntil } from './fold';
import { TollgateApi } from './http-client';
import { runAllMigrations } from './migrate';
import type { Output } from './output';
import { Progress } from './progress';
import { scanText } from './scan';
import {
  findEvent,
  openWriterStores,
  parseStore,
  readStore,
  readWaivers,
  type RecordedWaiver,
  type WriterStores,
} from './stores';
import {
  accessModelReadiness,
  checkWaiveRequest,
  explainProjection,
  exitForStatus,
  toModelWaivers,
  waiveCommand,
  waiveEvent,
  waiverOf,
} from './waivers';

/** What a command runs with: validated configuration, a database URL getter, output, stdin. */
export interface CliContext {
  config: TollgateConfig;
  /** Resolves the database (DATABASE_URL, or the embedded one under TOLLGATE_DATA_DIR while the product is stopped). */
  database(): Promise<string>;
  out: Output;
  readStdin(): Promise<string>;
}

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  positionals: number | [number, number];
  run(
    args: { values: Record<string, string | boolean | undefined>; positionals: string[] },
    ctx: CliContext,
  ): Promise<number>;
}

const common = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
const apiOptions = {
  url: { type: 'string' },
  key: { type: 'string' },
} as const;

/** Every store's events, each in position order. */
const allEvents = (stores: WriterStores['stores']) => [...stores.values()].map((store) => readStore(store));

/** The access model as of `at`, folded from the stores; operators' waivers are honoured (a waived poison event has no effect). */
async function foldStores(stores: WriterStores, at: number, progress: boolean) {
  return foldUntil(allEvents(stores.stores), at, progress, toModelWaivers(await readWaivers(stores)));
}

async function withStores<T>(ctx: CliContext, fn: (stores: WriterStores) => Promise<T>): Promise<T> {
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

function api(values: Record<string, string | boolean | undefined>, ctx: CliContext): TollgateApi {
  const url = (values.url as string | undefined) ?? `http://127.0.0.1:${ctx.config.http.port}`;
  const key = (values.key as string | undefined) ?? ctx.config.bootstrapAdminKey;
  return new TollgateApi(url, key);
}

const describeEvent = (e: RecordedEvent) =>
  `${String(e.position).padStart(6)}  ${e.recordedAt.toISOString()}  ${e.type.padEnd(28)} ${e.streamId}@${e.streamVersion}  by ${e.metadata.actor} via ${e.metadata.channel}  ${e.id}`;

const eventJson = (e: RecordedEvent) => ({ ...e, recordedAt: e.recordedAt.toISOString() });

export const COMMANDS: Record<string, Command> = {
  migrate: {
    summary: 'create or upgrade every schema (keys, identity, access-model snapshots)',
    usage: 'tollgate migrate [--json]',
    options: {},
    positionals: 0,
    async run(_args, ctx) {
      const ran = await runAllMigrations(await ctx.database());
      if (ctx.out.json) ctx.out.data({ ran });
      else ctx.out.line(ran.length ? ran.map((m) => `applied ${m}`).join('\n') : 'every schema is up to date');
      return EXIT.ok;
    },
  },

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
      const kafka = new Kafka({
        clientId: `${ctx.config.kafka.clientId}-ops`,
        brokers: ctx.config.kafka.brokers,
        logLevel: logLevel.NOTHING,
        retry: { retries: 2 },
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      try {
        await producer.connect();
      } catch (err) {
        throw unreachableError(`cannot reach Kafka: ${(err as Error).message}`);
      }
      try {
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
            if (batch.length) await producer.send({ topic, acks: -1, messages: batch.map(eventToMessage) });
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

  'projection rebuild': {
    summary: 'rebuild the access-model projection from the log (Kafka or the stores) and save a fresh snapshot',
    usage: 'tollgate projection rebuild access-model',
    options: {},
    positionals: 1,
    async run({ positionals }, ctx) {
      if (positionals[0] !== 'access-model') throw usageError('the only projection is access-model');
      const started = Date.now();
      const databaseUrl = await ctx.database();
      const logger = createLogger('silent');
      const runtime = new AccessModelRuntime(
        new AccessModel(),
        {
          config: { ...ctx.config, replicaId: `ops-rebuild-${process.pid}` },
          logger,
          metrics: createMetricsRegistry(),
          databaseUrl,
        },
        {
          loadSnapshot: false,
          snapshotOnStop: false,
          snapshotIntervalMs: 3_600_000,
          snapshotEveryEvents: Number.MAX_SAFE_INTEGER,
          waiverPollMs: 100,
        },
      );
      runtime.start();
      const progress = new Progress(
        'rebuilding',
        undefined,
        process.stderr,
        !ctx.out.json && Boolean(process.stderr.isTTY),
      );
      try {
        const deadline = Date.now() + 10 * 60_000;
        for (;;) {
          const watermark = runtime.watermark();
          const status = runtime.status();
          if (status.health?.status === 'halted') {
            const poison = status.health.poison;
            const lookup = poison && status.waiverLookup?.eventId === poison.eventId ? status.waiverLookup : null;
            // A waived poison event: the runtime finds the waiver in the stores and restarts past it; wait for that.
            const waiting =
              poison && !lookup?.error && (lookup === null || lookup.lastCheckAt === null || lookup.waiver !== null);
            if (!waiting) {
              const hint = poison
                ? `; investigate with tollgate events show ${poison.eventId}, then deploy a fix or: ${waiveCommand(poison.eventId)}`
                : '';
              throw new CliError(
                `the projection halted: ${status.health.reason ?? 'poison event'}${lookup?.error ? ` (${lookup.error})` : ''}${hint}`,
              );
            }
          }
          if (watermark !== null && watermark >= started) break;
          if (Date.now() > deadline)
            throw new CliError(
              `not caught up after 10 minutes (phase ${status.phase}, last error ${status.lastError ?? 'none'})`,
              EXIT.unreachable,
            );
          progress.update(runtime.model.counts().appliedEvents);
          await new Promise((r) => setTimeout(r, 100));
        }
        progress.done();
        await runtime.saveSnapshot('ops rebuild');
        const counts = runtime.model.counts();
        const snapshot = runtime.status().lastSnapshot;
        if (ctx.out.json)
          ctx.out.data({
            projection: 'access-model',
            events: counts.appliedEvents,
            keys: counts.keys,
            users: counts.users,
            snapshot,
            ms: Date.now() - started,
          });
        else
          ctx.out.line(
            `rebuilt access-model from ${counts.appliedEvents} events (${counts.keys} keys, ${counts.users} users) in ${Date.now() - started} ms; snapshot ${snapshot?.id ?? '?'} saved`,
          );
        return EXIT.ok;
      } finally {
        await runtime.stop();
      }
    },
  },

  'projection status': {
    summary: 'ask a running replica (/health/ready) whether its access model is fresh; explain a halt and what to run',
    usage: 'tollgate projection status [--url AUTHZ_URL]',
    options: { url: { type: 'string' } },
    positionals: 0,
    async run({ values }, ctx) {
      const url = (values.url as string | undefined) ?? `http://127.0.0.1:${ctx.config.http.port}`;
      const { status, body } = await new TollgateApi(url, undefined).getRaw('/health/ready');
      const detail = accessModelReadiness(body);
      if (!detail)
        throw new CliError(
          `${url}/health/ready (${status}) has no access-model check: is it a Tollgate replica?`,
          EXIT.unreachable,
        );
      const explained = explainProjection(detail);
      if (ctx.out.json) ctx.out.data({ url, ...explained, accessModel: detail });
      else ctx.out.line(explained.line);
      return exitForStatus(explained);
    },
  },

  'audit who-can': {
    summary: 'every subject that could invoke a deployment at a time, with the reason',
    usage: 'tollgate audit who-can <deploymentId> --at <time>',
    options: { at: { type: 'string' } },
    positionals: 1,
    async run({ values, positionals }, ctx) {
      const at = parseTime((values.at as string | undefined) ?? 'now');
      return withStores(ctx, async (stores) => {
        const { model } = await foldStores(stores, at, !ctx.out.json);
        const report = whoCan(model, positionals[0]!, at);
        if (ctx.out.json) ctx.out.data(report);
        else {
          ctx.out.line(
            `${report.deployment.name} (${report.deployment.id}) at ${report.at}: ${report.subjects.length} subject(s)`,
          );
          ctx.out.table(report.subjects as unknown as Record<string, unknown>[], [
            'subject',
            'name',
            'kind',
            'reason',
            'groups',
            'credentials',
          ]);
        }
        return EXIT.ok;
      });
    },
  },

  'audit why': {
    summary: 'why a subject could or could not invoke a deployment at a time (the decision trace)',
    usage: 'tollgate audit why <subject> <deploymentId> --at <time>',
    options: { at: { type: 'string' } },
    positionals: 2,
    async run({ values, positionals }, ctx) {
      const at = parseTime((values.at as string | undefined) ?? 'now');
      return withStores(ctx, async (stores) => {
        const { model } = await foldStores(stores, at, !ctx.out.json);
        const report = why(model, positionals[0]!, positionals[1]!, at);
        if (ctx.out.json) ctx.out.data(report);
        else {
          const d = report.decision;
          ctx.out.line(
            `${report.subject} → ${report.deployment} at ${report.at}: ${d.allowed ? 'ALLOWED' : 'DENIED'} (${d.status} ${d.reason})`,
          );
          for (const step of d.trace ?? [])
            ctx.out.line(`  ${step.rule.padEnd(28)} ${step.outcome}${step.detail ? `  ${step.detail}` : ''}`);
        }
        return EXIT.ok;
      });
    },
  },

  'revocations status': {
    summary: 'which authz replicas have applied a revocation (the revocation confirmation)',
    usage: 'tollgate revocations status <eventId> [--url AUTHZ_URL] [--key CREDENTIAL]',
    options: { ...apiOptions },
    positionals: 1,
    async run({ values, positionals }, ctx) {
      const status = await api(values, ctx).request<{
        eventId: string;
        committedAt: string;
        appliedByAll: boolean;
        replicas: { replicaId: string; appliedAt: string | null; lagMs: number | null }[];
      }>('GET', `/v1/revocations/${encodeURIComponent(positionals[0]!)}`);
      if (ctx.out.json) ctx.out.data(status);
      else {
        ctx.out.line(
          `${status.eventId} committed ${status.committedAt}: ${status.appliedByAll ? 'applied by all replicas' : 'NOT yet applied by all replicas'}`,
        );
        ctx.out.table(status.replicas as unknown as Record<string, unknown>[], ['replicaId', 'appliedAt', 'lagMs']);
      }
      return status.appliedByAll ? EXIT.ok : EXIT.failed;
    },
  },

  'keys scan': {
    summary: 'find Tollgate keys in text (prefix + checksum), report id, owner and state; --revoke revokes them',
    usage: 'tollgate keys scan <file|-> [--revoke --url KEYS_URL --key ADMIN_CREDENTIAL] [--offline]',
    options: { revoke: { type: 'boolean' }, offline: { type: 'boolean' }, ...apiOptions },
    positionals: 1,
    async run({ values, positionals }, ctx) {
      const source = positionals[0]!;
      let text: string;
      try {
        text = source === '-' ? await ctx.readStdin() : await readFile(source, 'utf8');
      } catch (err) {
        throw notFoundError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const model = values.offline
        ? undefined
        : await withStores(ctx, async (stores) => (await foldStores(stores, Date.now(), false)).model);
      const findings = scanText(text, model);
      const revoked: { keyId: string; eventId: string }[] = [];
      if (values.revoke) {
        if (values.offline) throw usageError('--revoke needs the key ids: drop --offline');
        const client = api(values, ctx);
        for (const finding of findings.filter((f) => f.keyId && f.state === 'valid')) {
          const result = finding.deploymentId
            ? await client.request<{ eventId: string }>(
                'DELETE',
                `/v1/deployments/${encodeURIComponent(finding.deploymentId)}/access-keys/${model!.keyById(finding.keyId!)!.slot}`,
              )
            : await client.request<{ eventId: string }>('DELETE', `/v1/keys/${encodeURIComponent(finding.keyId!)}`);
          revoked.push({ keyId: finding.keyId!, eventId: result.eventId });
          finding.state = 'revoked';
        }
      }
      const rows = findings.map(({ secretHash: _hash, ...rest }) => rest);
      if (ctx.out.json) ctx.out.data({ findings: rows, revoked });
      else if (rows.length === 0) ctx.out.line('no Tollgate keys found');
      else {
        ctx.out.table(rows as unknown as Record<string, unknown>[], [
          'line',
          'column',
          'kind',
          'redacted',
          'keyId',
          'owner',
          'state',
        ]);
        for (const r of revoked) ctx.out.line(`revoked ${r.keyId} (event ${r.eventId})`);
      }
      return findings.length ? EXIT.found : EXIT.ok;
    },
  },

  'keys revoke': {
    summary: "bulk revoke: every key of a user, of a group's members, or the access keys of a deployment or project",
    usage:
      'tollgate keys revoke (--user ID | --group NAME | --deployment ID | --project ID) [--url KEYS_URL] [--key ADMIN_CREDENTIAL]',
    options: {
      user: { type: 'string' },
      group: { type: 'string' },
      deployment: { type: 'string' },
      project: { type: 'string' },
      ...apiOptions,
    },
    positionals: 0,
    async run({ values }, ctx) {
      const chosen = (['user', 'group', 'deployment', 'project'] as const).filter((k) => values[k] !== undefined);
      if (chosen.length !== 1) throw usageError('give exactly one of --user, --group, --deployment, --project');
      const model = await withStores(ctx, async (stores) => (await foldStores(stores, Date.now(), false)).model);
      const client = api(values, ctx);
      const now = Date.now();
      const revoked: { keyId: string; eventId: string; owner: string }[] = [];
      const revokeUser = async (userId: string) => {
        const result = await client.request<{ revoked: number; eventIds: string[] }>(
          'DELETE',
          `/v1/users/${encodeURIComponent(userId)}/keys`,
        );
        result.eventIds.forEach((eventId) => revoked.push({ keyId: '(user keys)', eventId, owner: userId }));
      };
      const revokeAccessKeys = async (deploymentId: string) => {
        for (const slot of ['primary', 'secondary'] as const) {
          const key = model.accessKey(deploymentId, slot);
          if (!key || keyState(key, now) !== 'valid') continue;
          const result = await client.request<{ eventId: string }>(
            'DELETE',
            `/v1/deployments/${encodeURIComponent(deploymentId)}/access-keys/${slot}`,
          );
          revoked.push({ keyId: key.keyId, eventId: result.eventId, owner: `access-key:${deploymentId}:${slot}` });
        }
      };
      if (values.user) {
        if (!model.user(values.user as string)) throw notFoundError(`no user ${values.user}`);
        await revokeUser(values.user as string);
      } else if (values.group) {
        for (const user of model.allUsers()) if (user.groups.has(values.group as string)) await revokeUser(user.userId);
      } else if (values.deployment) {
        if (!model.deploymentById(values.deployment as string))
          throw notFoundError(`no deployment ${values.deployment}`);
        await revokeAccessKeys(values.deployment as string);
      } else {
        const deployments = [...model.deployments()].filter((d) => d.projectId === values.project);
        if (!model.project(values.project as string)) throw notFoundError(`no project ${values.project}`);
        for (const d of deployments) await revokeAccessKeys(d.deploymentId);
      }
      if (ctx.out.json) ctx.out.data({ revoked });
      else {
        ctx.out.line(`revoked ${revoked.length} revocation event(s)`);
        if (revoked.length) ctx.out.table(revoked, ['owner', 'keyId', 'eventId']);
      }
      return EXIT.ok;
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

const describeWaiver = (w: RecordedWaiver) =>
  `by ${w.data.waivedBy} (${w.event.metadata.actor} via ${w.event.metadata.channel}) at ${w.event.recordedAt.toISOString()}, ` +
  `EventWaived ${w.event.id} (${w.schema} ${w.event.streamId}@${w.event.streamVersion}); reason: ${JSON.stringify(w.data.reason)}`;

const waiverJson = (w: RecordedWaiver) => ({
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

export function helpText(prefix?: string): string {
  const names = Object.keys(COMMANDS).filter((n) => !prefix || n.startsWith(`${prefix} `) || n === prefix);
  const lines = [
    'tollgate — operate Tollgate: migrations, the event log, projections, audits, keys',
    '',
    'Commands:',
    ...names.map((n) => `  ${COMMANDS[n]!.usage}\n      ${COMMANDS[n]!.summary}`),
    '',
    'Every command takes --json (machine-readable output), --verbose (stack traces on errors), --help.',
    'Configuration comes from the environment (DATABASE_URL, KAFKA_BROKERS, PORT, TOLLGATE_BOOTSTRAP_ADMIN_KEY…).',
    'Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 unreachable dependency, 5 keys found (keys scan).',
  ];
  return lines.join('\n');
}

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function runCli(
  argv: string[],
  makeContext: (json: boolean) => CliContext,
  stderr: (text: string) => void,
): Promise<number> {
  const verbose = argv.includes('--verbose');
  const json = argv.includes('--json');
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = [2, 1].map((n) => words.slice(0, n).join(' ')).find((candidate) => COMMANDS[candidate]);
  if (!name) {
    const group = words[0];
    const known = group && Object.keys(COMMANDS).some((n) => n.startsWith(`${group} `));
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || known) {
      stderr(`${helpText(known ? group : undefined)}\n`);
      return argv.length === 0 || known ? EXIT.usage : EXIT.ok;
    }
    stderr(`tollgate: unknown command ${JSON.stringify(words.join(' '))}; see tollgate --help\n`);
    return EXIT.usage;
  }
  const command = COMMANDS[name]!;
  const rest = argv.slice(argv.indexOf(name.split(' ').at(-1)!) + 1);
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...common, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      stderr(`${command.usage}\n  ${command.summary}\n`);
      return EXIT.ok;
    }
    const [min, max] = Array.isArray(command.positionals)
      ? command.positionals
      : [command.positionals, command.positionals];
    if (parsed.positionals.length < min || parsed.positionals.length > max) throw usageError(`usage: ${command.usage}`);
    return await command.run(parsed as never, makeContext(json));
  } catch (err) {
    const code =
      err instanceof CliError
        ? err.exitCode
        : (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
          ? EXIT.usage
          : EXIT.failed;
    const message = (err as Error).message.split('\n')[0];
    stderr(`tollgate ${name}: ${message}\n`);
    if (verbose && (err as Error).stack) stderr(`${(err as Error).stack}\n`);
    return code;
  }
}
