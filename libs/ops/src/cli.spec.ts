import { cliHarness as harness } from './cli-harness';
import { EXIT, parseTime } from './cli-errors';
import { scanText } from './scan';
import { generateKey } from '@tollgate/authn';

describe('tollgate CLI: arguments', () => {
  it('prints help on stdout and exits 0 with --help', async () => {
    const h = harness();
    expect(await h.run(['--help'])).toBe(EXIT.ok);
    expect(h.out()).toContain('tollgate audit who-can <deploymentId> --at <time>');
    expect(h.err()).toBe('');
  });

  it("prints a command's help on stdout with --help", async () => {
    const h = harness();
    expect(await h.run(['audit', 'who-can', '--help'])).toBe(EXIT.ok);
    expect(h.out()).toContain('tollgate audit who-can <deploymentId> --at <time>');
    expect(h.err()).toBe('');
  });

  it('prints the help of a command group and exits 2 when the subcommand is missing', async () => {
    const h = harness();
    expect(await h.run(['events'])).toBe(EXIT.usage);
    expect(h.err()).toContain('tollgate events tail');
    expect(h.err()).not.toContain('tollgate audit');
  });

  it.each([
    [['nonsense'], /unknown command "nonsense"/],
    [['events', 'tail', '--colour'], /Unknown option '--colour'/],
    [['audit', 'who-can'], /usage: tollgate audit who-can/],
    [['audit', 'who-can', 'dep_1', '--at', 'yesterday-ish'], /bad time "yesterday-ish"/],
    [['events', 'show', 'abc'], /give a position \(integer\) or an event id/],
    [['events', 'show', '12'], /a position is per store: add --store/],
    [['events', 'tail', '--store', 'billing'], /--store must be one of keys, identity/],
    [['keys', 'revoke', '--user', 'a', '--group', 'b'], /exactly one of --user, --group/],
    [['projection', 'rebuild', 'other'], /the only projection is access-model/],
    [['events', 'republish', '--store', 'keys', '--from', '3'], /KAFKA_BROKERS is not set/],
  ])('%j is a usage error (exit 2) with a one-line message', async (args, message) => {
    const h = harness();
    expect(await h.run(args)).toBe(EXIT.usage);
    expect(h.err()).toMatch(message);
    expect(h.err().trim().split('\n')).toHaveLength(1);
    expect(h.databaseAsked()).toBe(false);
  });

  it('reports an unreachable dependency in one line, with the stack only under --verbose', async () => {
    const quiet = harness();
    expect(await quiet.run(['events', 'tail'])).toBe(EXIT.failed);
    expect(quiet.err().trim().split('\n')).toHaveLength(1);
    const verbose = harness();
    await verbose.run(['events', 'tail', '--verbose']);
    expect(verbose.err()).toMatch(/\n\s+at /);
  });
});

describe('parseTime', () => {
  const now = Date.parse('2026-11-26T12:00:00.000Z');
  it.each([
    ['2026-11-26T06:30:00Z', Date.parse('2026-11-26T06:30:00Z')],
    ['now', now],
    ['-15m', now - 15 * 60_000],
    ['-2h', now - 2 * 3_600_000],
    ['-7d', now - 7 * 86_400_000],
  ])('reads %s', (input, expected) => expect(parseTime(input, now)).toBe(expected));
});

describe('keys scan (offline)', () => {
  it('finds only checksum-valid keys, by line and column, never printing the secret', async () => {
    const key = generateKey('inference');
    const fake = `tgi_${'A'.repeat(38)}`;
    const text = `line one\nexport TOKEN=${key}\n${fake}\n`;
    const findings = scanText(text, undefined);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ line: 2, column: 14, kind: 'inference', state: 'unknown', keyId: null });
    expect(findings[0]!.redacted).toBe(`tgi_…${key.slice(-4)}`);

    const h = harness(text);
    expect(await h.run(['keys', 'scan', '-', '--offline', '--json'])).toBe(EXIT.found);
    expect(h.out()).not.toContain(key);
    expect(JSON.parse(h.out()).findings).toHaveLength(1);
  });

  it('exits 0 when nothing is found and 3 for a missing file', async () => {
    const h = harness('nothing here');
    expect(await h.run(['keys', 'scan', '-', '--offline'])).toBe(EXIT.ok);
    expect(h.out()).toContain('no Tollgate keys found');
    expect(await harness().run(['keys', 'scan', '/nonexistent/file', '--offline'])).toBe(EXIT.notFound);
  });
});
