import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it, jest } from '@jest/globals';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { authzMetrics } from '../authz.metrics';
import { DecisionRecorder } from '../decision-log';
import type { DoorDecision } from '../types';
import { type Check, Doors } from './doors';
import { forwardAuthRoute, isForwardAuthUrl } from './forward-auth.route';
import { LoadShedder } from './load-shedder';

const KEY = 'tgi_0123456789abcdefghijABCDEFGHIJ01xxxxxx';

/** A check that allows exactly the key above and counts its calls. */
function countingCheck() {
  const calls = { n: 0 };
  const check: Check = {
    check: (input) => {
      calls.n += 1;
      return input.authorization === `Bearer ${KEY}`
        ? { allowed: true, status: 200, reason: 'collaborator', subject: 'usr_a', deployment: 'dep_a' }
        : { allowed: false, status: 401, reason: 'credential-missing' };
    },
    headers: (d: DoorDecision): Record<string, string> =>
      d.allowed ? { 'x-auth-subject': d.subject! } : { 'x-ext-auth-reason': d.reason },
    message: (d: DoorDecision) => (d.allowed ? 'allowed' : 'not authenticated'),
  };
  return { check, calls };
}

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

/** `writeHead`'s flat `[name, value, …]` list as an object; a name given twice fails the test. */
function headerObject(list: string[]): Record<string, string> {
  expect(list.length % 2).toBe(0);
  const headers: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    expect(headers[name]).toBeUndefined();
    headers[name] = list[i + 1]!;
  }
  return headers;
}

function request(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const answer: Answer = {};
  const rawHeaders = Object.entries(headers).flat();
  let paused = false;
  const socket = { pause: () => (paused = true), resume: () => (paused = false), isPaused: () => paused };
  const req = { method, url, headers, rawHeaders, socket } as unknown as IncomingMessage;
  const res = {
    headersSent: false,
    writeHead(status: number, h: Record<string, string> | string[]) {
      answer.status = status;
      answer.headers = Array.isArray(h) ? headerObject(h) : h;
      return this;
    },
    end(body: string) {
      answer.body = body;
      return this;
    },
  } as unknown as ServerResponse;
  return { req, res, answer, paused: () => paused };
}

function route(shedder: LoadShedder) {
  const { check, calls } = countingCheck();
  const registry = new Registry();
  const metrics = authzMetrics(registry, () => 0);
  const logger = pino({ level: 'silent' });
  const doors = new Doors(check, new DecisionRecorder(logger, metrics));
  const handle = forwardAuthRoute({ doors, shedder, onShed: () => metrics.shed.labels('forward-auth').inc(), logger });
  return { handle, calls, registry };
}

/** A shedder whose clock the test moves; the turn never ends unless told. */
function manualShedder(budgetMs: number) {
  let now = 0;
  const ends: (() => void)[] = [];
  const shedder = new LoadShedder({ budgetMs, minRequests: 1, now: () => now, afterTurn: (f) => ends.push(f) });
  return { shedder, advance: (ms: number) => (now += ms), endTurn: () => ends.splice(0).forEach((f) => f()) };
}

