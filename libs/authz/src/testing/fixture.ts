/**
 * Test fixture of the authz specs (not exported from the package index): a small world of users, a project,
 * deployments, keys, a service-token signing key and a trusted issuer, as the events the writers would
 * commit, plus one table of cases with the status and reason every door must answer.
 *
 * Ids, names and hosts carry a random suffix, so fixtures of several test files can share Kafka topics.
 */
import { randomBytes } from 'node:crypto';
import { generateKey, generateServiceSigningKey, hashSecret, ServiceTokenSigner } from '@tollgate/authn';
import type { TrustedIssuerConfig } from '@tollgate/config';
import type { RecordedEvent } from '@tollgate/event-store';
import { SignJWT } from 'jose';

export interface FixtureStream {
  store: 'keys' | 'identity';
  streamId: string;
  events: { type: string; data: unknown }[];
}

/**
 * The path a request names is matched as proxies and model servers see it (CONTRACT.md section 3): decoded
 * once, slashes merged, dot segments resolved; what cannot be decoded safely matches no deployment. Without a
 * credential, the protected `/v1/main` answers 401 and the public `/v1/public` 200: each row shows which one
 * (or none) an encoded path reached. The same rows run through every door.
 */
function pathCases(host: string): DoorCase[] {
  const reaches = (path: string, target: 'main' | 'public' | 'none'): DoorCase => ({
    name: `path ${path} reaches ${target === 'none' ? 'no deployment' : target}`,
    host,
    path,
    ...(target === 'main'
      ? { status: 401, reason: 'credential-missing' }
      : target === 'public'
        ? { status: 200, reason: 'public' }
        : { status: 404, reason: 'deployment-unknown' }),
  });
  return [
    reaches('/v1/%6Dain/chat', 'main'),
    reaches('/v1/%6d%61%69%6e', 'main'),
    reaches('//v1//main/./chat', 'main'),
    reaches('/v1/public/../main/chat', 'main'),
    reaches('/v1/public/%2e%2e/main', 'main'),
    reaches('/v1/public/x?/v1/main', 'public'),
    reaches('/v1/public/x%2f..%2f..%2fmain', 'none'),
    reaches('/v1/public%2Fx', 'none'),
    reaches('/v1/public/a%5cb', 'none'),
    reaches('/v1/public/a%00', 'none'),
    reaches('/v1/public/%', 'none'),
    reaches('/v1/public/%zz', 'none'),
    reaches('/v1/public/%C0%AF', 'none'),
  ];
}

export interface DoorCase {
  name: string;
  /** The request, as every door can express it: host + path, the Authorization value, the access key. */
  host: string;
  path: string;
  authorization?: string;
  accessKey?: string;
  status: number;
  reason: string;
  subject?: string;
}

export interface AuthzFixture {
  suffix: string;
  host: string;
  streams: FixtureStream[];
  trustedIssuers: TrustedIssuerConfig[];
  ids: Record<
    'alice' | 'bob' | 'carol' | 'dave' | 'erin' | 'project' | 'main' | 'public' | 'keysOnly' | 'other',
    string
  >;
  keys: Record<
    'aliceInference' | 'aliceManagement' | 'aliceRevoked' | 'aliceExpired' | 'bob' | 'carol' | 'dave' | 'erin',
    { keyId: string; secret: string }
  >;
  accessKeys: Record<'main' | 'other' | 'mainRevoked', { keyId: string; secret: string }>;
  cases: DoorCase[];
  /** The streams as a log source would deliver them (for an in-memory AccessModel). */
  recorded(): RecordedEvent[];
}

const iso = (ms: number): string => new Date(ms).toISOString();
const HOUR = 3_600_000;

