import { Controller, type DynamicModule, Get, Module, UseGuards } from '@nestjs/common';
import { generateKey, hashSecret } from '@tollgate/authn';
import { IDENTITY_SCHEMA, KEYS_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createEventStoreMigrations, PostgresEventStore, type NewEvent } from '@tollgate/event-store';
import { type Caller, CallerGuard, CurrentCaller } from '@tollgate/platform';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { createTestDatabase, eventually, type TestDatabase } from '../../../test/support';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { AccessModel } from './access-model';
import { unpackStrings } from './snapshot';
import { ACCESS_MODEL_SCHEMA, decodePayload, encodeLegacyPayload } from './snapshot-store';
import { AccessModelModule, type AccessModelModuleOptions } from './access-model.module';
import type { Freshness } from './freshness';
import type { AccessModelRuntime } from './runtime';
import { ACCESS_MODEL, ACCESS_MODEL_RUNTIME, FRESHNESS } from './tokens';
import { userCreated, userKeyCreated } from '../../../test/support/events';

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

const BOOTSTRAP = 'integration-bootstrap-admin-key-0123456789';
const iso = (ms: number) => new Date(ms).toISOString();
const meta = { metadata: { actor: 'system', channel: 'system' } };

/** A writer schema with its event store, as the keys and identity services create them. */
async function writer(url: string, schema: string): Promise<{ dataSource: DataSource; store: PostgresEventStore }> {
  const dataSource = createDataSource({ url, schema, migrations: createEventStoreMigrations(schema), poolSize: 2 });
  await runMigrations(dataSource);
  return { dataSource, store: new PostgresEventStore({ dataSource, schema, registry: new Registry() }) };
}

interface Running {
  app: TestApp;
  model: AccessModel;
  freshness: Freshness;
  runtime: AccessModelRuntime;
}

async function start(url: string, options: AccessModelModuleOptions = {}): Promise<Running> {
  const app = await startTestApp(
    (ctx): DynamicModule[] => [
      AccessModelModule.forRoot(ctx, { snapshotIntervalMs: 3_600_000, ...options }),
      { module: WhoAmIModule },
    ],
    { databaseUrl: url, env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP, TOLLGATE_REPLICA_ID: 'it-replica' } },
  );
  return {
    app,
    model: app.app.get(ACCESS_MODEL),
    freshness: app.app.get(FRESHNESS),
    runtime: app.app.get(ACCESS_MODEL_RUNTIME),
  };
}

const whoami = (app: TestApp, authorization?: string) =>
  fetch(`${app.url}/whoami`, { headers: authorization ? { authorization } : {} }).then(async (r) => ({
    status: r.status,
    wwwAuthenticate: r.headers.get('www-authenticate'),
    body: (await r.json()) as Record<string, unknown> & { error?: { code: string; message: string } },
  }));

