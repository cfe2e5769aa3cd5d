import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseFileConfig } from './load-config';

const expectConfigError = (fn: () => unknown, field: RegExp) => {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toMatch(field);
};

describe('loadConfig (environment)', () => {
  it('applies the contract defaults', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(8080);
    expect(config.grpc.port).toBe(50051);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe('./.data');
    expect(config.kafka).toBeUndefined();
    expect(config.maxStalenessMs).toBe(2000);
    expect(config.keyUsageIntervalMs).toBe(60_000);
    expect(config.trustedIssuers).toEqual([]);
  });

  it('reads the key usage interval, 1 s to 1 h, and names the variable when out of range', () => {
    expect(loadConfig({ TOLLGATE_KEY_USAGE_INTERVAL_MS: '5000' }).keyUsageIntervalMs).toBe(5000);
    expectConfigError(() => loadConfig({ TOLLGATE_KEY_USAGE_INTERVAL_MS: '999' }), /TOLLGATE_KEY_USAGE_INTERVAL_MS/);
    expectConfigError(
      () => loadConfig({ TOLLGATE_KEY_USAGE_INTERVAL_MS: '3600001' }),
      /TOLLGATE_KEY_USAGE_INTERVAL_MS/,
    );
    expectConfigError(() => loadConfig({ TOLLGATE_KEY_USAGE_INTERVAL_MS: 'soon' }), /TOLLGATE_KEY_USAGE_INTERVAL_MS/);
  });

  it('reads Kafka brokers as a list and turns embedded mode off', () => {
    const config = loadConfig({ KAFKA_BROKERS: '127.0.0.1:1, 127.0.0.1:2' });
    expect(config.kafka).toEqual({ brokers: ['127.0.0.1:1', '127.0.0.1:2'], clientId: 'tollgate', partitions: 6 });
  });

  describe('Kafka security and topic settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-kafka-config-'));
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    const encrypted = file(
      'enc.key',
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIE\n-----END ENCRYPTED PRIVATE KEY-----\n',
    );
    const password = file('password', 's3cret\n');
    const token = file('token', 'eyJhbGciOiJub25lIn0.e30.\n');
    const brokers = { KAFKA_BROKERS: 'kafka-0.example:9093' };

    it('reads TLS files and SASL credentials (the password from a file, without its final newline)', () => {
      const config = loadConfig({
        ...brokers,
        KAFKA_SSL_CA_FILE: ca,
        KAFKA_SSL_CERT_FILE: ca,
        KAFKA_SSL_KEY_FILE: key,
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'tollgate',
        KAFKA_SASL_PASSWORD_FILE: password,
        TOLLGATE_KAFKA_REPLICATION_FACTOR: '3',
        TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS: '2',
      });
      expect(config.kafka).toMatchObject({
        ssl: {
          ca: expect.stringContaining('CERTIFICATE'),
          cert: expect.any(String),
          key: expect.stringContaining('PRIVATE KEY'),
        },
        sasl: { mechanism: 'scram-sha-512', username: 'tollgate', password: 's3cret' },
        replicationFactor: 3,
        minInsyncReplicas: 2,
      });
    });

    it('turns TLS on with public CAs for KAFKA_SSL=true, and reads an OAUTHBEARER token file', () => {
      const config = loadConfig({
        ...brokers,
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: token,
      });
      expect(config.kafka?.ssl).toEqual({});
      expect(config.kafka?.sasl).toEqual({ mechanism: 'oauthbearer', tokenFile: token });
      expect(loadConfig(brokers).kafka?.ssl).toBeUndefined();
    });

    it.each([
      [{ KAFKA_SASL_USERNAME: 'x' }, /KAFKA_SASL_USERNAME: is set but KAFKA_BROKERS is not/],
      [{ ...brokers, KAFKA_SASL_MECHANISM: 'gssapi' }, /KAFKA_SASL_MECHANISM: must be one of plain, scram-sha-256/],
      [{ ...brokers, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'p' }, /KAFKA_SASL_USERNAME: required/],
      [{ ...brokers, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }, /KAFKA_SASL_PASSWORD: required/],
      [
        {
          ...brokers,
          KAFKA_SASL_MECHANISM: 'plain',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: 'p',
          KAFKA_SASL_PASSWORD_FILE: password,
        },
        /KAFKA_SASL_PASSWORD: set either/,
      ],
      [
        {
          ...brokers,
          KAFKA_SASL_MECHANISM: 'plain',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD_FILE: '/nonexistent',
        },
        /KAFKA_SASL_PASSWORD_FILE: cannot read/,
      ],
      [{ ...brokers, KAFKA_SASL_PASSWORD: 'p' }, /KAFKA_SASL_PASSWORD: is set but KAFKA_SASL_MECHANISM is not/],
      [{ ...brokers, KAFKA_SASL_MECHANISM: 'oauthbearer' }, /KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: required/],
      [{ ...brokers, KAFKA_SSL: 'yes' }, /KAFKA_SSL: must be 'true' or 'false'/],
      [{ ...brokers, KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: ca }, /KAFKA_SSL: is false/],
      [{ ...brokers, KAFKA_SSL_CA_FILE: key }, /KAFKA_SSL_CA_FILE: .* holds no PEM CERTIFICATE/],
      [{ ...brokers, KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }, /KAFKA_SSL_CA_FILE: cannot read/],
      [{ ...brokers, KAFKA_SSL_CERT_FILE: ca }, /KAFKA_SSL_KEY_FILE: a client certificate needs both/],
      [
        { ...brokers, KAFKA_SSL_CERT_FILE: ca, KAFKA_SSL_KEY_FILE: encrypted },
        /KAFKA_SSL_KEY_FILE: the key is encrypted/,
      ],
      [{ ...brokers, TOLLGATE_KAFKA_REPLICATION_FACTOR: '0' }, /TOLLGATE_KAFKA_REPLICATION_FACTOR/],
      [
        { ...brokers, TOLLGATE_KAFKA_REPLICATION_FACTOR: '2', TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS: '3' },
        /TOLLGATE_KAFKA_MIN_INSYNC_REPLICAS: must not exceed/,
      ],
    ])('refuses %j naming the variable', (env, field) => {
      expectConfigError(() => loadConfig(env), field);
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /environment: PORT:/],
    [{ PORT: '70000' }, /environment: PORT:/],
    [{ TOLLGATE_MAX_STALENESS_MS: '0' }, /TOLLGATE_MAX_STALENESS_MS/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ TOLLGATE_BOOTSTRAP_ADMIN_KEY: 'short' }, /TOLLGATE_BOOTSTRAP_ADMIN_KEY: must be at least 32/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ TOLLGATE_KEY_ENCRYPTION_KEY: 'short' }, /TOLLGATE_KEY_ENCRYPTION_KEY: must be 32 random bytes/],
    [{ TOLLGATE_KEY_ENCRYPTION_KEY: 'A'.repeat(63) }, /TOLLGATE_KEY_ENCRYPTION_KEY: must be 32 random bytes/],
    [{ TOLLGATE_KEY_ENCRYPTION_KEY_FILE: '/nonexistent/kek' }, /TOLLGATE_KEY_ENCRYPTION_KEY_FILE: cannot read/],
    [
      { TOLLGATE_KEY_ENCRYPTION_KEY: 'a'.repeat(64), TOLLGATE_KEY_ENCRYPTION_KEY_FILE: '/x' },
      /TOLLGATE_KEY_ENCRYPTION_KEY: set either/,
    ],
  ])('refuses %j naming the field', (env, field) => {
    expectConfigError(() => loadConfig(env), field);
  });

  it('reads the key-encryption key as base64 or hex, never keeping its text', () => {
    const hex = loadConfig({ TOLLGATE_KEY_ENCRYPTION_KEY: 'ab'.repeat(32) }).keyEncryptionKey;
    expect(hex?.key).toEqual(Buffer.alloc(32, 0xab));
    const base64 = loadConfig({ TOLLGATE_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 0xab).toString('base64') });
    expect(base64.keyEncryptionKey?.id).toBe(hex?.id);
    expect(loadConfig({}).keyEncryptionKey).toBeUndefined();
  });

  it('names the file when TOLLGATE_CONFIG cannot be read', () => {
    expectConfigError(
      () => loadConfig({ TOLLGATE_CONFIG: '/nonexistent/tollgate.yaml' }),
      /TOLLGATE_CONFIG: cannot read/,
    );
  });
});

