import { beforeAll, describe, expect, it } from '@jest/globals';
import { AccessModel, createModelTokenVerifier } from '@tollgate/access-model';
import {
  generateKey,
  generateServiceSigningKey,
  hashSecret,
  IssuerRegistry,
  ServiceTokenSigner,
  type ServiceSigningKey,
} from '@tollgate/authn';
import type { RecordedEvent } from '@tollgate/event-store';
import { SignJWT } from 'jose';
import { AuthzChecker } from './check';

// Who a trusted issuer's JWT names in the authorizer (CONTRACT v3 section 2): never the built-in admin, an
// IdP-created user only through the issuer's `idpConnector`, and a newer IdP group sync beats the token.

const NOW = Date.parse('2026-12-04T12:00:00.000Z');
const MIN = 60_000;
const HOST = 'models.example.test';
const PLAIN_ISSUER = 'https://plain.example.test';
const LINKED_ISSUER = 'https://corp.example.test';

let position = 0;
const rec = (streamId: string, streamVersion: number, type: string, data: unknown): RecordedEvent => ({
  id: `evt_${streamId}_${streamVersion}`,
  source: '/tollgate/identity',
  streamId,
  streamVersion,
  position: ++position,
  type,
  data,
  metadata: { actor: 'system', channel: 'system' },
  recordedAt: new Date(NOW),
});
const iso = (ms: number) => new Date(ms).toISOString();
const user = (userId: string, name: string, over: Record<string, unknown> = {}) =>
  rec(`user-${userId}`, 1, 'UserCreated', {
    userId,
    name,
    kind: 'internal',
    admin: false,
    email: null,
    createdAt: iso(NOW - 60 * MIN),
    ...over,
  });
const groups = (userId: string, version: number, names: string[], at: number) =>
  rec(`user-${userId}`, version, 'GroupsRefreshed', { userId, groups: names, refreshedAt: iso(at) });

let idpKey: ServiceSigningKey;
let tollgateKey: ServiceSigningKey;
beforeAll(() => {
  idpKey = generateServiceSigningKey('idp-1');
  tollgateKey = generateServiceSigningKey('tg-1');
});

function world(): AccessModel {
  const model = new AccessModel({ now: () => NOW });
  const events = [
    user('usr_admin', 'admin', { admin: true }),
    user('usr_x', 'corp:x-sub', { kind: 'external', idp: 'corp', externalSubject: 'x-sub' }),
    groups('usr_x', 2, ['ml'], NOW - 30 * MIN),
    // The admin created the project, so it is the owner: a JWT acting as the admin would be a collaborator.
    rec('project-prj_a', 1, 'ProjectCreated', {
      projectId: 'prj_a',
      name: 'a',
      ownerId: 'usr_admin',
      createdAt: iso(NOW - 60 * MIN),
    }),
    rec('deployment-dep_a', 1, 'DeploymentCreated', {
      deploymentId: 'dep_a',
      projectId: 'prj_a',
      name: 'a',
      hosts: [HOST],
      pathPrefixes: ['/'],
      authentication: true,
      credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
      grantedGroups: ['ml'],
      environment: null,
    }),
  ];
  for (const e of events) model.apply(e);
  return model;
}

function checkerOf(model: AccessModel): AuthzChecker {
  const issuer = (iss: string, idpConnector?: string) => ({
    issuer: iss,
    jwks: { keys: [idpKey.publicJwk] },
    audiences: ['tollgate'],
    algorithms: ['EdDSA'],
    ...(idpConnector ? { idpConnector } : {}),
  });
  const issuers = new IssuerRegistry([issuer(PLAIN_ISSUER), issuer(LINKED_ISSUER, 'corp')], { now: () => NOW });
  return new AuthzChecker({
    model,
    freshness: { isFresh: () => true, maxStalenessMs: 2000 },
    verifier: createModelTokenVerifier(model, { issuers, now: () => NOW }),
    now: () => NOW,
  });
}

const jwt = (iss: string, claims: Record<string, unknown>, iat = NOW - 5 * MIN) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: idpKey.kid })
    .setIssuer(iss)
    .setAudience('tollgate')
    .setIssuedAt(Math.floor(iat / 1000))
    .setExpirationTime(Math.floor(NOW / 1000) + 3600)
    .sign(idpKey.privateKey);

const check = async (checker: AuthzChecker, token: string) =>
  checker.check({ host: HOST, path: '/v1/chat', authorization: `Bearer ${token}` });