/** Builds a fresh world; `now` anchors expiry, `iat` and group refresh times. */
export async function buildAuthzFixture(
  now = Date.now(),
  options: { withTokens?: boolean } = {},
): Promise<AuthzFixture> {
  const withTokens = options.withTokens ?? true;
  const suffix = randomBytes(5).toString('hex');
  const id = (prefix: string, name: string) => `${prefix}_${name}${suffix}`;
  const host = `models-${suffix}.example.test`;
  const group = `ml-team-${suffix}`;
  const ids = {
    alice: id('usr', 'alice'),
    bob: id('usr', 'bob'),
    carol: id('usr', 'carol'),
    dave: id('usr', 'dave'),
    erin: id('usr', 'erin'),
    project: id('prj', 'models'),
    main: id('dep', 'main'),
    public: id('dep', 'public'),
    keysOnly: id('dep', 'keysonly'),
    other: id('dep', 'other'),
  };
  const names = {
    alice: `alice-${suffix}`,
    bob: `bob-${suffix}`,
    carol: `carol-${suffix}`,
    dave: `dave-${suffix}`,
    erin: `erin-${suffix}`,
  };
  const streams: FixtureStream[] = [];
  const identity = (streamId: string, ...events: { type: string; data: unknown }[]) =>
    streams.push({ store: 'identity', streamId, events });
  const keysStream = (streamId: string, ...events: { type: string; data: unknown }[]) =>
    streams.push({ store: 'keys', streamId, events });

  const user = (
    userId: string,
    name: string,
    kind: 'internal' | 'external',
    extra: { type: string; data: unknown }[] = [],
  ) =>
    identity(
      `user-${userId}`,
      { type: 'UserCreated', data: { userId, name, kind, admin: false, email: null, createdAt: iso(now - 48 * HOUR) } },
      ...extra,
    );
  user(ids.alice, names.alice, 'internal');
  user(ids.bob, names.bob, 'internal');
  user(ids.carol, names.carol, 'external', [
    { type: 'GroupsRefreshed', data: { userId: ids.carol, groups: [group, 'other'], refreshedAt: iso(now - HOUR) } },
  ]);
  user(ids.dave, names.dave, 'internal', [
    { type: 'UserDeactivated', data: { userId: ids.dave, deactivatedAt: iso(now - HOUR) } },
  ]);
  user(ids.erin, names.erin, 'external', [
    { type: 'GroupsRefreshed', data: { userId: ids.erin, groups: ['not-granted'], refreshedAt: iso(now - HOUR) } },
  ]);
  identity(
    `project-${ids.project}`,
    {
      type: 'ProjectCreated',
      data: { projectId: ids.project, name: `models ${suffix}`, ownerId: ids.alice, createdAt: iso(now - 48 * HOUR) },
    },
    { type: 'CollaboratorSet', data: { projectId: ids.project, userId: ids.alice, role: 'contributor' } },
    { type: 'CollaboratorSet', data: { projectId: ids.project, userId: ids.bob, role: 'viewer' } },
    { type: 'CollaboratorSet', data: { projectId: ids.project, userId: ids.dave, role: 'owner' } },
  );
  const deployment = (deploymentId: string, prefix: string, over: Record<string, unknown> = {}) =>
    identity(`deployment-${deploymentId}`, {
      type: 'DeploymentCreated',
      data: {
        deploymentId,
        projectId: ids.project,
        name: `${prefix.slice(1).replace(/\//g, '-')} ${suffix}`,
        hosts: [host],
        pathPrefixes: [prefix],
        authentication: true,
        credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
        grantedGroups: [group],
        environment: null,
        ...over,
      },
    });
  deployment(ids.main, '/v1/main');
  deployment(ids.public, '/v1/public', { authentication: false });
  deployment(ids.keysOnly, '/v1/keys-only', { credentialKinds: ['api-key'] });
  deployment(ids.other, '/v1/other');

  const userKey = (
    name: string,
    userId: string,
    scope: 'inference' | 'management',
    extra: { expiresAt?: string; revoked?: boolean } = {},
  ) => {
    const secret = generateKey(scope === 'inference' ? 'inference' : 'management');
    const keyId = id('key', name);
    const events: { type: string; data: unknown }[] = [
      {
        type: 'KeyCreated',
        data: {
          keyId,
          kind: 'user-key',
          secretHash: hashSecret(secret),
          name,
          userId,
          scope,
          expiresAt: extra.expiresAt ?? iso(now + 24 * HOUR),
          createdAt: iso(now - 2 * HOUR),
        },
      },
    ];
    if (extra.revoked) events.push({ type: 'KeyRevoked', data: { keyId, reason: 'user', revokedAt: iso(now - HOUR) } });
    keysStream(`key-${keyId}`, ...events);
    return { keyId, secret };
  };
  const keys = {
    aliceInference: userKey('aliceinf', ids.alice, 'inference'),
    aliceManagement: userKey('alicemgm', ids.alice, 'management'),
    aliceRevoked: userKey('alicerev', ids.alice, 'inference', { revoked: true }),
    aliceExpired: userKey('aliceexp', ids.alice, 'inference', { expiresAt: iso(now - HOUR) }),
    bob: userKey('bob', ids.bob, 'inference'),
    carol: userKey('carol', ids.carol, 'inference'),
    dave: userKey('dave', ids.dave, 'inference'),
    erin: userKey('erin', ids.erin, 'inference'),
  };
  const accessKey = (name: string, deploymentId: string, slot: 'primary' | 'secondary', revoked = false) => {
    const secret = generateKey('access');
    const keyId = id('key', name);
    const events: { type: string; data: unknown }[] = [
      {
        type: 'KeyCreated',
        data: {
          keyId,
          kind: 'access-key',
          secretHash: hashSecret(secret),
          deploymentId,
          slot,
          expiresAt: null,
          createdAt: iso(now - 2 * HOUR),
        },
      },
    ];
    if (revoked)
      events.push({ type: 'KeyRevoked', data: { keyId, reason: 'slot-revoked', revokedAt: iso(now - HOUR) } });
    keysStream(`key-${keyId}`, ...events);
    return { keyId, secret };
  };
  const accessKeys = {
    main: accessKey('accmain', ids.main, 'primary'),
    other: accessKey('accother', ids.other, 'primary'),
    mainRevoked: accessKey('accmainrev', ids.main, 'secondary', true),
  };

  const trustedIssuers: TrustedIssuerConfig[] = [];
  const tokenCases: DoorCase[] = [];
  const main = (name: string, authorization: string, status: number, reason: string, subject?: string): DoorCase => ({
    name,
    host,
    path: '/v1/main/chat',
    authorization,
    status,
    reason,
    ...(subject ? { subject } : {}),
  });
  if (withTokens) {
    // Service tokens: the keys service's signing key, learned by the model from its event.
    const signing = generateServiceSigningKey(`kid-${suffix}`);
    keysStream(`signing-keys-${suffix}`, {
      type: 'SigningKeyPublished',
      data: { kid: signing.kid, publicJwk: signing.publicJwk, activatesAt: iso(now - 10 * 60_000) },
    });
    const signer = new ServiceTokenSigner(signing, { now: () => now });
    const serviceToken = async (subject: string, scope: 'inference' | 'management' | 'any', source: string) =>
      (await signer.sign({ subject, scope, source })).token;

    // A trusted issuer with an inline JWKS.
    const idp = generateServiceSigningKey(`idp-${suffix}`);
    const issuer = `https://idp-${suffix}.example.test/realms/ml`;
    trustedIssuers.push({
      issuer,
      jwks: { keys: [idp.publicJwk as Record<string, unknown>] },
      audiences: ['tollgate-models'],
      algorithms: ['EdDSA'],
      subjectClaim: 'sub',
      groupsClaim: 'groups',
      clockToleranceSeconds: 60,
    });
    const jwt = (claims: Record<string, unknown>, over: { iss?: string; aud?: string; exp?: number } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid: idp.kid })
        .setIssuer(over.iss ?? issuer)
        .setAudience(over.aud ?? 'tollgate-models')
        .setIssuedAt(Math.floor(now / 1000) - 60)
        .setExpirationTime(over.exp ?? Math.floor(now / 1000) + 3600)
        .sign(idp.privateKey);

    const aliceJwt = await jwt({ sub: names.alice });
    tokenCases.push(
      main(
        'service token of an inference key',
        `Bearer ${await serviceToken(ids.alice, 'inference', keys.aliceInference.keyId)}`,
        200,
        'collaborator',
        ids.alice,
      ),
      main(
        'service token of a management key',
        `Bearer ${await serviceToken(ids.alice, 'management', keys.aliceManagement.keyId)}`,
        401,
        'key-scope-invalid',
      ),
      main(
        'service token whose key was revoked',
        `Bearer ${await serviceToken(ids.alice, 'inference', keys.aliceRevoked.keyId)}`,
        401,
        'key-revoked',
      ),
      main(
        'sign-in token of an external user in a granted group',
        `Bearer ${await serviceToken(ids.carol, 'any', 'sign-in')}`,
        200,
        'group-granted',
        ids.carol,
      ),
      main(
        'sign-in token of a deactivated user',
        `Bearer ${await serviceToken(ids.dave, 'any', 'sign-in')}`,
        403,
        'user-deactivated',
      ),
      main('trusted JWT naming a collaborator', `Bearer ${aliceJwt}`, 200, 'collaborator', ids.alice),
      main(
        'trusted JWT with a granted groups claim',
        `Bearer ${await jwt({ sub: `zed-${suffix}`, groups: [group] })}`,
        200,
        'group-granted',
        `zed-${suffix}`,
      ),
      main(
        'trusted JWT with other groups',
        `Bearer ${await jwt({ sub: `zed-${suffix}`, groups: ['other'] })}`,
        403,
        'group-not-granted',
      ),
      main(
        'trusted JWT of nobody known, no groups',
        `Bearer ${await jwt({ sub: `nobody-${suffix}` })}`,
        403,
        'not-collaborator',
      ),
      main(
        'trusted JWT for another audience',
        `Bearer ${await jwt({ sub: names.alice }, { aud: 'someone-else' })}`,
        401,
        'audience-mismatch',
      ),
      main(
        'expired trusted JWT',
        `Bearer ${await jwt({ sub: names.alice }, { exp: Math.floor(now / 1000) - 30 })}`,
        401,
        'token-expired',
      ),
      main(
        'JWT of an untrusted issuer',
        `Bearer ${await jwt({ sub: names.alice }, { iss: 'https://evil.example.test' })}`,
        401,
        'issuer-untrusted',
      ),
      main(
        'trusted JWT with a broken signature',
        `Bearer ${aliceJwt.slice(0, -4)}${aliceJwt.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`,
        401,
        'token-invalid',
      ),
    );
  }

  const bearer = (k: { secret: string }) => `Bearer ${k.secret}`;
  const cases: DoorCase[] = [
    main('inference key of a contributor', bearer(keys.aliceInference), 200, 'collaborator', ids.alice),
    main('the ApiKey scheme, any case', `apikey ${keys.aliceInference.secret}`, 200, 'collaborator', ids.alice),
    main('management key for inference', bearer(keys.aliceManagement), 401, 'key-scope-invalid'),
    main('revoked key', bearer(keys.aliceRevoked), 401, 'key-revoked'),
    main('expired key', bearer(keys.aliceExpired), 401, 'key-expired'),
    main('well-formed key never issued', `Bearer ${generateKey('inference')}`, 401, 'key-unknown'),
    main(
      'key with a bad checksum',
      `Bearer ${keys.bob.secret.slice(0, -1)}${keys.bob.secret.endsWith('0') ? '1' : '0'}`,
      401,
      'credential-malformed',
    ),
    main('unknown scheme', `Basic ${Buffer.from('a:b').toString('base64')}`, 401, 'credential-malformed'),
    { name: 'no credential', host, path: '/v1/main/chat', status: 401, reason: 'credential-missing' },
    main('viewer', bearer(keys.bob), 403, 'not-collaborator', ids.bob),
    main('external user in a granted group', bearer(keys.carol), 200, 'group-granted', ids.carol),
    main('external user without a granted group', bearer(keys.erin), 403, 'group-not-granted', ids.erin),
    main('key of a deactivated owner', bearer(keys.dave), 401, 'key-revoked'),
    { name: 'public deployment, nothing sent', host, path: '/v1/public/x', status: 200, reason: 'public' },
    {
      name: 'public deployment, garbage sent',
      host,
      path: '/v1/public',
      authorization: 'Bearer nonsense',
      status: 200,
      reason: 'public',
    },
    {
      name: 'unknown host',
      host: `nowhere-${suffix}.example.test`,
      path: '/v1/main',
      authorization: bearer(keys.aliceInference),
      status: 404,
      reason: 'deployment-unknown',
    },
    {
      name: 'prefix only at a segment boundary',
      host,
      path: '/v1/mainframe',
      authorization: bearer(keys.aliceInference),
      status: 404,
      reason: 'deployment-unknown',
    },
    {
      name: 'host compared case-insensitively, without port',
      host: `${host.toUpperCase()}:8443`,
      path: '/v1/main',
      authorization: bearer(keys.aliceInference),
      status: 200,
      reason: 'collaborator',
    },
    {
      name: 'access key alone',
      host,
      path: '/v1/main/chat',
      accessKey: accessKeys.main.secret,
      status: 200,
      reason: 'access-key',
      subject: `access-key:${ids.main}:primary`,
    },
    {
      name: "another deployment's access key",
      host,
      path: '/v1/main/chat',
      accessKey: accessKeys.other.secret,
      status: 401,
      reason: 'access-key-invalid',
    },
    {
      name: 'revoked access key',
      host,
      path: '/v1/main/chat',
      accessKey: accessKeys.mainRevoked.secret,
      status: 401,
      reason: 'access-key-invalid',
    },
    {
      name: 'an inference key as access key',
      host,
      path: '/v1/main/chat',
      accessKey: keys.bob.secret,
      status: 401,
      reason: 'access-key-invalid',
    },
    {
      name: 'access key and user key: the user decides',
      host,
      path: '/v1/main/chat',
      accessKey: accessKeys.main.secret,
      authorization: bearer(keys.bob),
      status: 403,
      reason: 'not-collaborator',
    },
    {
      name: 'access key and user key, both valid',
      host,
      path: '/v1/main/chat',
      accessKey: accessKeys.main.secret,
      authorization: bearer(keys.aliceInference),
      status: 200,
      reason: 'collaborator',
      subject: ids.alice,
    },
    {
      name: "another deployment's access key with a user key",
      host,
      path: '/v1/main/chat',
      accessKey: accessKeys.other.secret,
      authorization: bearer(keys.aliceInference),
      status: 401,
      reason: 'access-key-invalid',
    },
    {
      name: 'a credential kind the deployment does not accept',
      host,
      path: '/v1/keys-only',
      accessKey: accessKeys.main.secret,
      status: 401,
      reason: 'auth-mode-not-allowed',
    },
    ...pathCases(host),
    ...tokenCases,
  ];

  return {
    suffix,
    host,
    streams,
    trustedIssuers,
    ids,
    keys,
    accessKeys,
    cases,
    recorded() {
      let position = 0;
      return streams.flatMap((s) =>
        s.events.map((e, i) => ({
          id: `evt_${s.streamId}_${i + 1}`,
          source: `/tollgate/${s.store}`,
          streamId: s.streamId,
          streamVersion: i + 1,
          position: ++position,
          type: e.type,
          data: e.data,
          metadata: { actor: 'system', channel: 'system' },
          recordedAt: new Date(now - HOUR),
        })),
      );
    },
  };
}
