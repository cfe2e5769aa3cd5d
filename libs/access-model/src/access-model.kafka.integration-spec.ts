import { Controller, type DynamicModule, Get, Module, UseGuards } from '@nestjs/common';
import { generateKey, hashSecret } from '@tollgate/authn';
import { IDENTITY_SCHEMA, KEYS_SCHEMA } from '@tollgate/contracts';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createEventStoreMigrations, PostgresEventStore, Relay } from '@tollgate/event-store';
import { type Caller, CallerGuard, CurrentCaller } from '@tollgate/platform';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { createTestDatabase, eventually, testKafkaBrokers, uniqueName, type TestDatabase } from '../../../test/support';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import type { AccessModel } from './access-model';
import { AccessModelModule } from './access-model.module';
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

const iso = (ms: number) => new Date(ms).toISOString();
const meta = { metadata: { actor: 'system', channel: 'system' } };

interface Writer {
  dataSource: DataSource;
  store: PostgresEventStore;
  relay: Relay;
}

/** A writer as the keys and identity services run it in Kafka mode: its event store and its relay. */
async function writer(url: string, schema: string, kafka: Kafka, topic: string): Promise<Writer> {
  const dataSource = createDataSource({ url, schema, migrations: createEventStoreMigrations(schema), poolSize: 3 });
  await runMigrations(dataSource);
  const registry = new Registry();
  const relay = new Relay({ dataSource, schema, kafka, topic, registry, partitions: 3, heartbeatIntervalMs: 100 });
  await relay.start();
  return { dataSource, store: new PostgresEventStore({ dataSource, schema, registry }), relay };
}

interface Replica {
  app: TestApp;
  model: AccessModel;
  freshness: Freshness;
  runtime: AccessModelRuntime;
}

