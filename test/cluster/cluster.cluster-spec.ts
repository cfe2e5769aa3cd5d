// The deployed shape as a test tier (`npm run test:cluster`): three Kafka brokers (KRaft, replication factor
// 3, min.insync.replicas 2), PostgreSQL (embedded, or a fresh database on TEST_DATABASE_URL's server), two
// keys and two identity writers and three authz replicas, each its own process built from dist/. The
// README's walkthrough and the IdP's channels (a signed webhook, a SCIM change) run through them, and each
// change must reach every replica. Not part of `npm test`: see docs/operations.md ("The cluster tier").
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '../support';
import {
  call,
  deliverWebhook,
  forwardAuth,
  relayState,
  scim,
  SCIM_GROUP,
  SCIM_PATCH,
  SCIM_USER,
  startTollgateCluster,
  type TollgateCluster,
} from './harness';

const CONVERGE = { timeoutMs: 30_000, intervalMs: 200 };

describe('the deployed shape: 3 brokers, 2 keys + 2 identity writers, 3 authz replicas, as processes', () => {
  let tg: TollgateCluster;
  let admin: string;
  let replicas: string[];
  let projectId: string;

  /** Waits until every replica answers this key with `status` (and `reason`, when given). */
  const everyReplica = (key: string, status: number, reason?: string) =>
    eventually(async () => {
      for (const authz of replicas) {
        const answer = await forwardAuth(authz, key);
        expect({ authz, status: answer.status }).toEqual({ authz, status });
        if (reason) expect(answer.headers.get('x-ext-auth-reason')).toBe(reason);
      }
    }, CONVERGE);

  beforeAll(async () => {
    tg = await startTollgateCluster({ databaseUrl: process.env.TEST_DATABASE_URL?.trim() || undefined });
    admin = tg.admin;
    replicas = tg.urls('authz');
  }, 300_000);

  afterAll(async () => {
    await tg?.stop();
  }, 120_000);

  it('runs one relay per writer kind, the other process its standby, and both serve writes', async () => {
    for (const kind of ['keys', 'identity'] as const) {
      const states = await Promise.all(tg.urls(kind).map(relayState));
      expect(states.sort()).toEqual(['active', 'standby']);
    }
    const topics = await call(tg.url('keys-2'), 'GET', '/health/ready');
    expect(topics.status).toBe(200);
  }, 60_000);

  it('runs the README walkthrough across processes: a write on either writer reaches all three replicas', async () => {
    // The standby identity process takes writes: they go to PostgreSQL, only publishing is the relay's.
    const alice = await call(tg.url('identity-2'), 'POST', '/v1/users', {
      auth: admin,
      body: { name: 'alice', kind: 'internal' },
    });
    expect(alice.status).toBe(201);
    expect(alice.eventIds).toHaveLength(1);
    const project = await call(tg.url('identity-1'), 'POST', '/v1/projects', {
      auth: admin,
      body: { name: 'chatbots' },
    });
    expect(project.status).toBe(201);
    projectId = project.body.id;
    const deployment = await call(tg.url('identity-2'), 'POST', '/v1/deployments', {
      auth: admin,
      body: { projectId, name: 'llama-3-8b', hosts: ['llama.models.example.com'], grantedGroups: ['ml-team'] },
    });
    expect(deployment.status).toBe(201);
    const collaborator = await call(
      tg.url('identity-1'),
      'PUT',
      `/v1/projects/${projectId}/collaborators/${alice.body.id}`,
      { auth: admin, body: { role: 'contributor' } },
    );
    expect(collaborator.status).toBe(200);

    // A key created on the standby keys process, the retry answered by the other one from the same store.
    const request = { auth: admin, body: { name: 'notebook', scope: 'inference' } };
    const created = await call(tg.url('keys-2'), 'POST', `/v1/users/${alice.body.id}/keys`, {
      ...request,
      headers: { 'idempotency-key': 'alice-notebook-1' },
    });
    expect(created.status).toBe(201);
    const replay = await call(tg.url('keys-1'), 'POST', `/v1/users/${alice.body.id}/keys`, {
      ...request,
      headers: { 'idempotency-key': 'alice-notebook-1' },
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toMatchObject({ keyId: created.body.keyId, key: null });

    const key: string = created.body.key;
    await everyReplica(key, 200);
    const allowed = await forwardAuth(replicas[2]!, key);
    expect(allowed.headers.get('x-auth-subject')).toBe(alice.body.id);
    expect(allowed.headers.get('x-auth-deployment')).toBe(deployment.body.id);

    const revoked = await call(tg.url('keys-1'), 'DELETE', `/v1/keys/${created.body.keyId}`, { auth: admin });
    expect(revoked.status).toBe(200);
    expect(revoked.eventIds).toEqual([revoked.body.eventId]);
    await everyReplica(key, 401, 'key-revoked');
    // Every replica confirms it, whichever one is asked.
    const confirmation = await eventually(async () => {
      const answer = await call(replicas[1]!, 'GET', `/v1/revocations/${revoked.body.eventId}`, { auth: admin });
      expect(answer.status).toBe(200);
      expect(answer.body.appliedByAll).toBe(true);
      return answer.body;
    }, CONVERGE);
    expect(confirmation.replicas.map((r: { replicaId: string }) => r.replicaId).sort()).toEqual([
      'authz-1',
      'authz-2',
      'authz-3',
    ]);
  }, 120_000);

  it('an IdP webhook grants a group and a SCIM change takes it away, on every replica', async () => {
    const provisioned = await scim(tg.url('identity-1'), tg.scimToken, 'POST', '/Users', {
      schemas: [SCIM_USER],
      userName: 'ben@example.com',
      externalId: '00u-ben',
    });
    expect(provisioned.status).toBe(201);
    const ben: string = provisioned.body.id;
    const key = await call(tg.url('keys-1'), 'POST', `/v1/users/${ben}/keys`, {
      auth: admin,
      body: { name: 'ben', scope: 'inference' },
    });
    expect(key.status).toBe(201);
    // Ben is no collaborator: only a granted group lets him in.
    await everyReplica(key.body.key, 403, 'group-not-granted');

    const granted = await deliverWebhook(tg.url('identity-2'), tg.webhookSecret, {
      type: 'group.member.added',
      data: { subject: '00u-ben', group: 'ml-team' },
    });
    expect(granted.status).toBe(200);
    expect(granted.body).toEqual({ accepted: true });
    expect(granted.eventIds).toHaveLength(1);
    await everyReplica(key.body.key, 200);

    const group = await scim(tg.url('identity-2'), tg.scimToken, 'POST', '/Groups', {
      schemas: [SCIM_GROUP],
      displayName: 'ml-team',
      members: [{ value: ben }],
    });
    expect(group.status).toBe(201);
    const removed = await scim(tg.url('identity-1'), tg.scimToken, 'PATCH', `/Groups/${group.body.id}`, {
      schemas: [SCIM_PATCH],
      Operations: [{ op: 'remove', path: `members[value eq "${ben}"]` }],
    });
    expect(removed.status).toBe(204);
    expect(removed.eventIds).toHaveLength(1);
    await everyReplica(key.body.key, 403, 'group-not-granted');
    await eventually(async () => {
      const answer = await call(replicas[0]!, 'GET', `/v1/revocations/${removed.eventIds[0]}`, { auth: admin });
      expect(answer.body.appliedByAll).toBe(true);
      expect(answer.body.replicas).toHaveLength(3);
    }, CONVERGE);
  }, 120_000);

  it('after kill -9 of the active keys writer, the standby publishes: a revocation still reaches every replica', async () => {
    const user = await call(tg.url('identity-1'), 'POST', '/v1/users', {
      auth: admin,
      body: { name: 'carol', kind: 'internal' },
    });
    await call(tg.url('identity-1'), 'PUT', `/v1/projects/${projectId}/collaborators/${user.body.id}`, {
      auth: admin,
      body: { role: 'contributor' },
    });
    const key = await call(tg.url('keys-1'), 'POST', `/v1/users/${user.body.id}/keys`, {
      auth: admin,
      body: { name: 'carol', scope: 'inference' },
    });
    expect(key.status).toBe(201);
    await everyReplica(key.body.key, 200);

    const writers = tg.cluster.of('keys');
    const states = await Promise.all(writers.map((w) => relayState(w.url)));
    const active = writers[states.indexOf('active')]!;
    const standby = writers.find((w) => w !== active)!;
    await active.process.kill('SIGKILL');

    const revoked = await call(standby.url, 'DELETE', `/v1/keys/${key.body.keyId}`, { auth: admin });
    expect(revoked.status).toBe(200);
    await everyReplica(key.body.key, 401, 'key-revoked');
    expect(await relayState(standby.url)).toBe('active');

    // Back, it waits as the standby.
    await active.process.start();
    expect(await relayState(active.url)).toBe('standby');
  }, 180_000);
});
