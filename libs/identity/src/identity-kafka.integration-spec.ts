import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IDENTITY_TOPIC } from '@tollgate/contracts';
import { eventually, uniqueName } from '../../../test/support';
import { recordTopic, type TopicRecorder } from '../../../test/support/kafka';
import { ADMIN_KEY, type IdentityTestApp, startIdentityApp } from './testing/identity-app';

/**
 * Deployed mode: the identity service relays its events to tollgate.identity.v1, and the access model of
 * the process (fed from Kafka) authenticates its users and computes /v1/me from them.
 */
describe('identity service on Kafka', () => {
  let app: IdentityTestApp;
  let topic: TopicRecorder;
  const run = uniqueName('ik').replace(/_/g, '').slice(-10);
  const bySubject = (subject: string) => topic.byKey(subject);

  beforeAll(async () => {
    app = await startIdentityApp({
      env: { TOLLGATE_REPLICA_ID: `identity-kafka-${run}`, TOLLGATE_MAX_STALENESS_MS: '5000' },
      kafka: true,
    });
    topic = await recordTopic(IDENTITY_TOPIC);
  });

  afterAll(async () => {
    await topic?.stop();
    await app?.close();
  });

  it('publishes directory events as CloudEvents keyed by stream, with actor and channel; the access model learns them from Kafka', async () => {
    const created = await app.call('POST', '/v1/users', {
      auth: ADMIN_KEY,
      body: { name: `kafka-${run}`, kind: 'internal' },
      headers: { 'x-request-id': `req_${run}` },
    });
    expect(created.status).toBe(201);
    const subject = `user-${created.body.id}`;
    await eventually(() => expect(bySubject(subject)).toHaveLength(1), { timeoutMs: 20_000 });
    expect(bySubject(subject)[0]!.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'UserCreated',
      ce_source: '/tollgate/identity',
      ce_subject: subject,
      ce_streamversion: '1',
      ce_actor: 'usr_admin',
      ce_channel: 'rest',
      ce_correlationid: `req_${run}`,
    });
    expect(JSON.parse(bySubject(subject)[0]!.value)).toMatchObject({ userId: created.body.id, name: `kafka-${run}` });

    // The keys service (fed from Kafka) issues the user a key; the user's project and deployment reach /v1/me.
    const key = await eventually(async () => app.managementKey(created.body.id), { timeoutMs: 20_000 });
    const project = (await app.call('POST', '/v1/projects', { auth: key, body: { name: 'on-kafka' } })).body.id;
    const dep = (
      await app.call('POST', '/v1/deployments', { auth: key, body: { projectId: project, name: 'kafka-dep' } })
    ).body;
    await eventually(
      async () => {
        const me = await app.call('GET', '/v1/me', { auth: key });
        expect(me.body.deployments).toContainEqual({
          id: dep.id,
          name: 'kafka-dep',
          projectId: project,
          hosts: [],
          pathPrefixes: ['/'],
        });
      },
      { timeoutMs: 20_000 },
    );
  });

  it('publishes its sign-in signing key (public half only) on the identity topic', async () => {
    const published = () =>
      bySubject('identity-signing-keys').filter((m) => m.headers.ce_type === 'SigningKeyPublished');
    await eventually(() => expect(published().length).toBeGreaterThan(0), { timeoutMs: 20_000 });
    // The topic is shared by the test files: another one's rotations put retirements on this stream too.
    for (const message of bySubject('identity-signing-keys')) {
      expect(['SigningKeyPublished', 'SigningKeyRetired']).toContain(message.headers.ce_type);
      expect(message.value).not.toMatch(/PRIVATE KEY|"d":/);
    }
  });
});
