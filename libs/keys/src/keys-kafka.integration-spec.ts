import { AccessModelModule } from '@tollgate/access-model';
import { IDENTITY_SCHEMA, IDENTITY_TOPIC, KEYS_TOPIC } from '@tollgate/contracts';
import { createDataSource } from '@tollgate/database';
import { Relay } from '@tollgate/event-store';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { eventually, uniqueName } from '../../../test/support';
import { httpClient } from '../../../test/support/http';
import { recordTopic, testKafkaClient, type TopicRecorder } from '../../../test/support/kafka';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { KeysModule } from './keys.module';
import { IdentityFixture } from './testing/identity-fixture';

const ADMIN = 'bootstrap-admin-credential-for-the-kafka-tests-01';

/**
 * Deployed mode: the keys service relays its events to tollgate.keys.v1, and learns of UserDeactivated from
 * tollgate.identity.v1 (published here by the real relay over an identity store played by the test).
 */
describe('keys service on Kafka', () => {
  let app: TestApp;
  let identity: IdentityFixture;
  let identityRelay: Relay;
  let identityDataSource: DataSource;
  let topic: TopicRecorder;
  let call: ReturnType<typeof httpClient>;
  const run = uniqueName('kk').replace(/_/g, '').slice(-10);
  const bySubject = (subject: string) => topic.byKey(subject);

  beforeAll(async () => {
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx),
        KeysModule.forRoot(ctx, { signingKeySchedule: { firstKeyLeadMs: 300 } }),
      ],
      {
        kafka: true,
        env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN, TOLLGATE_REPLICA_ID: `keys-kafka-${run}` },
      },
    );
    call = httpClient(app.url);
    identity = await IdentityFixture.start(app.context.databaseUrl);
    identityDataSource = createDataSource({
      url: app.context.databaseUrl,
      schema: IDENTITY_SCHEMA,
      migrations: [],
      name: 'keys-test-identity-relay',
      poolSize: 3,
    });
    await identityDataSource.initialize();
    const kafka = testKafkaClient(`keys-test-${run}`);
    identityRelay = new Relay({
      dataSource: identityDataSource,
      schema: IDENTITY_SCHEMA,
      kafka,
      topic: IDENTITY_TOPIC,
      registry: new Registry(),
    });
    await identityRelay.start();
    topic = await recordTopic(KEYS_TOPIC, kafka);
  });

  afterAll(async () => {
    await topic?.stop();
    await identityRelay?.stop();
    await identityDataSource?.destroy();
    await identity?.close();
    await app?.close();
  });

  it('publishes KeyCreated and KeyRevoked as CloudEvents keyed by stream, with hashes only', async () => {
    const created = await call('POST', '/v1/keys', {
      auth: ADMIN,
      body: { name: `kafka ${run}`, scope: 'inference' },
      headers: { 'x-request-id': `req_${run}` },
    });
    expect(created.status).toBe(201);
    const revoked = await call('DELETE', `/v1/keys/${created.body.keyId}`, { auth: ADMIN });
    const subject = `key-${created.body.keyId}`;
    await eventually(() => expect(bySubject(subject)).toHaveLength(2), { timeoutMs: 20_000 });
    const [createdMessage, revokedMessage] = bySubject(subject);
    expect(createdMessage!.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'KeyCreated',
      ce_source: '/tollgate/keys',
      ce_subject: subject,
      ce_id: expect.stringMatching(/^evt_/),
      ce_time: expect.stringMatching(/Z$/),
      ce_streamversion: '1',
      ce_actor: 'usr_admin',
      ce_channel: 'rest',
      ce_correlationid: `req_${run}`,
    });
    expect(JSON.parse(createdMessage!.value)).toMatchObject({
      keyId: created.body.keyId,
      kind: 'user-key',
      secretHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(createdMessage!.value).not.toContain(created.body.key);
    expect(revokedMessage!.headers).toMatchObject({
      ce_type: 'KeyRevoked',
      ce_id: revoked.body.eventId,
      ce_streamversion: '2',
    });
    // The admin revoked its own key: reason `user`.
    expect(JSON.parse(revokedMessage!.value)).toMatchObject({ keyId: created.body.keyId, reason: 'user' });
  });

  it('publishes signing keys (public half only) on the same topic', async () => {
    await eventually(() => expect(bySubject('signing-keys').length).toBeGreaterThan(0), { timeoutMs: 20_000 });
    for (const message of bySubject('signing-keys')) {
      expect(message.value).not.toMatch(/PRIVATE KEY|"d":/);
    }
  });

  it('revokes the keys of a user deactivated on the identity topic, and a management key authenticates through Kafka', async () => {
    const userId = `usr_kafka${run}`;
    await identity.user(userId, `kafka user ${run}`);
    // The admin may create the user's key once the access model (fed from Kafka) knows the user.
    const created = await eventually(
      async () => {
        const res = await call('POST', `/v1/users/${userId}/keys`, {
          auth: ADMIN,
          body: { name: 'k', scope: 'management' },
        });
        expect(res.status).toBe(201);
        return res.body;
      },
      { timeoutMs: 20_000 },
    );
    await eventually(async () => expect((await call('GET', '/v1/keys', { auth: created.key })).status).toBe(200), {
      timeoutMs: 20_000,
    });
    await identity.deactivate(userId);
    await eventually(
      async () => {
        const list = await call('GET', `/v1/users/${userId}/keys`, { auth: ADMIN });
        expect(list.body.keys[0]).toMatchObject({ status: 'revoked', revocationReason: 'user-deactivated' });
      },
      { timeoutMs: 20_000 },
    );
    await eventually(
      () =>
        expect(bySubject(`key-${created.keyId}`).map((m) => m.headers.ce_type)).toEqual(['KeyCreated', 'KeyRevoked']),
      { timeoutMs: 20_000 },
    );
    expect(JSON.parse(bySubject(`key-${created.keyId}`)[1]!.value).reason).toBe('user-deactivated');
  });
});
