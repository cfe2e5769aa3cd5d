// Runnable documentation: the ```bash blocks of README.md and docs/*.md that follow a `<!-- runnable -->`
// line are scripts. Each command may be followed by its documented answer as comment lines (`# {json}`,
// `# HTTP/1.1 200 OK`, `# header: value`); the e2e test runs the blocks against a running product and
// compares every answer's shape with the documented one (same keys, same types, same id prefixes, and the
// same values where a value is the point: codes, reasons, statuses, names).

export const RUNNABLE_MARK = '<!-- runnable -->';

export interface DocStep {
  /** the command, continuation lines included */
  command: string;
  /** 1-based line of the command in the file */
  line: number;
  /** documented answer lines (without the leading `# `), empty when none is documented */
  expected: string[];
}

/** Every runnable block of a Markdown text, in order, as steps. */
export function runnableSteps(markdown: string): DocStep[] {
  const lines = markdown.split('\n');
  const steps: DocStep[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== RUNNABLE_MARK) continue;
    // Prettier puts a blank line between the mark and the fence.
    while (lines[i + 1]?.trim() === '') i++;
    if (lines[i + 1]?.trim() !== '```bash')
      throw new Error(`line ${i + 1}: ${RUNNABLE_MARK} must precede a \`\`\`bash fence`);
    let j = i + 2;
    let current: DocStep | undefined;
    for (; j < lines.length && lines[j]!.trim() !== '```'; j++) {
      const text = lines[j]!;
      if (text.trim() === '') {
        current = undefined;
        continue;
      }
      if (text.startsWith('#')) {
        const comment = text.replace(/^#\s?/, '');
        if (current && isAnswerLine(comment)) current.expected.push(comment);
        else current = undefined; // prose
        continue;
      }
      let command = text;
      const line = j + 1;
      while (command.endsWith('\\') && j + 1 < lines.length) command += `\n${lines[++j]}`;
      current = { command, line, expected: [] };
      steps.push(current);
    }
    i = j;
  }
  return steps;
}

function isAnswerLine(comment: string): boolean {
  return /^[{[]/.test(comment) || /^HTTP\/[\d.]+ \d{3}/.test(comment) || /^[a-z][a-z0-9-]*: /.test(comment);
}

/** Keys whose documented value is the point (not an id or a time): compared exactly. */
const EXACT = new Set([
  'code',
  'reason',
  'status',
  'allowed',
  'scope',
  'kind',
  'role',
  'name',
  'admin',
  'appliedByAll',
  'defaultLifetimeDays',
  'maxLifetimeDays',
  'revoked',
  'channel',
  'field',
]);
const ID = /^(usr|prj|dep|key|evt|tgi|tgm|tga|req|grp)_/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Where `actual` differs in shape from `expected` (empty: it matches). `…` as a string value matches anything. */
export function shapeDifferences(expected: unknown, actual: unknown, path = '$', key = ''): string[] {
  if (expected === '…') return [];
  if (expected === null || actual === null)
    return expected === actual ? [] : [`${path}: ${show(actual)}, documented ${show(expected)}`];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: ${show(actual)}, documented an array`];
    if (expected.length === 0) return actual.length === 0 ? [] : [`${path}: ${actual.length} item(s), documented none`];
    if (actual.length === 0) return [`${path}: no items, documented ${expected.length}`];
    return actual.flatMap((item, i) =>
      shapeDifferences(expected[Math.min(i, expected.length - 1)], item, `${path}[${i}]`),
    );
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: ${show(actual)}, documented an object`];
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const open = '…' in e;
    const out: string[] = [];
    for (const k of Object.keys(e)) {
      if (k === '…') continue;
      if (!(k in a)) out.push(`${path}.${k}: missing, documented ${show(e[k])}`);
      else out.push(...shapeDifferences(e[k], a[k], `${path}.${k}`, k));
    }
    if (!open) for (const k of Object.keys(a)) if (!(k in e)) out.push(`${path}.${k}: not documented (${show(a[k])})`);
    return out;
  }
  if (typeof expected !== typeof actual) return [`${path}: ${show(actual)}, documented ${show(expected)}`];
  if (EXACT.has(key) && expected !== actual) return [`${path}: ${show(actual)}, documented ${show(expected)}`];
  if (typeof expected === 'string') {
    const prefix = ID.exec(expected)?.[1];
    if (prefix && !String(actual).startsWith(`${prefix}_`))
      return [`${path}: ${show(actual)}, documented a ${prefix}_ id`];
    if (TIME.test(expected) && !TIME.test(String(actual))) return [`${path}: ${show(actual)}, documented a time`];
  }
  return [];
}

