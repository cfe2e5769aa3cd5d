import { AccessModel, AccessModelRuntime } from '@tollgate/access-model';
import { createLogger, createMetricsRegistry } from '@tollgate/platform';
import { CliError, EXIT, usageError } from '../cli-errors';
import { TollgateApi } from '../http-client';
import { Progress } from '../progress';
import { accessModelReadiness, explainProjection, exitForStatus, waiveCommand } from '../waivers';
import { type Command } from './command';

/** `tollgate projection …`: rebuild the access model from the log, and a replica's status. */
export const PROJECTION_COMMANDS: Record<string, Command> = {
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
};
