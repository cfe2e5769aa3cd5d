import { loadConfig } from '@tollgate/config';
import { type CliContext, runCli } from './cli';
import { createOutput } from './output';

/**
 * Runs the CLI in process for unit tests (not exported from the package): captured output, stdin from a
 * string, and a database that is never there (records whether a command asked for it).
 */
export function cliHarness(stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  let databaseAsked = false;
  const context = (json: boolean): CliContext => ({
    config: loadConfig({}),
    out: createOutput(json, (t) => void out.push(t)),
    database: async () => {
      databaseAsked = true;
      throw new Error('no database in unit tests');
    },
    readStdin: async () => stdin,
  });
  return {
    run: (args: string[]) => runCli(args, context, (t) => void err.push(t)),
    out: () => out.join(''),
    err: () => err.join(''),
    databaseAsked: () => databaseAsked,
  };
}