describe('forward-auth route ahead of the framework', () => {
  it.each([
    ['/v1/forward-auth', true],
    ['/v1/forward-auth/', true],
    ['/v1/forward-auth?x=1', true],
    ['/v1/forward-auth/?x=1', true],
    ['/v1/forward-authx', false],
    ['/v1/forward-auth/x', false],
    ['/v1/authorize', false],
    ['/V1/forward-auth', false],
  ])('%s is forward-auth: %s', (url, expected) => {
    expect(isForwardAuthUrl(url)).toBe(expected);
  });

  it.each([
    ['GET', '/v1/authorize'],
    ['TRACE', '/v1/forward-auth'],
    ['PROPFIND', '/v1/forward-auth'],
  ])('leaves %s %s to the framework without touching the response', (method, url) => {
    const { handle, calls } = route(new LoadShedder());
    const { req, res, answer } = request(url, {}, method);
    expect(handle(req, res)).toBe(false);
    expect(answer).toEqual({});
    expect(calls.n).toBe(0);
  });

  it('answers with the decision, its headers, a request id and no-store', () => {
    const { handle } = route(new LoadShedder());
    const { req, res, answer } = request('/v1/forward-auth', {
      authorization: `Bearer ${KEY}`,
      'x-request-id': 'req-from-proxy',
    });
    expect(handle(req, res)).toBe(true);
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({
      'x-auth-subject': 'usr_a',
      'x-request-id': 'req-from-proxy',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    expect(JSON.parse(answer.body!)).toEqual({
      allowed: true,
      status: 200,
      reason: 'collaborator',
      message: 'allowed',
    });
  });

  it('answers each decision with its own body and content-length, however often a message repeats', () => {
    // The route keeps each body's JSON by message: a repeated message with another reason, status or
    // outcome, a non-ASCII one (bytes ≠ characters), and more distinct messages than it keeps, all answered
    // as if stringified anew.
    let next: { decision: DoorDecision; message: string } = {
      decision: { allowed: false, status: 401, reason: 'credential-missing' },
      message: '',
    };
    const check: Check = {
      check: () => next.decision,
      headers: () => ({}),
      message: () => next.message,
    };
    const logger = pino({ level: 'silent' });
    const doors = new Doors(
      check,
      new DecisionRecorder(
        logger,
        authzMetrics(new Registry(), () => 0),
      ),
    );
    // One turn of 5,000 requests: no shedding here.
    const shedder = new LoadShedder({ budgetMs: Infinity });
    const handle = forwardAuthRoute({ doors, shedder, onShed: () => undefined, logger });
    const cases: Array<typeof next> = [
      { decision: { allowed: true, status: 200, reason: 'collaborator', deployment: 'd' }, message: 'same' },
      { decision: { allowed: false, status: 403, reason: 'not-collaborator', deployment: 'd' }, message: 'same' },
      { decision: { allowed: false, status: 401, reason: 'not-collaborator' }, message: 'same' },
      { decision: { allowed: true, status: 200, reason: 'collaborator', deployment: 'd' }, message: 'same' },
      { decision: { allowed: true, status: 200, reason: 'public', deployment: 'ü' }, message: 'model ü — ok "q"' },
      ...Array.from({ length: 5000 }, (_, i) => ({
        decision: { allowed: false, status: 403, reason: 'group-not-granted', deployment: `d${i}` },
        message: `m${i} é`,
      })),
      { decision: { allowed: true, status: 200, reason: 'public', deployment: 'ü' }, message: 'model ü — ok "q"' },
      { decision: { allowed: false, status: 403, reason: 'group-not-granted', deployment: 'd7' }, message: 'm7 é' },
    ];
    for (const c of cases) {
      next = c;
      const { req, res, answer } = request('/v1/forward-auth', {});
      handle(req, res);
      const { allowed, status, reason } = c.decision;
      const want = JSON.stringify({ allowed, status, reason, message: c.message });
      expect(answer.status).toBe(status);
      expect(answer.body).toBe(want);
      expect(answer.headers!['content-length']).toBe(String(Buffer.byteLength(want)));
    }
  });

  it('sheds requests over the turn budget with 503 authorizer-overloaded and Retry-After, without checking them', async () => {
    const { shedder, advance, endTurn } = manualShedder(10);
    const { handle, calls, registry } = route(shedder);
    const first = request('/v1/forward-auth', { authorization: `Bearer ${KEY}` });
    handle(first.req, first.res);
    expect(first.answer.status).toBe(200);
    advance(11);
    const shed = request('/v1/forward-auth', { authorization: `Bearer ${KEY}` });
    handle(shed.req, shed.res);
    expect(shed.answer.status).toBe(503);
    expect(shed.answer.headers).toMatchObject({
      'retry-after': '1',
      'x-ext-auth-reason': 'authorizer-overloaded',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    expect(JSON.parse(shed.answer.body!)).toMatchObject({
      allowed: false,
      status: 503,
      reason: 'authorizer-overloaded',
    });
    expect(calls.n).toBe(1);
    await new Promise((resolve) => setImmediate(resolve)); // the pause comes after node:http's own resume
    expect(shed.paused()).toBe(true); // its connection is not read again for Retry-After
    expect(first.paused()).toBe(false);
    expect(await registry.getSingleMetricAsString('tollgate_authz_shed_total')).toContain(
      'tollgate_authz_shed_total{door="forward-auth"} 1',
    );
    endTurn();
    const next = request('/v1/forward-auth', { authorization: `Bearer ${KEY}` });
    handle(next.req, next.res);
    expect(next.answer.status).toBe(200);
  });

  it('reads the connections shed in one turn again spread over 0.5-1.5 s, not all in one later turn', () => {
    jest.useFakeTimers();
    try {
      const { shedder, advance } = manualShedder(10);
      const { handle } = route(shedder);
      handle(request('/v1/forward-auth', { authorization: `Bearer ${KEY}` }).req, request('/').res);
      advance(11);
      const shed = Array.from({ length: 200 }, () => request('/v1/forward-auth', { authorization: `Bearer ${KEY}` }));
      for (const r of shed) handle(r.req, r.res);
      const stillPaused = () => shed.filter((r) => r.paused()).length;
      jest.advanceTimersByTime(0); // the pauses are taken after the turn
      expect(stillPaused()).toBe(200);
      jest.advanceTimersByTime(499);
      expect(stillPaused()).toBe(200);
      jest.advanceTimersByTime(501); // 1,000 ms: some, not all
      expect(stillPaused()).toBeGreaterThan(0);
      expect(stillPaused()).toBeLessThan(200);
      jest.advanceTimersByTime(500); // 1,500 ms: all
      expect(stillPaused()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('sheds anonymous requests before requests with a credential in the same turn', () => {
    const { shedder, advance } = manualShedder(10);
    const { handle } = route(shedder);
    const statuses = (headers: Record<string, string>) => {
      const r = request('/v1/forward-auth', headers);
      handle(r.req, r.res);
      return r.answer.status;
    };
    expect(statuses({})).toBe(401);
    advance(6);
    expect(statuses({})).toBe(503);
    expect(statuses({ 'x-model-access-key': 'tga_x' })).toBe(401);
    expect(statuses({ authorization: `Bearer ${KEY}` })).toBe(200);
  });
});

describe('forward-auth route on a real node:http server', () => {
  it('stops reading a shed connection: its next pipelined request waits at least 0.5 s', async () => {
    const { shedder, advance } = manualShedder(10);
    const { handle, calls } = route(shedder);
    let handled = 0;
    const server = createServer((req, res) => {
      handled += 1;
      handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const client = connect(port, '127.0.0.1');
    let received = '';
    client.on('data', (chunk) => (received += chunk.toString()));
    const answers = () => received.split('HTTP/1.1 ').length - 1;
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const send = () => client.write(`GET /v1/forward-auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n\r\n`);
    try {
      send();
      await until(() => answers() === 1); // served: the turn's first request
      advance(11); // the turn never ends (manual shedder): every later request is shed
      send();
      await until(() => answers() === 2);
      expect(received).toContain('503');
      send();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(handled).toBe(2); // not read: node:http's own resume after the answer did not undo the pause
      await until(() => answers() === 3); // read again after the hold-off
      expect(handled).toBe(3);
      expect(calls.n).toBe(1);
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
