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
    expect(config.trustedIssuers).toEqual([]);
  });

  it('reads Kafka brokers as a list and turns embedded mode off', () => {
    const config = loadConfig({ KAFKA_BROKERS: '127.0.0.1:1, 127.0.0.1:2' });
    expect(config.kafka).toEqual({ brokers: ['127.0.0.1:1', '127.0.0.1:2'], clientId: 'tollgate', partitions: 6 });
  });

  it.each([
    [{ PORT: 'eighty' }, /environment: PORT:/],
    [{ PORT: '70000' }, /environment: PORT:/],
    [{ TOLLGATE_MAX_STALENESS_MS: '0' }, /TOLLGATE_MAX_STALENESS_MS/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ TOLLGATE_BOOTSTRAP_ADMIN_KEY: 'short' }, /TOLLGATE_BOOTSTRAP_ADMIN_KEY: must be at least 32/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ])('refuses %j naming the field', (env, field) => {
    expectConfigError(() => loadConfig(env), field);
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
  ])('refuses %s, naming the field', (_what, text, field) => {
    expectConfigError(() => parseFileConfig(text, 'c.yaml'), field);
  });
});
