import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@tollgate/config';
import { checkKafkaAccess, createKafka, KafkaAccessError } from '@tollgate/platform';
import { startKafka, type KafkaHandle } from '../../deploy/kafka/local-kafka.mjs';
import { eventually, uniqueName } from '../support';
import { makeTestPki, type TestPki } from '../support/tls';
import { runToExit, startProduct, type ProductProcess } from './product-process';

// Kafka for real clusters (issue 17): the product over a broker that only talks TLS + SASL or TLS with client
// certificates. The broker is the local one from Maven jars, with a SASL_SSL listener (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512 users created at format time, OAUTHBEARER with Kafka's unsecured-token validator) and an SSL
// listener requiring client certificates, signed by a CA made with openssl for this test.
const ADMIN = 'e2e-kafka-security-admin-credential-0123';
const USERS = {
  plain: { alice: 'alice-plain-secret' },
  'scram-sha-256': { bob: 'bob-scram-256-secret' },
  'scram-sha-512': { tollgate: 'tollgate-scram-512-secret' },
};

/** An unsigned JWT (alg none), which Kafka's default OAUTHBEARER validator accepts: a test broker only. */
function unsecuredToken(sub: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub, iat: now, exp: now + 3600 })}.`;
}

describe('Kafka with TLS and SASL', () => {
  let dir: string;
  let pki: TestPki;
  let kafka: KafkaHandle;
  let saslSsl: string;
  let ssl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-kafka-tls-'));
    pki = makeTestPki(dir);
    kafka = await startKafka({
      security: { keystore: pki.serverKeystoreFile, truststore: pki.caFile, users: USERS },
    });
    saslSsl = kafka.saslSslBrokers!.join(',');
    ssl = kafka.sslBrokers!.join(',');
  }, 120_000);

  afterAll(async () => {
    await kafka?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  /** The product's own client factory, from environment variables as an operator sets them. */
  async function roundTrip(env: Record<string, string>): Promise<string> {
    const config = loadConfig(env).kafka!;
    expect(await checkKafkaAccess(config)).toEqual({ reachable: true });
    const client = createKafka(config, { clientSuffix: 'tls-test' });
    const topic = uniqueName('tls_roundtrip');
    const admin = client.admin();
    const producer = client.producer();
    const consumer = client.consumer({ groupId: uniqueName('tls_group'), maxWaitTimeInMs: 50 });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'over tls' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let received: string | undefined;
      await consumer.run({ eachMessage: async ({ message }) => void (received = message.value?.toString()) });
      return await eventually(async () => {
        expect(received).toBeDefined();
        return received!;
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }

  it.each([
    ['plain', 'alice'],
    ['scram-sha-256', 'bob'],
    ['scram-sha-512', 'tollgate'],
  ] as const)('produces and consumes over SASL_SSL with %s', async (mechanism, username) => {
    const password = (USERS[mechanism] as Record<string, string>)[username]!;
    const text = await roundTrip({
      KAFKA_BROKERS: saslSsl,
      KAFKA_SSL_CA_FILE: pki.caFile,
      KAFKA_SASL_MECHANISM: mechanism.toUpperCase(),
      KAFKA_SASL_USERNAME: username,
      KAFKA_SASL_PASSWORD: password,
    });
    expect(text).toBe('over tls');
  });

  it('produces and consumes over SASL_SSL with an OAUTHBEARER token read from a file', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${unsecuredToken('tollgate')}\n`);
    const text = await roundTrip({
      KAFKA_BROKERS: saslSsl,
      KAFKA_SSL_CA_FILE: pki.caFile,
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: tokenFile,
    });
    expect(text).toBe('over tls');
  });

  it('produces and consumes over TLS with a client certificate (the listener requires one)', async () => {
    const text = await roundTrip({
      KAFKA_BROKERS: ssl,
      KAFKA_SSL_CA_FILE: pki.caFile,
      KAFKA_SSL_CERT_FILE: pki.clientCertFile,
      KAFKA_SSL_KEY_FILE: pki.clientKeyFile,
    });
    expect(text).toBe('over tls');
  });

  it.each([
    [
      'a wrong SCRAM password',
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'tollgate', KAFKA_SASL_PASSWORD: 'wrong' },
      /refused SCRAM-SHA-512 authentication for user 'tollgate'.*KAFKA_SASL_PASSWORD/,
    ],
    [
      'an unknown PLAIN user',
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'mallory', KAFKA_SASL_PASSWORD: 'x' },
      /refused PLAIN authentication for user 'mallory'/,
    ],
  ])('says %s is refused, at once', async (_, sasl, message) => {
    const config = loadConfig({ KAFKA_BROKERS: saslSsl, KAFKA_SSL_CA_FILE: pki.caFile, ...sasl }).kafka!;
    const error = await checkKafkaAccess(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaAccessError);
    expect((error as Error).message).toMatch(message);
  });

  it.each([
    ['the wrong CA', { KAFKA_SSL_CA_FILE: '' }, /TLS to Kafka .* failed: .*KAFKA_SSL_CA_FILE/],
    ['no client certificate', {}, /TLS to Kafka .* failed/],
  ])('says TLS failed with %s', async (name, extra, message) => {
    const env: Record<string, string> = { KAFKA_BROKERS: ssl, KAFKA_SSL_CA_FILE: pki.caFile, ...extra };
    if (name === 'the wrong CA') env.KAFKA_SSL_CA_FILE = pki.otherCaFile;
    const error = await checkKafkaAccess(loadConfig(env).kafka!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaAccessError);
    expect((error as Error).message).toMatch(message);
  });

  describe('the product (npm start) on SASL_SSL with SCRAM-SHA-512', () => {
    let product: ProductProcess;
    const env = () => ({
      KAFKA_BROKERS: saslSsl,
      KAFKA_SSL_CA_FILE: pki.caFile,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'tollgate',
      TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN,
    });

    afterAll(async () => {
      await product?.stop();
    }, 30_000);

    it('publishes its events and authorizes from them (relay and access model over TLS + SCRAM)', async () => {
      const passwordFile = join(dir, 'kafka-password');
      await writeFile(passwordFile, `${USERS['scram-sha-512'].tollgate}\n`);
      product = await startProduct('tollgate', { ...env(), KAFKA_SASL_PASSWORD_FILE: passwordFile }, 90_000);
      const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
        const res = await fetch(`${product.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const json = (await res.json()) as T;
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
        return json;
      };
      const project = await api<{ id: string }>('POST', '/v1/projects', { name: 'secure' });
      await api('POST', '/v1/deployments', { projectId: project.id, name: 'llm', hosts: ['secure.models.test'] });
      const user = await api<{ id: string }>('POST', '/v1/users', { name: 'carol', kind: 'internal' });
      await api('PUT', `/v1/projects/${project.id}/collaborators/${user.id}`, { role: 'contributor' });
      const key = await api<{ key: string; keyId: string }>('POST', `/v1/users/${user.id}/keys`, {
        name: 'nb',
        scope: 'inference',
      });
      const check = () =>
        fetch(`${product.url}/v1/forward-auth`, {
          headers: {
            'x-forwarded-host': 'secure.models.test',
            'x-original-uri': '/v1/completions',
            authorization: `Bearer ${key.key}`,
          },
        }).then((res) => res.status);
      await eventually(async () => expect(await check()).toBe(200));
      await api('DELETE', `/v1/keys/${key.keyId}`);
      await eventually(async () => expect(await check()).toBe(401));

      // The events went through the secured broker: read them with a client certificate on the SSL listener.
      const reader = createKafka(
        loadConfig({
          KAFKA_BROKERS: ssl,
          KAFKA_SSL_CA_FILE: pki.caFile,
          KAFKA_SSL_CERT_FILE: pki.clientCertFile,
          KAFKA_SSL_KEY_FILE: pki.clientKeyFile,
        }).kafka!,
        { clientSuffix: 'tls-reader' },
      ).admin();
      await reader.connect();
      try {
        const offsets = await reader.fetchTopicOffsets('tollgate.keys.v1');
        expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBeGreaterThan(2);
      } finally {
        await reader.disconnect();
      }
    }, 120_000);

    it('stops at start-up with exit code 1 and a clear message when the password is wrong', async () => {
      // runToExit fails the test if the process is still running after 30 s: a hang is a failure too.
      const result = await runToExit(
        'tollgate',
        { ...env(), KAFKA_SASL_PASSWORD: 'not-the-password', TOLLGATE_DATA_DIR: join(dir, 'unused') },
        30_000,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/tollgate: cannot use Kafka\n/);
      expect(result.stderr).toMatch(/refused SCRAM-SHA-512 authentication for user 'tollgate'/);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(result.stderr + result.stdout).not.toContain('not-the-password');
    }, 40_000);
  });
});
