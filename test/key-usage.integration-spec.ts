import { AccessModelModule } from '@tollgate/access-model';
import { AuthzModule } from '@tollgate/authz';
import { IDENTITY_SCHEMA, IDENTITY_TOPIC, type KeysUsed } from '@tollgate/contracts';
import { createDataSource } from '@tollgate/database';
import { Relay } from '@tollgate/event-store';
import { KeysModule } from '@tollgate/keys';
import type { Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { IdentityFixture } from '../libs/keys/src/testing/identity-fixture';
import { eventually, uniqueName } from './support';
import { httpClient } from './support/http';
import { testKafkaClient } from './support/kafka';
import { startTestApp, type TestApp } from './support/test-app';

const ADMIN = 'bootstrap-admin-credential-for-the-key-usage-tests';
const MINUTE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/;
const minuteOf = (ms: number) => ms - (ms % 60_000);

/**
 * "Last used" end to end: a key used through the authorizer shows `lastUsedAt` (to the minute) in the key
 * listings once the replica's interval has passed, through Kafka (deployed shape: keys, authz and the access
 * model on the topics) and through the in-process bus (embedded mode, no Kafka).
 */
async function world(app: TestApp, identity: IdentityFixture, run: string) {
  const call = httpClient(app.url);
  const alice = `usr_alice${run}`;
  const project = `prj_usage${run}`;
  const deployment = `dep_usage${run}`;
  await identity.user(`usr_owner${run}`, `owner${run}`);
  await identity.user(alice, `alice${run}`);
  await identity.project(project, `usr_owner${run}`);
  await identity.role(project, alice, 'contributor');
  await identity.deployment(deployment, project);
  const key = async (name: string, scope: 'inference' | 'management' = 'inference') =>
    eventually(
      async () => {
        const r = await call('POST', `/v1/users/${alice}/keys`, { auth: ADMIN, body: { name, scope } });
        if (r.status !== 201) throw new Error(`key for alice: ${r.status} ${r.text}`);
        return r.body as { keyId: string; key: string };
      },
      { timeoutMs: 20_000 },
    );
  const listed = async () => {
    const r = await call('GET', `/v1/users/${alice}/keys`, { auth: ADMIN });
    expect(r.status).toBe(200);
    return Object.fromEntries(
      (r.body.keys as { keyId: string; lastUsedAt: string | null }[]).map((k) => [k.keyId, k.lastUsedAt]),
    );
  };
  /** Calls the authorizer with the key until it is allowed (the model learns of the key a moment after the 201). */
  const use = (secret: string) =>
    eventually(
      async () => {
        const r = await call('POST', '/v1/authorize', { body: { deployment, authorization: `Bearer ${secret}` } });
        expect(r.body).toMatchObject({ allowed: true, reason: 'collaborator' });
      },
      { timeoutMs: 20_000 },
    );
  return { call, alice, key, listed, use };
}

describe('key usage through Kafka (authz publishes KeysUsed, keys folds it)', () => {
  let app: TestApp;
  let identity: IdentityFixture;
  let identityRelay: Relay;
  let identityDataSource: DataSource;
  let producer: Producer;
  let w: Awaited<ReturnType<typeof world>>;
  const run = uniqueName('ku').replace(/_/g, '').slice(-10);
  const keyUsageTopic = uniqueName('key_usage');

  beforeAll(async () => {
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx, { keyUsageTopic }),
        KeysModule.forRoot(ctx, { keyUsageTopic }),
        AuthzModule.forRoot(ctx, { confirmationsTopic: uniqueName('confirmations') }),
      ],
      {
        kafka: true,
        env: {
          TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN,
          TOLLGATE_REPLICA_ID: `usage-${run}`,
          TOLLGATE_KEY_USAGE_INTERVAL_MS: '1000',
          GRPC_PORT: '0',
        },
      },
    );
    identity = await IdentityFixture.start(app.context.databaseUrl);
    identityDataSource = createDataSource({
      url: app.context.databaseUrl,
      schema: IDENTITY_SCHEMA,
      migrations: [],
      name: 'key-usage-test-identity-relay',
      poolSize: 2,
    });
    await identityDataSource.initialize();
    const kafka = testKafkaClient(`key-usage-test-${run}`);
    identityRelay = new Relay({
      dataSource: identityDataSource,
      schema: IDENTITY_SCHEMA,
      kafka,
      topic: IDENTITY_TOPIC,
      registry: new Registry(),
    });
    await identityRelay.start();
    producer = kafka.producer();
    await producer.connect();
    w = await world(app, identity, run);
  }, 60_000);

  afterAll(async () => {
    await producer?.disconnect();
    await identityRelay?.stop();
    await identityDataSource?.destroy();
    await identity?.close();
    await app?.close();
  });

  it('shows lastUsedAt to the minute after a use, null before; a stale batch does not move it back', async () => {
    const used = await w.key('used');
    const other = await w.key('other');
    expect(await w.listed()).toEqual({ [used.keyId]: null, [other.keyId]: null });

    const before = minuteOf(Date.now());
    await w.use(used.key);
    const after = minuteOf(Date.now());
    const lastUsedAt = await eventually(
      async () => {
        const value = (await w.listed())[used.keyId];
        expect(value).toMatch(MINUTE);
        return value!;
      },
      { timeoutMs: 20_000 },
    );
    expect(Date.parse(lastUsedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(lastUsedAt)).toBeLessThanOrEqual(after);
    // The same field in every listing of the key.
    const mine = await w.call('GET', `/v1/keys/${used.keyId}`, { auth: ADMIN });
    expect(mine.body.lastUsedAt).toBe(lastUsedAt);
    const expiring = await w.call('GET', '/v1/keys/expiring?days=36500', { auth: ADMIN });
    expect(expiring.body.keys.find((k: { keyId: string }) => k.keyId === used.keyId)?.lastUsedAt).toBe(lastUsedAt);

    // A late batch from another replica with an older minute (and, in the same message, a marker: once the
    // marker shows, the batch has been folded) leaves the newer value alone.
    const stale: KeysUsed = {
      type: 'KeysUsed',
      replicaId: `old-replica-${run}`,
      publishedAt: '2026-01-01T00:01:00.000Z',
      keys: [
        { keyId: used.keyId, lastUsedAt: '2026-01-01T00:00:00.000Z' },
        { keyId: other.keyId, lastUsedAt: '2026-01-01T00:00:00.000Z' },
      ],
    };
    await producer.send({ topic: keyUsageTopic, messages: [{ key: stale.replicaId, value: JSON.stringify(stale) }] });
    await eventually(async () => expect((await w.listed())[other.keyId]).toBe('2026-01-01T00:00:00.000Z'), {
      timeoutMs: 20_000,
    });
    expect((await w.listed())[used.keyId]).toBe(lastUsedAt);
  });
});

