/**
 * Exit codes of the `tollgate` CLI (documented in docs/operations.md): scripts branch on them.
 * 0 ok · 1 the command failed · 2 usage (unknown flag, bad value) · 3 not found · 4 a dependency (database,
 * broker, Tollgate API) is unreachable · 5 keys were found by `keys scan` (like grep's "match").
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, unreachable: 4, found: 5 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line (plus the stack only with --verbose). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT.usage);
export const notFoundError = (message: string): CliError => new CliError(message, EXIT.notFound);
export const unreachableError = (message: string): CliError => new CliError(message, EXIT.unreachable);

/** Parses a time given as ISO 8601 or as `now`, `-15m`, `-2h`, `-7d` (relative to now). */
export function parseTime(value: string, now = Date.now()): number {
  if (value === 'now') return now;
  const relative = /^-(\d+)([smhd])$/.exec(value);
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(relative[1]) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(value))
    throw usageError(`bad time ${JSON.stringify(value)}: use ISO 8601 (2026-11-26T06:30:00Z), now, or -15m/-2h/-7d`);
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw usageError(`bad time ${JSON.stringify(value)}: use ISO 8601 (2026-11-26T06:30:00Z), now, or -15m/-2h/-7d`);
  return ms;
}