describe('AccessModelModule on Kafka (deployed mode)', () => {
  const topics = [uniqueName('keys_topic'), uniqueName('identity_topic')];
  let db: TestDatabase;
  let kafka: Kafka;
  let keys: Writer;
  let identity: Writer;
  const replicas: Replica[] = [];
  const aliceKey = generateKey('management');
  const now = Date.now();

  async function replica(id: string): Promise<Replica> {
    const app = await startTestApp(
      (ctx): DynamicModule[] => [
        AccessModelModule.forRoot(ctx, { kafkaTopics: topics, snapshotIntervalMs: 3_600_000 }),
        { module: WhoAmIModule },
      ],
      { kafka: true, databaseUrl: db.url, env: { TOLLGATE_REPLICA_ID: id } },
    );
    const r = {
      app,
      model: app.app.get(ACCESS_MODEL),
      freshness: app.app.get(FRESHNESS),
      runtime: app.app.get(ACCESS_MODEL_RUNTIME),
    };
    replicas.push(r);
    return r;
  }

  async function close(r: Replica): Promise<void> {
    replicas.splice(replicas.indexOf(r), 1);
    await r.app.close();
  }

  const status = (app: TestApp, key: string) =>
    fetch(`${app.url}/whoami`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);

  beforeAll(async () => {
    db = await createTestDatabase();
    kafka = new Kafka({ clientId: 'access-model-it', brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
    keys = await writer(db.url, KEYS_SCHEMA, kafka, topics[0]!);
    identity = await writer(db.url, IDENTITY_SCHEMA, kafka, topics[1]!);
  }, 60_000);

  afterAll(async () => {
    for (const r of [...replicas]) await close(r);
    for (const w of [keys, identity]) {
      await w?.relay.stop();
      await w?.dataSource.destroy();
    }
    await db?.drop();
  }, 60_000);

  it('every replica reads every partition: both see the key, then its revocation', async () => {
    const [a, b] = [await replica('replica-a'), await replica('replica-b')];
    await identity.store.append('user-usr_alice', 0, [userCreated('usr_alice', now)], meta);
    await keys.store.append('key-key_alice', 0, [userKeyCreated('key_alice', 'usr_alice', aliceKey, now)], meta);
    for (const r of [a, b]) {
      await eventually(
        () => {
          expect(r.freshness.isFresh()).toBe(true);
          expect(r.model.keyByHash(hashSecret(aliceKey))?.userId).toBe('usr_alice');
        },
        { timeoutMs: 30_000 },
      );
      expect(await status(r.app, aliceKey)).toBe(200);
      expect((await fetch(`${r.app.url}/health/ready`)).status).toBe(200);
    }

    const committed = Date.now();
    const revoked = await keys.store.append(
      'key-key_alice',
      1,
      [{ type: 'KeyRevoked', data: { keyId: 'key_alice', reason: 'admin', revokedAt: iso(committed) } }],
      meta,
    );
    const eventId = revoked.events[0]!.id;
    for (const r of [a, b]) {
      await eventually(() => expect(r.model.revocationApplied(eventId)).toBeGreaterThanOrEqual(committed), {
        timeoutMs: 10_000,
      });
      expect(await status(r.app, aliceKey)).toBe(401);
    }
  }, 90_000);

  it('restarts from its snapshot and resumes from the Kafka offsets it stored', async () => {
    const a = replicas.find((r) => r.runtime.status().phase === 'running')!;
    await a.runtime.saveSnapshot('test');
    await close(a);

    const whileDown = generateKey('management');
    await keys.store.append('key-key_down', 0, [userKeyCreated('key_down', 'usr_alice', whileDown, now)], meta);

    const restarted = await replica('replica-a');
    await eventually(() => expect(restarted.freshness.isFresh()).toBe(true), { timeoutMs: 30_000 });
    // Fresh means caught up past everything committed before the restart.
    expect(restarted.model.keyByHash(hashSecret(whileDown))?.keyId).toBe('key_down');
    expect(restarted.runtime.status().restoredFrom).not.toBeNull();
    expect(restarted.model.counts()).toMatchObject({ appliedEvents: 1, keys: 2, revokedKeys: 1 });
    expect(await status(restarted.app, whileDown)).toBe(200);
    expect(await status(restarted.app, aliceKey)).toBe(401);
  }, 90_000);

  it("every replica halts on a poison event, finds the waiver in the writers' tables, and resumes past it", async () => {
    const running = replicas.filter((r) => r.runtime.status().phase === 'running');
    expect(running.length).toBe(2);
    const bad = await keys.store.append(
      'key-key_bad',
      0,
      [{ type: 'KeyCreated', data: { keyId: 'key_bad', kind: 'access-key', createdAt: iso(now) } }],
      meta,
    );
    const poison = bad.events[0]!;
    const afterKey = generateKey('management');
    await keys.store.append('key-key_after', 0, [userKeyCreated('key_after', 'usr_alice', afterKey, now)], meta);
    for (const r of running) {
      await eventually(() => expect(r.freshness.halted()).toBe(true), { timeoutMs: 30_000 });
      expect(await status(r.app, afterKey)).toBe(503);
      await eventually(() =>
        expect(r.runtime.status().waiverLookup).toMatchObject({
          eventId: poison.id,
          lastCheckAt: expect.any(String),
          waiver: null,
        }),
      );
    }

    // What `tollgate events waive` appends (the CLI itself is tested in libs/ops).
    await keys.store.append(
      'waivers',
      0,
      [
        {
          type: 'EventWaived',
          data: {
            eventId: poison.id,
            streamId: 'key-key_bad',
            eventVersion: 1,
            eventType: 'KeyCreated',
            reason: 'access key without hash or slot: test data',
            waivedBy: 'alice',
          },
        },
      ],
      { metadata: { actor: 'ops:alice', channel: 'ops', causationId: poison.id } },
    );

    for (const r of running) {
      await eventually(() => expect(r.freshness.isFresh()).toBe(true), { timeoutMs: 30_000 });
      expect(r.model.keyById('key_after')?.userId).toBe('usr_alice');
      expect(r.model.keyById('key_bad')).toBeUndefined();
      expect(await status(r.app, afterKey)).toBe(200);
      // The waiver arrives through the topic as well: the model holds one.
      await eventually(() => expect(r.model.counts()).toMatchObject({ waivers: 1, waivedEvents: 1 }), {
        timeoutMs: 10_000,
      });
    }
  }, 120_000);
});