describe('AccessModelModule on PostgreSQL (embedded mode)', () => {
  let db: TestDatabase;
  let keys: Awaited<ReturnType<typeof writer>>;
  let identity: Awaited<ReturnType<typeof writer>>;
  let running: Running | undefined;
  const aliceKey = generateKey('management');
  const laterKey = generateKey('management');
  const now = Date.now();

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await running?.app.close();
    await keys?.dataSource.destroy();
    await identity?.dataSource.destroy();
    await db.drop();
  });

  it('starts before the writers created their tables, then follows both event tables', async () => {
    running = await start(db.url);
    const { app, model, freshness, runtime } = running;
    await eventually(() => expect(runtime.status().phase).toBe('waiting-for-writers'));
    expect(freshness.isFresh()).toBe(false);
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(503);
    // The bootstrap credential does not depend on the model.
    expect((await whoami(app, `Bearer ${BOOTSTRAP}`)).body).toMatchObject({ userId: 'usr_admin', via: 'bootstrap' });

    keys = await writer(db.url, KEYS_SCHEMA);
    identity = await writer(db.url, IDENTITY_SCHEMA);
    await identity.store.append('user-usr_alice', 0, [userCreated('usr_alice', now)], meta);
    await identity.store.append(
      'deployment-dep_1',
      0,
      [
        {
          type: 'DeploymentCreated',
          data: {
            deploymentId: 'dep_1',
            projectId: 'prj_1',
            name: 'llm',
            hosts: ['models.example.com'],
            pathPrefixes: ['/v1/llm'],
            authentication: true,
            credentialKinds: ['api-key'],
            grantedGroups: [],
            environment: null,
          },
        },
      ],
      meta,
    );
    await keys.store.append('key-key_alice', 0, [userKeyCreated('key_alice', 'usr_alice', aliceKey, now)], meta);

    await eventually(() => {
      expect(freshness.isFresh()).toBe(true);
      expect(model.keyByHash(hashSecret(aliceKey))?.userId).toBe('usr_alice');
    });
    expect(model.routeDeployment('Models.Example.com:443', '/v1/llm/chat')?.deploymentId).toBe('dep_1');
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
    expect((await whoami(app, `Bearer ${aliceKey}`)).body).toEqual({
      userId: 'usr_alice',
      name: 'alice',
      admin: false,
      via: 'management-key',
      keyId: 'key_alice',
    });

    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_access_model_fresh 1/);
    expect(metrics).toMatch(/tollgate_access_model_watermark_age_seconds \d/);
    expect(metrics).toMatch(/tollgate_access_model_applied_events_total 3/);
    expect(metrics).toMatch(/tollgate_access_model_halted 0/);
  });

  it('answers management callers over HTTP with the contract headers', async () => {
    const { app } = running!;
    const none = await whoami(app);
    expect({ status: none.status, code: none.body.error?.code, www: none.wwwAuthenticate }).toEqual({
      status: 401,
      code: 'unauthenticated',
      www: 'Bearer realm="tollgate"',
    });
    const unknown = await whoami(app, `ApiKey ${generateKey('management')}`);
    expect({ status: unknown.status, code: unknown.body.error?.code, www: unknown.wwwAuthenticate }).toEqual({
      status: 401,
      code: 'unauthenticated',
      www: 'Bearer realm="tollgate", error="invalid_token"',
    });
    const inference = await whoami(app, `Bearer ${generateKey('inference')}`);
    expect({ status: inference.status, code: inference.body.error?.code }).toEqual({
      status: 401,
      code: 'key-scope-invalid',
    });
    // a key in the query string is never read
    const query = await fetch(`${app.url}/whoami?access_token=${aliceKey}&api_key=${aliceKey}`);
    expect(query.status).toBe(401);
  });

  it('finds a key created just before the request (read-your-writes) and refuses it once revoked', async () => {
    const { app, model } = running!;
    await keys.store.append('key-key_later', 0, [userKeyCreated('key_later', 'usr_alice', laterKey, now)], meta);
    // No waiting here: the authenticator waits for the watermark to pass the request before saying unknown.
    expect((await whoami(app, `Bearer ${laterKey}`)).status).toBe(200);

    const revoked = await keys.store.append(
      'key-key_alice',
      1,
      [{ type: 'KeyRevoked', data: { keyId: 'key_alice', reason: 'user', revokedAt: iso(Date.now()) } }],
      meta,
    );
    const eventId = revoked.events[0]!.id;
    await eventually(() => expect(model.revocationApplied(eventId)).toBeGreaterThan(0));
    const refused = await whoami(app, `Bearer ${aliceKey}`);
    expect({ status: refused.status, message: refused.body.error?.message }).toEqual({
      status: 401,
      message: expect.stringContaining('key-revoked'),
    });
  });

  it('restarts from its snapshot and catches up from the snapshot offsets, fresh only once caught up', async () => {
    const { app, runtime } = running!;
    await runtime.saveSnapshot('test');
    expect(runtime.status().lastSnapshot).toMatchObject({ payloadBytes: expect.any(Number) });
    await app.close();
    running = undefined;

    // Written while no replica runs: the restarted model must not call itself fresh before it has these.
    const whileDown = generateKey('management');
    await keys.store.append('key-key_down', 0, [userKeyCreated('key_down', 'usr_alice', whileDown, now)], meta);
    await identity.store.append(
      'user-usr_alice',
      1,
      [{ type: 'GroupsRefreshed', data: { userId: 'usr_alice', groups: ['ml'], refreshedAt: iso(now) } }],
      meta,
    );

    running = await start(db.url);
    const { model, freshness } = running;
    // Watch every turn of the event loop: the first moment it calls itself fresh, it must hold the new events.
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const check = () => {
        if (freshness.isFresh()) {
          try {
            expect(model.keyByHash(hashSecret(whileDown))?.keyId).toBe('key_down');
            expect([...model.user('usr_alice')!.groups]).toEqual(['ml']);
            resolve();
          } catch (error) {
            reject(error as Error);
          }
        } else if (Date.now() > deadline) reject(new Error('never fresh'));
        else setImmediate(check);
      };
      check();
    });
    expect(running.runtime.status().restoredFrom).toMatchObject({ replicaId: 'it-replica' });
    // Restored, not replayed: only the two events written while it was down were applied.
    expect(model.counts()).toMatchObject({ appliedEvents: 2, keys: 3, revokedKeys: 1, users: 1 });
    expect(model.keyByHash(hashSecret(aliceKey))?.revoked).toBe(true);
    expect((await whoami(running.app, `Bearer ${whileDown}`)).status).toBe(200);
  });

  it('refuses a snapshot row whose CRC-32 does not match and replays the whole log instead', async () => {
    await running!.app.close();
    running = undefined;
    const rows: { id: string; payload: Buffer }[] = await keys.dataSource.query(
      `SELECT id, payload FROM "${ACCESS_MODEL_SCHEMA}".snapshots ORDER BY id DESC LIMIT 1`,
    );
    const { id, payload } = rows[0]!;
    const damaged = Buffer.from(payload);
    damaged[damaged.length >> 1]! ^= 1; // one bit in the middle of the body
    const setPayload = (body: Buffer) =>
      keys.dataSource.query(`UPDATE "${ACCESS_MODEL_SCHEMA}".snapshots SET payload = $1 WHERE id = $2`, [body, id]);
    await setPayload(damaged);

    running = await start(db.url, { snapshotOnStop: false });
    await eventually(() => expect(running!.freshness.isFresh()).toBe(true));
    expect(running.runtime.status().restoredFrom).toBeNull();
    expect(running.model.counts()).toMatchObject({ keys: 3, revokedKeys: 1 });
    expect(running.model.counts().appliedEvents).toBeGreaterThan(3);
    expect(running.model.keyByHash(hashSecret(aliceKey))?.revoked).toBe(true);
    await running.app.close();
    await setPayload(payload);
    running = await start(db.url);
    await eventually(() => expect(running!.runtime.status().restoredFrom).toMatchObject({ id: Number(id) }));
  });

  it('restores from a format-1 snapshot row (before the compact key table) and ignores an unknown format', async () => {
    await running!.app.close();
    running = undefined;
    // Rewrite the newest snapshot row as format 1 wrote it: one tuple per key.
    const rows: { id: string; payload: Buffer }[] = await keys.dataSource.query(
      `SELECT id, payload FROM "${ACCESS_MODEL_SCHEMA}".snapshots ORDER BY id DESC LIMIT 1`,
    );
    const row = rows[0]!;
    const payload = await decodePayload(row.payload);
    const current = AccessModel.restore(payload.model);
    const keyIds = unpackStrings(payload.model.keys.ids, payload.model.keys.count, 'ids');
    const tuples = keyIds.map((keyId) => {
      const k = current.keyById(keyId)!;
      const base = [
        k.keyId,
        0,
        Buffer.from(k.secretHash, 'hex').toString('base64'),
        k.userId,
        1,
        k.expiresAt,
        k.createdAt,
      ];
      return k.revoked ? [...base, k.revokedAt, k.revocationReason, k.revocationEventId] : base;
    });
    expect(keyIds.every((id) => current.keyById(id)!.scope === 'management')).toBe(true);
    const old = { ...payload, model: { ...payload.model, format: 'tollgate.access-model/1', keys: tuples } };
    const setRow = async (format: string, body: Buffer) =>
      keys.dataSource.query(`UPDATE "${ACCESS_MODEL_SCHEMA}".snapshots SET format = $1, payload = $2 WHERE id = $3`, [
        format,
        body,
        row.id,
      ]);
    await setRow('tollgate.access-model/1', await encodeLegacyPayload(old));

    running = await start(db.url, { snapshotOnStop: false });
    await eventually(() => expect(running!.freshness.isFresh()).toBe(true));
    expect(running.runtime.status().restoredFrom).toMatchObject({ id: Number(row.id) });
    expect(running.model.counts()).toMatchObject({ appliedEvents: 0, keys: 3, revokedKeys: 1 });
    expect(running.model.keyByHash(hashSecret(aliceKey))?.revoked).toBe(true);
    expect((await whoami(running.app, `Bearer ${laterKey}`)).status).toBe(200);
    await running.app.close();

    // A format this build does not know is never selected: the replica replays the whole log.
    await keys.dataSource.query(`UPDATE "${ACCESS_MODEL_SCHEMA}".snapshots SET format = 'tollgate.access-model/0'`);
    running = await start(db.url);
    await eventually(() => expect(running!.freshness.isFresh()).toBe(true));
    expect(running.runtime.status().restoredFrom).toBeNull();
    expect(running.model.counts()).toMatchObject({ keys: 3, revokedKeys: 1 });
    expect(running.model.counts().appliedEvents).toBeGreaterThan(3);
    expect((await whoami(running.app, `Bearer ${laterKey}`)).status).toBe(200);
  });

  it('halts on a poison event and fails closed', async () => {
    const { app, freshness } = running!;
    await keys.store.append(
      'key-key_poison',
      0,
      [{ type: 'KeyTeleported', data: { keyId: 'key_poison' } } as NewEvent],
      meta,
    );
    await eventually(() => expect(freshness.halted()).toBe(true));
    expect(freshness.isFresh()).toBe(false);
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(503);
    const refused = await whoami(app, `Bearer ${laterKey}`);
    expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status: 503, code: 'unavailable' });
    expect((await whoami(app, `Bearer ${BOOTSTRAP}`)).status).toBe(200);
    expect((await (await fetch(`${app.url}/metrics`)).text()).match(/tollgate_access_model_halted 1/)).not.toBeNull();
  });
});
