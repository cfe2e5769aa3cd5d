import { EXIT } from '../cli-errors';
import { runAllMigrations } from '../migrate';
import { type Command } from './command';

/** `tollgate migrate`: every schema created or upgraded. */
export const MIGRATE_COMMANDS: Record<string, Command> = {
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
};
