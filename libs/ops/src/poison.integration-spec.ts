import { Controller, type DynamicModule, Get, Module, UseGuards } from '@nestjs/common';
import {
  AccessModelModule,
  ACCESS_MODEL,
  ACCESS_MODEL_RUNTIME,
  FRESHNESS,
  type AccessModel,
  type AccessModelRuntime,
  type Freshness,
} from '@tollgate/access-model';
import { generateKey, hashSecret } from '@tollgate/authn';
import { loadConfig } from '@tollgate/config';
import { createDataSource } from '@tollgate/database';
import { PostgresEventStore } from '@tollgate/event-store';
import { type Caller, CallerGuard, CurrentCaller } from '@tollgate/platform';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { createTestDatabase, eventually, type TestDatabase } from '../../../test/support';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { type CliContext, runCli } from './cli';
import { EXIT } from './cli-errors';
import { createOutput } from './output';
import { userCreated } from '../../../test/support/events';

@Controller('whoami')
@UseGuards(CallerGuard)
class WhoAmIController {
  @Get()
  whoami(@CurrentCaller() caller: Caller): Caller {
    return caller;
  }
}

@Module({ controllers: [WhoAmIController] })
class WhoAmIModule {}

const iso = (ms: number) => new Date(ms).toISOString();
const meta = { metadata: { actor: 'usr_admin', channel: 'rest' } };