describe('parseFileConfig', () => {
  const issuer = `
trustedIssuers:
  - issuer: https://idp.example.com/realms/ml
    jwksUri: https://idp.example.com/certs
    audiences: [tollgate]
    algorithms: [RS256, EdDSA]
`;

  it('fills the documented defaults of a trusted issuer', () => {
    const config = parseFileConfig(issuer, 'c.yaml');
    expect(config.trustedIssuers[0]).toMatchObject({
      subjectClaim: 'sub',
      groupsClaim: 'groups',
      clockToleranceSeconds: 60,
    });
  });

  it('links a trusted issuer to an IdP connector by its id', () => {
    const config = parseFileConfig(`${issuer}    idpConnector: corp\nidpConnectors: [{ id: corp }]\n`, 'c.yaml');
    expect(config.trustedIssuers[0]?.idpConnector).toBe('corp');
  });

  it('accepts JSON when the file name says so', () => {
    const config = parseFileConfig(
      JSON.stringify({ idpConnectors: [{ id: 'corp', webhookSecrets: ['whsec_abc='] }] }),
      'c.json',
    );
    expect(config.idpConnectors[0]?.id).toBe('corp');
  });

  it.each([
    ['an unknown field', `${issuer}    colour: blue\n`, /trustedIssuers\[0\]: Unrecognized key: "colour"/],
    ['a bad URL', issuer.replace('https://idp.example.com/certs', 'not a url'), /trustedIssuers\[0\]\.jwksUri/],
    [
      'a missing JWKS',
      issuer.replace(/\s+jwksUri:.*\n/, '\n'),
      /trustedIssuers\[0\]\.jwksUri: exactly one of jwksUri or jwks/,
    ],
    ['a symmetric algorithm', issuer.replace('EdDSA', 'HS256'), /trustedIssuers\[0\]\.algorithms\[1\]/],
    ['a wrong type', 'trustedIssuers: yes', /trustedIssuers:/],
    ['an unknown top-level field', 'colour: blue', /Unrecognized key: "colour"/],
    [
      'a bad webhook secret',
      'idpConnectors: [{ id: corp, webhookSecrets: [nope] }]',
      /idpConnectors\[0\]\.webhookSecrets\[0\]/,
    ],
    ['duplicate connector ids', 'idpConnectors: [{ id: a }, { id: a }]', /idpConnectors: connector ids must be unique/],
    ['broken YAML', 'trustedIssuers: [', /not valid YAML/],
    [
      'an idpConnector no connector has',
      `${issuer}    idpConnector: corp\nidpConnectors: [{ id: other }]\n`,
      /trustedIssuers\[0\]\.idpConnector: no idpConnectors entry has id "corp"/,
    ],
  ])('refuses %s, naming the field', (_what, text, field) => {
    expectConfigError(() => parseFileConfig(text, 'c.yaml'), field);
  });
});