describe('AuthzChecker: who a trusted JWT names', () => {
  it('`sub: admin` is not the built-in admin: the owner role does not apply (403 not-collaborator)', async () => {
    const checker = checkerOf(world());
    const decision = await check(checker, await jwt(PLAIN_ISSUER, { sub: 'admin' }));
    expect(decision).toMatchObject({ allowed: false, status: 403, reason: 'not-collaborator', subject: 'admin' });
    const linked = await check(checker, await jwt(LINKED_ISSUER, { sub: 'admin' }));
    expect(linked).toMatchObject({ status: 403, reason: 'not-collaborator', subject: 'admin' });
  });

  it("an issuer without idpConnector never reaches an IdP-created user by name (not even that user's groups)", async () => {
    const decision = await check(checkerOf(world()), await jwt(PLAIN_ISSUER, { sub: 'corp:x-sub' }));
    expect(decision).toMatchObject({ status: 403, reason: 'not-collaborator', subject: 'corp:x-sub' });
  });

  it("the linked issuer names the connector's user by IdP subject, with that user's synced groups", async () => {
    const decision = await check(checkerOf(world()), await jwt(LINKED_ISSUER, { sub: 'x-sub' }));
    expect(decision).toMatchObject({ status: 200, reason: 'group-granted', subject: 'usr_x', groups: ['ml'] });
  });

  it("a newer IdP group sync (SCIM, webhook) supersedes the token's groups claim; an older one does not", async () => {
    const model = world();
    const checker = checkerOf(model);
    const token = await jwt(LINKED_ISSUER, { sub: 'x-sub', groups: ['ml'] }, NOW - 5 * MIN);
    expect(await check(checker, token)).toMatchObject({ status: 200, reason: 'group-granted', subject: 'usr_x' });
    model.apply(groups('usr_x', 3, [], NOW - 1 * MIN));
    expect(await check(checker, token)).toMatchObject({ status: 403, reason: 'group-not-granted', subject: 'usr_x' });
    const newer = await jwt(LINKED_ISSUER, { sub: 'x-sub', groups: ['ml'] }, NOW);
    expect(await check(checker, newer)).toMatchObject({ status: 200, reason: 'group-granted' });
  });
});

describe('AuthzChecker: a cached JWT', () => {
  it('is answered synchronously from the verified-token cache, refused with token-expired from its exp on', async () => {
    const model = world();
    let now = NOW;
    const issuers = new IssuerRegistry(
      [
        {
          issuer: LINKED_ISSUER,
          jwks: { keys: [idpKey.publicJwk] },
          audiences: ['tollgate'],
          algorithms: ['EdDSA'],
          idpConnector: 'corp',
        },
      ],
      { now: () => now },
    );
    const checker = new AuthzChecker({
      model,
      freshness: { isFresh: () => true, maxStalenessMs: 2000 },
      verifier: createModelTokenVerifier(model, { issuers, now: () => now }),
      now: () => now,
    });
    const token = await jwt(LINKED_ISSUER, { sub: 'x-sub' });
    const input = { host: HOST, path: '/v1/chat', authorization: `Bearer ${token}` };
    expect(checker.check(input)).toBeInstanceOf(Promise);
    expect(await checker.check(input)).toMatchObject({ status: 200, subject: 'usr_x' });
    now = NOW + 3600 * 1000 - 1;
    // Cached: no promise, and the model is still read (the group sync below takes effect at once).
    expect(checker.check(input)).toMatchObject({ status: 200, reason: 'group-granted' });
    model.apply(groups('usr_x', 3, [], NOW + 1));
    expect(checker.check(input)).toMatchObject({ status: 403, reason: 'group-not-granted' });
    now = NOW + 3600 * 1000;
    expect(await checker.check(input)).toMatchObject({ status: 401, reason: 'token-expired' });
  });
});

describe('AuthzChecker: a service token dies with its key (CONTRACT section 2)', () => {
  const keyCreated = (keyId: string, expiresAt: number) =>
    rec(`key-${keyId}`, 1, 'KeyCreated', {
      keyId,
      kind: 'user-key',
      secretHash: hashSecret(generateKey('inference')),
      name: keyId,
      userId: 'usr_owner',
      scope: 'inference',
      expiresAt: iso(expiresAt),
      createdAt: iso(NOW - 120 * MIN),
    });

  it('an expired token of an expired key answers key-expired; of a revoked key key-revoked; else token-expired', async () => {
    const model = world();
    for (const e of [
      user('usr_owner', 'owner'),
      rec('project-prj_a', 2, 'CollaboratorSet', { projectId: 'prj_a', userId: 'usr_owner', role: 'contributor' }),
      rec('signing-keys', 1, 'SigningKeyPublished', {
        kid: 'tg-1',
        publicJwk: tollgateKey.publicJwk,
        activatesAt: iso(NOW - 120 * MIN),
      }),
      // Issuance caps a token's exp at its key's expiry: both end at NOW - 30 min.
      keyCreated('key_expired', NOW - 30 * MIN),
      keyCreated('key_revoked', NOW + 60 * MIN),
      rec('key-key_revoked', 2, 'KeyRevoked', { keyId: 'key_revoked', reason: 'user', revokedAt: iso(NOW - 40 * MIN) }),
      keyCreated('key_valid', NOW + 60 * MIN),
    ])
      model.apply(e);
    const checker = checkerOf(model);
    const expiredToken = (source: string) =>
      new ServiceTokenSigner(tollgateKey, { now: () => NOW - 60 * MIN })
        .sign({ subject: 'usr_owner', scope: 'inference', source, expiresInSeconds: 30 * 60 })
        .then((t) => t.token);
    expect(await check(checker, await expiredToken('key_expired'))).toMatchObject({
      status: 401,
      reason: 'key-expired',
    });
    expect(await check(checker, await expiredToken('key_revoked'))).toMatchObject({
      status: 401,
      reason: 'key-revoked',
    });
    expect(await check(checker, await expiredToken('key_valid'))).toMatchObject({
      status: 401,
      reason: 'token-expired',
    });
    const live = await new ServiceTokenSigner(tollgateKey, { now: () => NOW })
      .sign({ subject: 'usr_owner', scope: 'inference', source: 'key_valid', expiresInSeconds: 600 })
      .then((t) => t.token);
    expect(await check(checker, live)).toMatchObject({ status: 200, reason: 'collaborator', subject: 'usr_owner' });
  });
});
