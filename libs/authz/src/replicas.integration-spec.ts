// Deployed mode on real Kafka: the writers' events are committed with the event store and relayed to the
// topics; three authz replicas, each with its own AccessModelModule, follow them. A revocation is refused by
// all three, each confirms it on the confirmations topic, and GET /v1/revocations/{id} on any replica shows
// all three applied.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessModelModule } from '@tollgate/access-model';
import { Kafka, logLevel } from 'kafkajs';
import { createTestDatabase, eventually, testKafkaBrokers, type TestDatabase, uniqueName } from '../../../test/support';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { AuthzModule } from './authz.module';
import { type AuthzFixture, buildAuthzFixture } from './testing/fixture';
import { type FixtureWriters, openFixtureWriters } from './testing/writers';

const ADMIN_KEY = randomBytes(24).toString('base64url');

interface RevocationStatusBody {
  eventId: string;
  committedAt: string;
  replicas: { replicaId: string; appliedAt: string | null; lagMs: number | null }[];
  appliedByAll: boolean;
}

describe('three authz replicas on real Kafka', () => {
  let fixture: AuthzFixture;
  let database: TestDatabase;
  let writers: FixtureWriters;
  const replicas: TestApp[] = [];
  const replicaIds = ['a', 'b', 'c'].map((n) => `authz-${n}-${randomBytes(3).toString('hex')}`);
  const confirmationsTopic = uniqueName('authz_confirmations');

  beforeAll(async () => {
    fixture = await buildAuthzFixture(Date.now(), { withTokens: false });
    database = await createTestDatabase();
    writers = await openFixtureWriters(database.url);
    await writers.startRelays(
      new Kafka({ clientId: 'authz-test-writers', brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }),
    );
    await writers.write(fixture.streams);
    for (const replicaId of replicaIds) {
      replicas.push(
        await startTestApp(
          (ctx) => [AccessModelModule.forRoot(ctx), AuthzModule.forRoot(ctx, { confirmationsTopic, heartbeatMs: 200 })],
          {
            kafka: true,
            env: {
              TOLLGATE_REPLICA_ID: replicaId,
              GRPC_PORT: '0',
              TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
              LOG_LEVEL: 'warn',
            },
          },
        ),
      );
    }
  }, 90_000);

  afterAll(async () => {
    for (const app of replicas) await app.close().catch(() => undefined);
    await writers?.close();
    await database?.drop();
  });

  const forwardAuth = async (app: TestApp, secret: string) => {
    const res = await fetch(`${app.url}/v1/forward-auth`, {
      headers: {
        'x-forwarded-host': fixture.host,
        'x-original-uri': '/v1/main/chat',
        authorization: `Bearer ${secret}`,
      },
    });
    return [res.status, res.headers.get('x-ext-auth-reason') ?? 'allowed'];
  };

  const revocation = async (app: TestApp, eventId: string) => {
    const res = await fetch(`${app.url}/v1/revocations/${eventId}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    return { status: res.status, body: (await res.json()) as RevocationStatusBody };
  };

  it('every replica catches up from the topics and answers from its own model', async () => {
    await eventually(
      async () => {
        for (const app of replicas)
          expect(await forwardAuth(app, fixture.keys.erin.secret)).toEqual([403, 'group-not-granted']);
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }, 70_000);

  it('a revocation is refused by all three replicas, and each confirms it', async () => {
    const key = fixture.keys.aliceInference;
    for (const app of replicas) expect(await forwardAuth(app, key.secret)).toEqual([200, 'allowed']);
    // Every replica knows the others (heartbeats on the confirmations topic) before the revocation.
    await eventually(async () => {
      const probe = await revocation(replicas[0]!, 'evt_none');
      expect(probe.status).toBe(404);
    });

    const { eventId, committedAt } = await writers.revoke(key.keyId, 'leaked');
    await eventually(
      async () => {
        for (const app of replicas) expect(await forwardAuth(app, key.secret)).toEqual([401, 'key-revoked']);
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );

    for (const app of replicas) {
      const status = await eventually(
        async () => {
          const r = await revocation(app, eventId);
          expect(r.status).toBe(200);
          expect(r.body.appliedByAll).toBe(true);
          expect(r.body.replicas.map((x) => x.replicaId).sort()).toEqual([...replicaIds].sort());
          return r.body;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      expect(Math.abs(Date.parse(status.committedAt) - committedAt)).toBeLessThan(1000);
      for (const replica of status.replicas) {
        expect(replica.appliedAt).not.toBeNull();
        expect(Date.parse(replica.appliedAt!)).toBeGreaterThanOrEqual(Date.parse(status.committedAt));
        expect(replica.lagMs).toBeGreaterThanOrEqual(0);
      }
    }
  }, 60_000);

  it('a replica that stopped leaves the live set: the others no longer wait for it', async () => {
    // A replica that stopped is no longer live: the others stop waiting for it.
    const [, , third] = replicas;
    await third!.close();
    replicas.pop();
    const key = fixture.keys.carol;
    const { eventId } = await writers.revoke(key.keyId);
    const body = await eventually(
      async () => {
        const r = await revocation(replicas[0]!, eventId);
        expect(r.status).toBe(200);
        expect(r.body.appliedByAll).toBe(true);
        return r.body;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(body.replicas.map((r) => r.replicaId).sort()).toEqual(replicaIds.slice(0, 2).sort());
  }, 30_000);
});
