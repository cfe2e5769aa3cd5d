import { parseArgs } from 'node:util';
import { CliError, EXIT, usageError } from './cli-errors';
import { AUDIT_COMMANDS } from './commands/audit.commands';
import { type CliContext, type Command, common } from './commands/command';
import { EVENTS_COMMANDS } from './commands/events.commands';
import { KEYS_COMMANDS } from './commands/keys.commands';
import { MIGRATE_COMMANDS } from './commands/migrate.commands';
import { PROJECTION_COMMANDS } from './commands/projection.commands';

export type { CliContext } from './commands/command';

/** Every command, in the order `tollgate --help` lists them; one file per command group under commands/. */
export const COMMANDS: Record<string, Command> = {
  ...MIGRATE_COMMANDS,
  ...KEYS_COMMANDS,
  ...EVENTS_COMMANDS,
  ...PROJECTION_COMMANDS,
  ...AUDIT_COMMANDS,
};

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
    const asked = argv.includes('--help') || argv.includes('-h');
    if (argv.length === 0 || asked || known) {
      const help = helpText(known ? group : undefined);
      // Asked-for help is the command's output (stdout, exit 0); help after a usage mistake is an error.
      if (asked) makeContext(json).out.line(help);
      else stderr(`${help}\n`);
      return asked ? EXIT.ok : EXIT.usage;
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
      makeContext(json).out.line(`${command.usage}\n  ${command.summary}`);
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
