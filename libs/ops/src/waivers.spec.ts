import { cliHarness as harness } from './cli-harness';
import { EXIT } from './cli-errors';
import { accessModelReadiness, explainProjection } from './waivers';

const ID = 'evt_01KB0000000000000000000000';

describe('tollgate events waive: arguments', () => {
  it.each([
    [['events', 'waive', ID, '--by', 'alice'], /--reason is required/],
    [['events', 'waive', ID, '--reason', '   ', '--by', 'alice'], /--reason is required/],
    [['events', 'waive', ID, '--reason', 'bad data'], /--by is required/],
    [['events', 'waive', ID, '--reason', 'bad data', '--by', 'alice smith'], /--by must be an operator name/],
    [['events', 'waive', '42', '--reason', 'bad data', '--by', 'alice'], /give the event id \(evt_…\)/],
    [['events', 'waive', '--reason', 'bad data', '--by', 'alice'], /usage: tollgate events waive/],
    [['events', 'waive', ID, '--by', 'alice', '--reason'], /argument missing|requires|--reason/i],
    [['events', 'waive', ID, '--reason', 'x'.repeat(2001), '--by', 'alice'], /at most 2000/],
  ])('%j is a usage error (exit 2) before any connection', async (args, message) => {
    const h = harness();
    expect(await h.run(args)).toBe(EXIT.usage);
    expect(h.err()).toMatch(message);
    expect(h.err().trim().split('\n')).toHaveLength(1);
    expect(h.databaseAsked()).toBe(false);
  });

  it('goes to the stores once the arguments are complete', async () => {
    const h = harness();
    expect(await h.run(['events', 'waive', ID, '--reason', 'bad data', '--by', 'alice'])).toBe(EXIT.failed);
    expect(h.databaseAsked()).toBe(true);
  });

  it('is listed in the help of the events group', async () => {
    const h = harness();
    await h.run(['events']);
    expect(h.err()).toContain('tollgate events waive <evt_id> --reason "<why>" --by <operator>');
  });
});

describe('tollgate projection status: arguments', () => {
  it('refuses a URL that is not http(s) (exit 2)', async () => {
    const h = harness();
    expect(await h.run(['projection', 'status', '--url', 'authz:8080'])).toBe(EXIT.usage);
    expect(h.err()).toMatch(/--url must be an http\(s\) URL/);
  });

  it('takes no positional argument', async () => {
    const h = harness();
    expect(await h.run(['projection', 'status', 'access-model'])).toBe(EXIT.usage);
  });
});

describe('explainProjection', () => {
  const poison = {
    position: 42,
    eventId: ID,
    type: 'KeyCreated',
    streamId: 'key-key_bad',
    error: 'expected string,\n received undefined',
  };

  it('explains a halt in one line: event, type, stream, position, error, and the waive command', () => {
    const s = explainProjection({ status: 'down', projection: 'halted', poison, reason: 'poison event …' });
    expect(s).toMatchObject({ ready: false, halted: true, poison });
    expect(s.line.split('\n')).toHaveLength(1);
    expect(s.line).toContain(
      `HALTED on poison event ${ID} (KeyCreated, stream key-key_bad, position 42): expected string, received undefined`,
    );
    expect(s.line).toContain(`tollgate events show ${ID}`);
    expect(s.line).toContain(`tollgate events waive ${ID} --reason "<why, after investigation>" --by <operator>`);
    expect(s.command).toBe(`tollgate events waive ${ID} --reason "<why, after investigation>" --by <operator>`);
  });

  it('reads the poison event from the reason of a replica that reports no structured detail', () => {
    const s = explainProjection({
      status: 'down',
      projection: 'halted',
      reason: `poison event ${ID} (KeyTeleported) at position 7: unknown event type "KeyTeleported"`,
    });
    expect(s.poison).toMatchObject({
      eventId: ID,
      type: 'KeyTeleported',
      position: 7,
      error: 'unknown event type "KeyTeleported"',
    });
    expect(s.line).toContain(`tollgate events waive ${ID}`);
  });

  it('says when a waiver was found, or why it cannot be looked for', () => {
    const found = explainProjection({
      status: 'down',
      projection: 'halted',
      poison,
      waiver: { found: { waiverEventId: 'evt_w', waivedBy: 'alice' }, lastCheckAt: null },
    });
    expect(found.line).toContain('A waiver (evt_w by alice) was found');
    const failing = explainProjection({
      status: 'down',
      projection: 'halted',
      poison,
      waiver: { found: null, lastCheckAt: null, error: 'relation "keys.events" does not exist' },
    });
    expect(failing.line).toContain('Waiver lookup: relation "keys.events" does not exist');
  });

  it('reports a fresh model as ready, and a gap or a stale model as not ready without a waive command', () => {
    expect(
      explainProjection({
        status: 'up',
        projection: 'ok',
        phase: 'running',
        watermarkAgeMs: 120.4,
        maxStalenessMs: 2000,
      }),
    ).toMatchObject({
      ready: true,
      line: 'access-model ok: fresh (watermark 120 ms old, bound 2000 ms, phase running)',
    });
    const gap = explainProjection({
      status: 'down',
      projection: 'halted',
      watermarkAgeMs: 9000,
      reason: 'gap on pg:keys: stream key-x expected version 2, got 3',
    });
    expect(gap).toMatchObject({ ready: false, halted: true, command: null });
    expect(gap.line).toContain('gap on pg:keys');
    expect(explainProjection({ status: 'down', projection: 'catching-up', watermarkAgeMs: null })).toMatchObject({
      ready: false,
      halted: false,
    });
  });

  it('finds the access-model check in a Terminus body', () => {
    expect(
      accessModelReadiness({ status: 'error', details: { 'access-model': { status: 'down', projection: 'halted' } } }),
    ).toMatchObject({ projection: 'halted' });
    expect(accessModelReadiness({ status: 'ok', details: {} })).toBeNull();
    expect(accessModelReadiness('<html>')).toBeNull();
  });
});
