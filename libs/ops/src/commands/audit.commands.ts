import { whoCan, why } from '../audit';
import { EXIT, parseTime } from '../cli-errors';
import { type Command, apiOptions, api, withStores, foldStores } from './command';

/** `tollgate audit …` and `tollgate revocations status`: who can call what, why, and where a revocation has reached. */
export const AUDIT_COMMANDS: Record<string, Command> = {
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
};