const show = (v: unknown) => JSON.stringify(v)?.slice(0, 120) ?? String(v);

/** Headers compared by value (the others only by presence and id prefix). */
const EXACT_HEADERS = new Set(['x-ext-auth-reason', 'www-authenticate', 'idempotent-replayed', 'etag']);

/** Where a step's output differs from its documented answer (empty: it matches). */
export function answerDifferences(expected: string[], output: string): string[] {
  if (expected.length === 0) {
    // No documented answer: it must at least not be an error nobody documented.
    const body = lastJson(output);
    return body && typeof body === 'object' && 'error' in (body as object)
      ? [`undocumented error: ${output.trim()}`]
      : [];
  }
  const out: string[] = [];
  const statusLine = expected.find((l) => l.startsWith('HTTP/'));
  let head = '';
  let bodyText = output;
  if (statusLine) {
    const split = output.replace(/\r\n/g, '\n').split('\n\n');
    head = split[0] ?? '';
    bodyText = split.slice(1).join('\n\n');
    const want = statusLine.split(' ')[1];
    const got = /^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1];
    if (got !== want) out.push(`status ${got ?? '(none)'}, documented ${want}`);
  }
  const headers = new Map(
    head
      .split('\n')
      .slice(1)
      .map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const),
  );
  for (const line of expected.filter((l) => /^[a-z][a-z0-9-]*: /.test(l))) {
    const name = line.slice(0, line.indexOf(':'));
    const value = line.slice(line.indexOf(':') + 1).trim();
    const got = headers.get(name);
    if (got === undefined) out.push(`header ${name}: missing`);
    else if (EXACT_HEADERS.has(name) && got !== value) out.push(`header ${name}: ${got}, documented ${value}`);
    else if (ID.test(value) && !got.startsWith(value.slice(0, 4)))
      out.push(`header ${name}: ${got}, documented ${value}`);
  }
  const jsonLine = expected.find((l) => /^[{[]/.test(l));
  if (jsonLine) {
    let documented: unknown;
    try {
      documented = JSON.parse(jsonLine);
    } catch {
      return [...out, `the documented answer is not JSON: ${jsonLine}`];
    }
    const body = lastJson(bodyText);
    if (body === undefined)
      out.push(`no JSON answer, documented ${jsonLine.slice(0, 80)}; got ${output.trim().slice(0, 200)}`);
    else out.push(...shapeDifferences(documented, body));
  }
  return out;
}

function lastJson(text: string): unknown {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    if (!/^[{[]/.test(line.trim())) continue;
    try {
      return JSON.parse(line);
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** The script for a file's steps: each command's output between markers, stopping at the first failure. */
export function scriptOf(steps: DocStep[]): string {
  const parts = ['set -uo pipefail'];
  steps.forEach((step, i) => {
    parts.push(step.command, `__rc=$?; printf '\\n@@step ${i} rc=%d@@\\n' "$__rc"; [ "$__rc" -eq 0 ] || exit 1`);
  });
  return parts.join('\n');
}

/** Splits the script's output into each step's output (index → text). */
export function stepOutputs(output: string): Map<number, { rc: number; text: string }> {
  const result = new Map<number, { rc: number; text: string }>();
  const marker = /\n@@step (\d+) rc=(\d+)@@\n/g;
  let from = 0;
  for (let m = marker.exec(output); m; m = marker.exec(output)) {
    result.set(Number(m[1]), { rc: Number(m[2]), text: output.slice(from, m.index) });
    from = m.index + m[0].length;
  }
  return result;
}