describe('key usage in embedded mode (no Kafka: the in-process bus)', () => {
  let app: TestApp;
  let identity: IdentityFixture;
  let w: Awaited<ReturnType<typeof world>>;
  const run = uniqueName('ke').replace(/_/g, '').slice(-10);

  beforeAll(async () => {
    app = await startTestApp(
      (ctx) => [AccessModelModule.forRoot(ctx), KeysModule.forRoot(ctx), AuthzModule.forRoot(ctx)],
      { env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN, TOLLGATE_KEY_USAGE_INTERVAL_MS: '1000', GRPC_PORT: '0' } },
    );
    identity = await IdentityFixture.start(app.context.databaseUrl);
    w = await world(app, identity, run);
  }, 60_000);

  afterAll(async () => {
    await identity?.close();
    await app?.close();
  });

  it('shows lastUsedAt after a use through the authorizer, and of a management key on the management API', async () => {
    const used = await w.key('used');
    const unused = await w.key('unused');
    const cli = await w.key('cli', 'management');
    await w.use(used.key);
    // The bootstrap credential is no key: its calls (w.listed) count for nothing.
    expect((await w.call('GET', '/v1/keys', { auth: cli.key })).status).toBe(200);
    await eventually(
      async () => {
        const listed = await w.listed();
        expect(listed[used.keyId]).toMatch(MINUTE);
        expect(listed[cli.keyId]).toMatch(MINUTE);
      },
      { timeoutMs: 20_000 },
    );
    expect((await w.listed())[unused.keyId]).toBeNull();
  });
});
