// Fault test on a dedicated Kafka broker (started for this file only, so stopping it harms no other test):
// while the broker is frozen (SIGSTOP: no heartbeat, no event reaches the replica) the authorizer fails closed
// with 503 authorizer-stale once the freshness bound has passed; when the broker comes back (SIGCONT) it serves
// again, and a key revoked during the outage is refused by the time the bound has passed since its commit
// (before that the contract lets a replica answer from data up to the bound old). (The replica is closed while the broker runs: a Kafka client of the access model keeps retrying
// forever after its broker is gone, which would keep the test process alive.)
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessModelModule } from '@tollgate/access-model';
import { Kafka, logLevel } from 'kafkajs';
import { type KafkaHandle, startKafka } from '../../../deploy/kafka/local-kafka.mjs';
import { createTestDatabase, eventually, type TestDatabase } from '../../../test/support';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { AuthzModule } from './authz.module';
import { type AuthzFixture, buildAuthzFixture } from './testing/fixture';
import { type FixtureWriters, openFixtureWriters } from './testing/writers';

const MAX_STALENESS_MS = 2000;

/** The broker's JVM: the process whose command line names this broker's own server.properties. */
function brokerPid(kafka: KafkaHandle): number {
  const config = join(dirname(kafka.logFile), 'server.properties');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(config)) return Number(entry);
    } catch {
      // the process went away while scanning
    }
  }
  throw new Error(`no process runs ${config}`);
}

describe('authz when the Kafka broker goes away', () => {
  let kafka: KafkaHandle;
  let pid: number;
  let frozen = false;
  let fixture: AuthzFixture;
  let database: TestDatabase;
  let writers: FixtureWriters;
  let app: TestApp;

  beforeAll(async () => {
    kafka = await startKafka();
    pid = brokerPid(kafka);
    fixture = await buildAuthzFixture(Date.now(), { withTokens: false });
    database = await createTestDatabase();
    writers = await openFixtureWriters(database.url);
    await writers.startRelays(
      new Kafka({ clientId: 'authz-fault-writers', brokers: kafka.brokers, logLevel: logLevel.NOTHING }),
    );
    await writers.write(fixture.streams);
    app = await startTestApp(
      (ctx) => [AccessModelModule.forRoot(ctx), AuthzModule.forRoot(ctx, { heartbeatMs: 200 })],
      {
        env: {
          TOLLGATE_MAX_STALENESS_MS: String(MAX_STALENESS_MS),
          GRPC_PORT: '0',
          LOG_LEVEL: 'error',
          TOLLGATE_REPLICA_ID: `authz-fault-${randomBytes(3).toString('hex')}`,
        },
        configure: (config) => ({
          ...config,
          kafka: { brokers: kafka.brokers, clientId: 'tollgate-fault', partitions: 6 },
        }),
      },
    );
  }, 120_000);

  afterAll(async () => {
    if (frozen) process.kill(pid, 'SIGCONT');
    await app?.close().catch(() => undefined);
    await writers?.close().catch(() => undefined);
    await database?.drop();
    await kafka?.stop();
  }, 60_000);

  const forwardAuth = async (secret: string) => {
    const res = await fetch(`${app.url}/v1/forward-auth`, {
      headers: { 'x-forwarded-host': fixture.host, 'x-original-uri': '/v1/main', authorization: `Bearer ${secret}` },
    });
    return {
      status: res.status,
      reason: res.headers.get('x-ext-auth-reason') ?? 'allowed',
      retryAfter: res.headers.get('retry-after'),
    };
  };

  it('serves while the broker is up', async () => {
    await eventually(
      async () => expect(await forwardAuth(fixture.keys.aliceInference.secret)).toMatchObject({ status: 200 }),
      {
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
  }, 70_000);

  it('fails closed with 503 authorizer-stale within the bound once the broker is frozen', async () => {
    process.kill(pid, 'SIGSTOP');
    frozen = true;
    // The deadline is the bound plus the poll period and a heartbeat period of slack.
    await eventually(
      async () =>
        expect(await forwardAuth(fixture.keys.aliceInference.secret)).toEqual({
          status: 503,
          reason: 'authorizer-stale',
          retryAfter: '2',
        }),
      { timeoutMs: MAX_STALENESS_MS + 1500, intervalMs: 50 },
    );
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(503);
  }, 20_000);

  it('never allows a key revoked during the outage past the bound, and serves again when the broker is back', async () => {
    // Committed while the broker is frozen: the relay cannot publish it yet.
    const { committedAt } = await writers.revoke(fixture.keys.bob.keyId, 'leaked');
    process.kill(pid, 'SIGCONT');
    frozen = false;
    const answers: { at: number; answer: string }[] = [];
    await eventually(
      async () => {
        const at = Date.now();
        const answer = await forwardAuth(fixture.keys.bob.secret);
        answers.push({ at, answer: `${answer.status} ${answer.reason}` });
        expect(answer).toMatchObject({ status: 401, reason: 'key-revoked' });
      },
      { timeoutMs: 60_000, intervalMs: 25 },
    );
    // The contract's bound: a revocation committed at t is enforced by every serving replica by t + maxStaleness.
    // Before that the old answer (403 for this viewer) is allowed; after it, only "stale" or "revoked".
    const late = answers.filter(
      (a) =>
        a.at >= committedAt + MAX_STALENESS_MS && a.answer !== '503 authorizer-stale' && a.answer !== '401 key-revoked',
    );
    expect(late).toEqual([]);
    expect(await forwardAuth(fixture.keys.aliceInference.secret)).toMatchObject({ status: 200 });
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
  }, 70_000);
});
