import { generateKey, hashSecret } from '@tollgate/authn';
import { loadConfig } from '@tollgate/config';
import { createDataSource } from '@tollgate/database';
import { decodeMessage, PostgresEventStore } from '@tollgate/event-store';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { createTestDatabase, eventually, testKafkaBrokers, uniqueName, type TestDatabase } from '../../../test/support';
import { type CliContext, runCli } from './cli';
import { EXIT } from './cli-errors';
import { createOutput } from './output';

// The CLI against real PostgreSQL (and Kafka for republish), on events appended the way the writers do.
describe('tollgate CLI on a real event store', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let keys: PostgresEventStore;
  let identity: PostgresEventStore;
  const secret = generateKey('inference');
  const meta = { actor: 'usr_admin', channel: 'rest' };
  const times: Record<string, number> = {};

  const cli = async (args: string[], env: Record<string, string> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const context = (json: boolean): CliContext => ({
      config: loadConfig({ DATABASE_URL: database.url, ...env }),
      out: createOutput(json, (t) => void out.push(t)),
      database: async () => database.url,
      readStdin: async () => `found in a log: ${secret}\n`,
    });
    const code = await runCli(args, context, (t) => void err.push(t));
    return { code, out: out.join(''), err: err.join('') };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const migrated = await cli(['migrate', '--json']);
    expect(migrated.code).toBe(EXIT.ok);
    expect(JSON.parse(migrated.out).ran.length).toBeGreaterThan(0);
    dataSource = createDataSource({ url: database.url, migrations: [] });
    await dataSource.initialize();
    const registry = new Registry();
    keys = new PostgresEventStore({ dataSource, schema: 'keys', registry });
    identity = new PostgresEventStore({ dataSource, schema: 'identity', registry });
    const now = new Date().toISOString();
    const at = async (name: string, p: Promise<{ events: { recordedAt: Date }[] }>) => {
      times[name] = (await p).events[0]!.recordedAt.getTime();
    };
    await at(
      'users',
      identity.append(
        'user-usr_alice',
        0,
        [
          {
            type: 'UserCreated',
            data: { userId: 'usr_alice', name: 'alice', kind: 'internal', admin: false, email: null, createdAt: now },
          },
        ],
        { metadata: meta },
      ),
    );
    await identity.append(
      'project-prj_1',
      0,
      [
        { type: 'ProjectCreated', data: { projectId: 'prj_1', name: 'vision', ownerId: 'usr_alice', createdAt: now } },
        { type: 'CollaboratorSet', data: { projectId: 'prj_1', userId: 'usr_alice', role: 'owner' } },
      ],
      { metadata: meta },
    );
    await at(
      'deployment',
      identity.append(
        'deployment-dep_1',
        0,
        [
          {
            type: 'DeploymentCreated',
            data: {
              deploymentId: 'dep_1',
              projectId: 'prj_1',
              name: 'resnet',
              hosts: ['resnet.example.com'],
              pathPrefixes: ['/'],
              authentication: true,
              credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
              grantedGroups: [],
              environment: null,
            },
          },
        ],
        { metadata: meta },
      ),
    );
    await at(
      'key',
      keys.append(
        'key-key_alice',
        0,
        [
          {
            type: 'KeyCreated',
            data: {
              keyId: 'key_alice',
              kind: 'user-key',
              secretHash: hashSecret(secret),
              name: 'ci',
              userId: 'usr_alice',
              scope: 'inference',
              expiresAt: null,
              createdAt: now,
            },
          },
        ],
        { metadata: meta },
      ),
    );
    await at(
      'removed',
      identity.append(
        'project-prj_1',
        2,
        [{ type: 'CollaboratorRemoved', data: { projectId: 'prj_1', userId: 'usr_alice' } }],
        { metadata: meta },
      ),
    );
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('migrate is idempotent', async () => {
    const again = await cli(['migrate']);
    expect(again.code).toBe(EXIT.ok);
    expect(again.out).toContain('every schema is up to date');
  });

  it('events tail filters by type and prints JSON lines', async () => {
    const result = await cli(['events', 'tail', '--type', 'CollaboratorSet', '--json']);
    expect(result.code).toBe(EXIT.ok);
    const lines = result.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      store: 'identity',
      type: 'CollaboratorSet',
      streamId: 'project-prj_1',
      streamVersion: 2,
    });
  });

  it('events show finds an event by id and by position', async () => {
    const [first] = await keys.readAll({ limit: 1 });
    const byId = await cli(['events', 'show', first!.id, '--json']);
    expect(JSON.parse(byId.out)).toMatchObject({ id: first!.id, type: 'KeyCreated', store: 'keys' });
    expect(byId.out).not.toContain(secret);
    const byPosition = await cli(['events', 'show', String(first!.position), '--store', 'keys']);
    expect(byPosition.out).toContain(first!.id);
    const missing = await cli(['events', 'show', 'evt_nope']);
    expect(missing.code).toBe(EXIT.notFound);
  });

  it('audit who-can answers for a time before and after a change', async () => {
    const before = await cli(['audit', 'who-can', 'dep_1', '--at', new Date(times.key!).toISOString(), '--json']);
    expect(
      JSON.parse(before.out).subjects.map((s: { subject: string; reason: string }) => `${s.subject}:${s.reason}`),
    ).toEqual(['usr_alice:collaborator']);
    const after = await cli(['audit', 'who-can', 'dep_1', '--at', new Date(times.removed!).toISOString(), '--json']);
    expect(JSON.parse(after.out).subjects).toEqual([]);
    const why = await cli(['audit', 'why', 'alice', 'dep_1', '--at', new Date(times.removed!).toISOString()]);
    expect(why.out).toContain('DENIED (403 not-collaborator)');
    const early = await cli(['audit', 'who-can', 'dep_1', '--at', new Date(times.users!).toISOString()]);
    expect(early.code).toBe(EXIT.notFound);
  });

  it('keys scan reports the key id, owner and state of a leaked key', async () => {
    const result = await cli(['keys', 'scan', '-', '--json']);
    expect(result.code).toBe(EXIT.found);
    expect(JSON.parse(result.out).findings[0]).toMatchObject({
      keyId: 'key_alice',
      owner: 'alice',
      state: 'valid',
      line: 1,
    });
    expect(result.out).not.toContain(secret);
  });

  it('events republish sends the store again to Kafka, as CloudEvents', async () => {
    const topic = uniqueName('republish');
    const brokers = testKafkaBrokers();
    const kafka = new Kafka({ clientId: 'ops-test', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await admin.disconnect();
    const result = await cli(['events', 'republish', '--store', 'identity', '--from', '1', '--topic', topic], {
      KAFKA_BROKERS: brokers.join(','),
    });
    expect(result.code).toBe(EXIT.ok);
    expect(result.out).toContain('republished 5 events of identity');
    const consumer = kafka.consumer({ groupId: uniqueName('g'), maxWaitTimeInMs: 50 });
    const types: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = decodeMessage(message);
        if (decoded.kind === 'event') types.push(decoded.event.type);
      },
    });
    await eventually(() => expect(types).toHaveLength(5), { timeoutMs: 20_000 });
    await consumer.disconnect();
    expect(types).toContain('DeploymentCreated');
  });
});
