/** Where a command writes: human lines by default, one JSON document with --json. */
export interface Output {
  json: boolean;
  line(text: string): void;
  data(value: unknown): void;
  table(rows: Record<string, unknown>[], columns: string[]): void;
}

export function createOutput(
  json: boolean,
  write: (text: string) => void = (t) => void process.stdout.write(t),
): Output {
  return {
    json,
    line: (text) => write(`${text}\n`),
    data: (value) => write(`${JSON.stringify(value, null, json ? 2 : undefined)}\n`),
    table(rows, columns) {
      const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : String(v));
      const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
      const fmt = (values: string[]) =>
        values
          .map((v, i) => v.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      write(`${fmt(columns.map((c) => c.toUpperCase()))}\n`);
      for (const row of rows) write(`${fmt(columns.map((c) => cell(row[c])))}\n`);
    },
  };
}