// A poison event on real PostgreSQL: the access model halts and fails closed; an operator investigates with
// `projection status` and `events show`, records a waiver with `events waive`; the model resumes past it.
describe('poison event: halt, investigate, waive, resume (embedded mode, real PostgreSQL)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let keys: PostgresEventStore;
  let identity: PostgresEventStore;
  let app: TestApp;
  let model: AccessModel;
  let freshness: Freshness;
  let runtime: AccessModelRuntime;
  let poisonId: string;
  const aliceKey = generateKey('management');
  const laterKey = generateKey('management');
  const lastKey = generateKey('management');
  const now = Date.now();

  const cli = async (args: string[], stdin = '') => {
    const out: string[] = [];
    const err: string[] = [];
    const context = (json: boolean): CliContext => ({
      config: loadConfig({ DATABASE_URL: database.url }),
      out: createOutput(json, (t) => void out.push(t)),
      database: async () => database.url,
      readStdin: async () => stdin,
    });
    const code = await runCli(args, context, (t) => void err.push(t));
    return { code, out: out.join(''), err: err.join('') };
  };
  const whoami = (credential: string) =>
    fetch(`${app.url}/whoami`, { headers: { authorization: `Bearer ${credential}` } }).then((r) => r.status);
  const ready = () => fetch(`${app.url}/health/ready`).then((r) => r.status);
  const metrics = () => fetch(`${app.url}/metrics`).then((r) => r.text());
  const userKey = (keyId: string, secret: string) => ({
    type: 'KeyCreated',
    data: {
      keyId,
      kind: 'user-key',
      secretHash: hashSecret(secret),
      userId: 'usr_alice',
      scope: 'management',
      expiresAt: null,
      createdAt: iso(now),
    },
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    expect((await cli(['migrate'])).code).toBe(EXIT.ok);
    dataSource = createDataSource({ url: database.url, migrations: [] });
    await dataSource.initialize();
    const registry = new Registry();
    keys = new PostgresEventStore({ dataSource, schema: 'keys', registry });
    identity = new PostgresEventStore({ dataSource, schema: 'identity', registry });
    await identity.append('user-usr_alice', 0, [userCreated('usr_alice', now)], meta);
    await keys.append('key-key_alice', 0, [userKey('key_alice', aliceKey)], meta);
    app = await startTestApp(
      (ctx): DynamicModule[] => [
        AccessModelModule.forRoot(ctx, { snapshotIntervalMs: 3_600_000, waiverPollMs: 200 }),
        { module: WhoAmIModule },
      ],
      { databaseUrl: database.url, env: { TOLLGATE_REPLICA_ID: 'poison-replica' } },
    );
    model = app.app.get(ACCESS_MODEL);
    freshness = app.app.get(FRESHNESS);
    runtime = app.app.get(ACCESS_MODEL_RUNTIME);
    await eventually(() => expect(freshness.isFresh()).toBe(true));
    expect(await whoami(aliceKey)).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
    await database?.drop();
  });

  it('halts on a malformed KeyCreated and fails closed; later events are not applied', async () => {
    const appended = await keys.append(
      'key-key_bad',
      0,
      [{ type: 'KeyCreated', data: { keyId: 'key_bad', kind: 'user-key', createdAt: iso(now) } }],
      meta,
    );
    poisonId = appended.events[0]!.id;
    await keys.append('key-key_later', 0, [userKey('key_later', laterKey)], meta);
    await identity.append(
      'user-usr_alice',
      1,
      [{ type: 'GroupsRefreshed', data: { userId: 'usr_alice', groups: ['ml'], refreshedAt: iso(now) } }],
      meta,
    );

    await eventually(() => expect(freshness.halted()).toBe(true));
    expect(freshness.isFresh()).toBe(false);
    expect(await ready()).toBe(503);
    expect(await whoami(aliceKey)).toBe(503);
    expect(model.keyById('key_later')).toBeUndefined();
    const text = await metrics();
    expect(text).toMatch(/tollgate_projection_halted\{projection="access-model"\} 1/);
    expect(text).toMatch(/tollgate_projection_poison_events_total\{projection="access-model"\} 1/);
    // Never skipped on its own: the runtime looks for a waiver, finds none, and stays halted poll after poll.
    const first = await eventually(() => {
      const lookup = runtime.status().waiverLookup;
      expect(lookup).toMatchObject({ eventId: poisonId, lastCheckAt: expect.any(String), waiver: null, error: null });
      return lookup!.lastCheckAt;
    });
    await eventually(() => expect(runtime.status().waiverLookup?.lastCheckAt).not.toBe(first));
    expect(freshness.halted()).toBe(true);
    expect(model.counts().waivedEvents).toBe(0);
  });

  it('projection status explains the halt in one line, with the waive command', async () => {
    const status = await cli(['projection', 'status', '--url', app.url]);
    expect(status.code).toBe(EXIT.failed);
    expect(status.out.trim().split('\n')).toHaveLength(1);
    expect(status.out).toContain(`HALTED on poison event ${poisonId} (KeyCreated, stream key-key_bad, position 2)`);
    expect(status.out).toContain(
      `tollgate events waive ${poisonId} --reason "<why, after investigation>" --by <operator>`,
    );
    const json = JSON.parse((await cli(['projection', 'status', '--url', app.url, '--json'])).out);
    expect(json).toMatchObject({
      ready: false,
      halted: true,
      poison: { eventId: poisonId, type: 'KeyCreated', streamId: 'key-key_bad' },
    });
  });

  it('events waive refuses missing arguments (2), an unknown event (3) and an event this release applies (1)', async () => {
    expect((await cli(['events', 'waive', poisonId, '--by', 'alice'])).code).toBe(EXIT.usage);
    expect((await cli(['events', 'waive', poisonId, '--reason', 'x'])).code).toBe(EXIT.usage);
    const missing = await cli(['events', 'waive', 'evt_00000000000000000000000000', '--reason', 'x', '--by', 'alice']);
    expect(missing.code).toBe(EXIT.notFound);
    const [valid] = (await keys.readStream('key-key_later')).events;
    const refused = await cli(['events', 'waive', valid!.id, '--reason', 'x', '--by', 'alice']);
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.err).toMatch(/applies cleanly with this release/);
    expect((await keys.readStream('waivers')).version).toBe(0);
    expect(freshness.halted()).toBe(true);
  });

  it('a waiver recorded with events waive resumes the projection past the poison event', async () => {
    const reason = 'KeyCreated without hash from the import script; key never handed out (INC-42)';
    const waived = await cli(['events', 'waive', poisonId, '--reason', reason, '--by', 'alice']);
    expect(waived.err).toBe('');
    expect(waived.code).toBe(EXIT.ok);
    expect(waived.out).toContain(`waived ${poisonId} (KeyCreated key-key_bad@1, keys position 2)`);

    await eventually(() => {
      expect(freshness.halted()).toBe(false);
      expect(freshness.isFresh()).toBe(true);
    });
    expect(model.keyById('key_later')?.userId).toBe('usr_alice');
    expect([...model.user('usr_alice')!.groups]).toEqual(['ml']);
    expect(model.keyById('key_bad')).toBeUndefined();
    expect(await ready()).toBe(200);
    expect(await whoami(laterKey)).toBe(200);
    // The waiver also arrives through the log (a duplicate of the one found out of band).
    await eventually(() => expect(model.counts()).toMatchObject({ waivers: 1, waivedEvents: 1 }));
    const text = await metrics();
    expect(text).toMatch(/tollgate_projection_halted\{projection="access-model"\} 0/);
    expect(text).toMatch(/tollgate_access_model_waived_events_total 1/);
    expect(app.logLines().filter((l) => l.includes('waived event applied without effect'))).toHaveLength(1);

    const [recorded] = (await keys.readStream('waivers')).events;
    expect(recorded).toMatchObject({
      type: 'EventWaived',
      data: {
        eventId: poisonId,
        streamId: 'key-key_bad',
        eventVersion: 1,
        eventType: 'KeyCreated',
        reason,
        waivedBy: 'alice',
      },
      metadata: { actor: 'ops:alice', channel: 'ops', causationId: poisonId },
    });
    expect((await cli(['projection', 'status', '--url', app.url])).code).toBe(EXIT.ok);
  });

  it('still answers for events appended after the poison one', async () => {
    await keys.append('key-key_last', 0, [userKey('key_last', lastKey)], meta);
    await eventually(async () => expect(await whoami(lastKey)).toBe(200));
    expect(freshness.isFresh()).toBe(true);
  });

  it('waiving again appends nothing; events show says who waived it, when and why', async () => {
    const again = await cli(['events', 'waive', poisonId, '--reason', 'again', '--by', 'bob']);
    expect(again.code).toBe(EXIT.ok);
    expect(again.out).toMatch(/was already waived: by alice .*nothing appended/);
    expect((await keys.readStream('waivers')).version).toBe(1);

    const shown = await cli(['events', 'show', poisonId]);
    expect(shown.code).toBe(EXIT.ok);
    expect(shown.out).toMatch(
      /WAIVED \(applied without effect\): by alice \(ops:alice via ops\) at \d{4}-.*reason: "KeyCreated without hash/,
    );
    const json = JSON.parse((await cli(['events', 'show', poisonId, '--json'])).out);
    expect(json.waiver).toMatchObject({
      waivedBy: 'alice',
      actor: 'ops:alice',
      channel: 'ops',
      waivedAt: expect.any(String),
    });
  });

  it('the offline fold (audit, keys scan) honours the waiver instead of failing on the poison event', async () => {
    const scan = await cli(['keys', 'scan', '-', '--json'], `leaked: ${laterKey}\n`);
    expect(scan.code).toBe(EXIT.found);
    expect(JSON.parse(scan.out).findings[0]).toMatchObject({ keyId: 'key_later', owner: 'alice', state: 'valid' });
  });

  it('projection rebuild replays past the waived poison event (it halts on it, finds the waiver, resumes)', async () => {
    const rebuilt = await cli(['projection', 'rebuild', 'access-model', '--json']);
    expect(rebuilt.err).toBe('');
    expect(rebuilt.code).toBe(EXIT.ok);
    expect(JSON.parse(rebuilt.out)).toMatchObject({ projection: 'access-model', keys: 3, users: 1 });
  });
});