describe('parseFileConfig: group overage', () => {
  const connector = (overage: string) => `
idpConnectors:
  - id: entra
    oidc:
      issuer: https://login.microsoftonline.com/t/v2.0
      jwksUri: https://login.microsoftonline.com/t/discovery/v2.0/keys
      clientId: app
      groupOverage:
${overage
  .trim()
  .split('\n')
  .map((l) => `        ${l.trim()}`)
  .join('\n')}
`;
  const endpoints = `
tokenEndpoint: https://login.microsoftonline.com/t/oauth2/v2.0/token
groupsEndpoint: https://graph.microsoft.com/v1.0/users/{userId}/getMemberObjects`;

  it('fills the defaults and reads the client secret from a file once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    const file = join(dir, 'graph-secret');
    writeFileSync(file, 'from-a-file\n');
    const config = parseFileConfig(connector(`${endpoints}\nclientSecretFile: ${file}`), 'c.yaml');
    expect(config.idpConnectors[0]?.oidc?.groupOverage).toEqual({
      tokenEndpoint: 'https://login.microsoftonline.com/t/oauth2/v2.0/token',
      groupsEndpoint: 'https://graph.microsoft.com/v1.0/users/{userId}/getMemberObjects',
      clientSecret: 'from-a-file',
      scope: 'https://graph.microsoft.com/.default',
      userIdClaim: 'oid',
      securityEnabledOnly: false,
      timeoutMs: 5000,
    });
  });

  it.each([
    ['neither secret', endpoints, /groupOverage\.clientSecret: exactly one of clientSecret or clientSecretFile/],
    ['both secrets', `${endpoints}\nclientSecret: a\nclientSecretFile: /x`, /groupOverage\.clientSecret: exactly one/],
    [
      'an unreadable secret file',
      `${endpoints}\nclientSecretFile: /nonexistent/secret`,
      /clientSecretFile: cannot read/,
    ],
    [
      'a groups endpoint without {userId}',
      `${endpoints.replace('{userId}', 'me')}\nclientSecret: a`,
      /groupOverage\.groupsEndpoint: must contain \{userId\}/,
    ],
  ])('refuses %s, naming the field', (_what, overage, field) => {
    expectConfigError(() => parseFileConfig(connector(overage), 'c.yaml'), field);
  });
});

