import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@tollgate/platform';
import type { pino } from 'pino';
import { Registry } from 'prom-client';
import { authzMetrics } from './authz.metrics';
import { DecisionRecorder, decisionLogLine } from './decision-log';

describe('decision log', () => {
  const capture = () => {
    const lines: string[] = [];
    const logger = createLogger('info', {
      write: (l: string) => void lines.push(l),
    } as unknown as pino.DestinationStream);
    return { lines, logger };
  };

  it('writes one authz.decision line with every contract field and counts the decision', async () => {
    const { lines, logger } = capture();
    const registry = new Registry();
    const recorder = new DecisionRecorder(
      logger,
      authzMetrics(registry, () => 5),
    );
    const latency = recorder.record(
      'ext-authz',
      'req_1',
      {
        allowed: true,
        status: 200,
        reason: 'collaborator',
        subject: 'usr_1',
        keyId: 'key_1',
        issuer: 'tollgate',
        deployment: 'dep_1',
      },
      process.hrtime.bigint(),
    );
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: 'authz.decision',
      requestId: 'req_1',
      door: 'ext-authz',
      subject: 'usr_1',
      keyId: 'key_1',
      issuer: 'tollgate',
      deployment: 'dep_1',
      allowed: true,
      status: 200,
      reason: 'collaborator',
      latencyUs: latency,
    });
    const metrics = await registry.metrics();
    expect(metrics).toContain('tollgate_authz_decisions_total{door="ext-authz",status="200",reason="collaborator"} 1');
    expect(metrics).toContain('tollgate_authz_decision_duration_seconds_count{door="ext-authz"} 1');
    expect(metrics).toContain('tollgate_authz_watermark_age_seconds 0.005');
  });

  it('counts every decision once, scrape after scrape, across recorders sharing a registry', async () => {
    const registry = new Registry();
    const silent = createLogger('silent');
    const first = new DecisionRecorder(
      silent,
      authzMetrics(registry, () => 0),
    );
    const second = new DecisionRecorder(
      silent,
      authzMetrics(registry, () => 0),
    );
    const denied = { allowed: false, status: 401, reason: 'key-unknown' } as const;
    const allowed = { allowed: true, status: 200, reason: 'collaborator', subject: 'usr_1' } as const;
    const count = async (status: number, reason: string) => {
      const text = await registry.metrics();
      const line = `tollgate_authz_decisions_total{door="forward-auth",status="${status}",reason="${reason}"} `;
      const at = text.indexOf(line);
      return at === -1 ? 0 : Number.parseInt(text.slice(at + line.length), 10);
    };
    for (let i = 0; i < 3; i++) first.record('forward-auth', `req_${i}`, denied, process.hrtime.bigint());
    second.record('forward-auth', 'req_3', denied, process.hrtime.bigint());
    second.record('forward-auth', 'req_4', allowed, process.hrtime.bigint());
    expect(await count(401, 'key-unknown')).toBe(4);
    expect(await count(200, 'collaborator')).toBe(1);
    // A second scrape adds nothing that was already counted.
    expect(await count(401, 'key-unknown')).toBe(4);
    first.record('forward-auth', 'req_5', denied, process.hrtime.bigint());
    expect(await count(401, 'key-unknown')).toBe(5);
    expect(await registry.getSingleMetric('tollgate_authz_decisions_total')!.get()).toMatchObject({
      values: expect.arrayContaining([
        expect.objectContaining({ labels: { door: 'forward-auth', status: '401', reason: 'key-unknown' }, value: 5 }),
      ]),
    });
  });

  it('takes only the decision fields: nothing else a decision object carries reaches the line', () => {
    const { lines, logger } = capture();
    const recorder = new DecisionRecorder(
      logger,
      authzMetrics(new Registry(), () => null),
    );
    const decision = {
      allowed: false,
      status: 401,
      reason: 'key-revoked',
      authorization: 'Bearer tgi_secret',
      token: 'eyJ.secret.x',
    };
    recorder.record('forward-auth', 'req_2', decision, process.hrtime.bigint());
    expect(lines[0]).not.toContain('secret');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      subject: null,
      deployment: null,
      status: 401,
      reason: 'key-revoked',
    });
  });

  it('writes exactly the line pino writes for the same fields (level, time, bindings, fields, msg, in order)', () => {
    const { lines, logger } = capture();
    const child = logger.child({ service: 'authz', note: 'a "quoted" \\ binding' });
    const decision = {
      allowed: true,
      status: 200,
      reason: 'group-granted',
      subject: 'usr_"odd"\u2028',
      issuer: 'https://idp.example.com/"x"',
      deployment: 'dep_1',
    };
    new DecisionRecorder(
      child,
      authzMetrics(new Registry(), () => null),
    ).record('authorize', 'req_3', decision, process.hrtime.bigint());
    const ours = JSON.parse(lines[0]!) as Record<string, unknown>;
    child.info(decisionLogLine('authorize', 'req_3', decision, ours.latencyUs as number), 'authz.decision');
    const pinos = JSON.parse(lines[1]!) as Record<string, unknown>;
    expect(Object.keys(ours)).toEqual(Object.keys(pinos));
    expect({ ...ours, time: null }).toEqual({ ...pinos, time: null });
    expect(typeof ours.time).toBe('string');
  });

  it("stamps each line with the time it was written (pino's isoTime, formatted once per millisecond)", async () => {
    const { lines, logger } = capture();
    const recorder = new DecisionRecorder(
      logger,
      authzMetrics(new Registry(), () => null),
    );
    const decision = { allowed: false, status: 401, reason: 'credential-missing' };
    const times: string[] = [];
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      recorder.record('forward-auth', `req_t${i}`, decision, process.hrtime.bigint());
      const after = Date.now();
      const time = (JSON.parse(lines[i]!) as { time: string }).time;
      expect(time).toBe(new Date(Date.parse(time)).toISOString());
      expect(Date.parse(time)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(time)).toBeLessThanOrEqual(after);
      times.push(time);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(new Set(times).size).toBe(3);
  });

  it('writes nothing when the logger is above info', () => {
    const lines: string[] = [];
    const logger = createLogger('warn', {
      write: (l: string) => void lines.push(l),
    } as unknown as pino.DestinationStream);
    new DecisionRecorder(
      logger,
      authzMetrics(new Registry(), () => null),
    ).record(
      'forward-auth',
      'req_4',
      { allowed: false, status: 401, reason: 'credential-missing' },
      process.hrtime.bigint(),
    );
    expect(lines).toEqual([]);
  });
});