describe('parseFileConfig: console sign-in (issue 15)', () => {
  const connector = (console: string) => `
idpConnectors:
  - id: corp
    oidc:
      issuer: https://idp.example.com
      jwksUri: https://idp.example.com/jwks
      clientId: tollgate
      console:
${console
  .trim()
  .split('\n')
  .map((l) => `        ${l.trim()}`)
  .join('\n')}
`;

  it('fills the defaults (discovery, openid email profile, public client) and reads a secret file once', () => {
    const minimal = parseFileConfig(
      connector('redirectUri: https://t.example.com/v1/idp/corp/console/callback'),
      'c.yaml',
    );
    expect(minimal.idpConnectors[0]?.oidc?.console).toEqual({
      redirectUri: 'https://t.example.com/v1/idp/corp/console/callback',
      scopes: ['openid', 'email', 'profile'],
      clientSecret: undefined,
    });
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    const file = join(dir, 'client-secret');
    writeFileSync(file, 'from-a-file\n');
    const full = parseFileConfig(
      connector(`redirectUri: https://t.example.com/v1/idp/corp/console/callback
authorizationEndpoint: https://idp.example.com/authorize
tokenEndpoint: https://idp.example.com/token
clientSecretFile: ${file}
scopes: [openid, groups]
name: Corp SSO`),
      'c.yaml',
    );
    expect(full.idpConnectors[0]?.oidc?.console).toMatchObject({ clientSecret: 'from-a-file', name: 'Corp SSO' });
  });

  it.each([
    ['no redirect URI', 'name: x', /console\.redirectUri/],
    ['a redirect URI that is not http(s)', 'redirectUri: javascript:alert(1)', /console\.redirectUri/],
    [
      'one endpoint without the other',
      'redirectUri: https://t/cb\nauthorizationEndpoint: https://idp/a',
      /authorizationEndpoint/,
    ],
    ['scopes without openid', 'redirectUri: https://t/cb\nscopes: [email]', /console\.scopes: must include openid/],
    ['a scope with a space', 'redirectUri: https://t/cb\nscopes: ["openid email"]', /console\.scopes\[0\]/],
    ['both secret forms', 'redirectUri: https://t/cb\nclientSecret: a\nclientSecretFile: /x', /console\.clientSecret/],
    [
      'an unreadable secret file',
      'redirectUri: https://t/cb\nclientSecretFile: /nope/secret',
      /clientSecretFile: cannot read/,
    ],
    ['an unknown field', 'redirectUri: https://t/cb\nreturnTo: https://evil.example', /console/],
  ])('refuses %s, naming the field', (_what, text, field) => {
    expectConfigError(() => parseFileConfig(connector(text), 'c.yaml'), field);
  });
});

describe('the gateway the deployment probe goes to (TOLLGATE_GATEWAY_URL or gatewayUrl)', () => {
  it('is unset by default, and read as an origin from the environment or the file', () => {
    expect(loadConfig({}).gatewayUrl).toBeUndefined();
    expect(loadConfig({ TOLLGATE_GATEWAY_URL: ' http://127.0.0.1:8000/ ' }).gatewayUrl).toBe('http://127.0.0.1:8000');
    expect(loadConfig({ TOLLGATE_GATEWAY_URL: 'https://GW.example.com' }).gatewayUrl).toBe('https://gw.example.com');
    expect(parseFileConfig('gatewayUrl: http://nginx.internal:8080', 't.yaml').gatewayUrl).toBe(
      'http://nginx.internal:8080',
    );
  });

  it.each([
    ['not a URL', 'nginx:8080'],
    ['another scheme', 'ftp://gw.example.com'],
    ['credentials', 'http://user:pw@gw.example.com'],
    ['a path', 'http://gw.example.com/base'],
    ['a query', 'http://gw.example.com/?x=1'],
    ['a fragment', 'http://gw.example.com/#x'],
  ])('refuses %s, naming the variable', (_, value) => {
    expectConfigError(() => loadConfig({ TOLLGATE_GATEWAY_URL: value }), /TOLLGATE_GATEWAY_URL/);
  });

  it('refuses a bad gatewayUrl in the file, naming the field, and both places at once', () => {
    expectConfigError(() => parseFileConfig('gatewayUrl: http://gw/x', 't.yaml'), /gatewayUrl/);
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-gateway-config-'));
    const path = join(dir, 'tollgate.yaml');
    writeFileSync(path, 'gatewayUrl: http://gw.example.com\n');
    expect(loadConfig({ TOLLGATE_CONFIG: path }).gatewayUrl).toBe('http://gw.example.com');
    expectConfigError(
      () => loadConfig({ TOLLGATE_CONFIG: path, TOLLGATE_GATEWAY_URL: 'http://other.example.com' }),
      /TOLLGATE_GATEWAY_URL: set either/,
    );
  });
});
