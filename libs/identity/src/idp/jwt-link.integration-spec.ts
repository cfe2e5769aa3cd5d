import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateServiceSigningKey, type ServiceSigningKey } from '@tollgate/authn';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import { eventually } from '../../../../test/support';
import { ADMIN_KEY, connector, type IdentityTestApp, startIdentityApp } from '../testing/identity-app';
import { startTestIssuer, type TestIssuer } from '../testing/oidc-issuer';

// Who a trusted issuer's JWT names (CONTRACT v3 section 2), end to end on real PostgreSQL: the IdP's own
// issuer, linked by `idpConnector`, reaches the user that SCIM and webhooks edit, so their group removals
// take the token's groups away; and no JWT ever acts as the built-in admin.

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SCIM_TOKEN = 'scim-token-of-the-corp-connector-for-jwt-link-tests';
const PLAIN_ISSUER = 'https://plain-issuer.example.test';
const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('a trusted JWT names the IdP user of its idpConnector, never the built-in admin', () => {
  let idp: TestIssuer;
  let plainKey: ServiceSigningKey;
  let app: IdentityTestApp;
  let deployment: string;
  let adminDeployment: string;
  const now = () => Math.floor(Date.now() / 1000);

  /** A token of the IdP's own issuer (RS256, its key and kid), `iat` ten seconds ago. */
  const idpJwt = (sub: string, groups: string[]) =>
    new SignJWT({ sub, groups })
      .setProtectedHeader({ alg: 'RS256', kid: idp.kid })
      .setIssuer(idp.issuer)
      .setAudience(idp.clientId)
      .setIssuedAt(now() - 10)
      .setExpirationTime(now() + 600)
      .sign(idp.privateKey);

  const plainJwt = (sub: string) =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: 'EdDSA', kid: plainKey.kid })
      .setIssuer(PLAIN_ISSUER)
      .setAudience('tollgate')
      .setIssuedAt(now() - 10)
      .setExpirationTime(now() + 600)
      .sign(plainKey.privateKey);

  const authorize = (dep: string, token: string) =>
    app.call('POST', '/v1/authorize', { body: { deployment: dep, authorization: `Bearer ${token}` } });

  const scim = (method: string, path: string, body?: unknown) =>
    app.call(method, `/scim/v2${path}`, {
      auth: SCIM_TOKEN,
      ...(body === undefined ? {} : { raw: JSON.stringify(body) }),
      headers: { 'content-type': 'application/scim+json' },
    });

  async function provision(sub: string): Promise<string> {
    const r = await scim('POST', '/Users', { schemas: [SCIM_USER], userName: `${sub}@example.com`, externalId: sub });
    expect(r.status).toBe(201);
    return r.body.id as string;
  }

  async function webhook(event: unknown) {
    const body = JSON.stringify(event);
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const r = await app.call('POST', '/v1/idp/corp/webhooks', {
      raw: body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(SECRET).sign(id, at, body),
      },
    });
    expect(r.body).toEqual({ accepted: true });
  }

  beforeAll(async () => {
    idp = await startTestIssuer();
    plainKey = generateServiceSigningKey('plain-1');
    app = await startIdentityApp({
      authz: true,
      configure: (config) => ({
        ...config,
        trustedIssuers: [
          {
            issuer: idp.issuer,
            jwksUri: idp.jwksUri,
            audiences: [idp.clientId],
            algorithms: ['RS256'],
            subjectClaim: 'sub',
            groupsClaim: 'groups',
            clockToleranceSeconds: 60,
            idpConnector: 'corp',
          },
          {
            issuer: PLAIN_ISSUER,
            jwks: { keys: [plainKey.publicJwk as Record<string, unknown>] },
            audiences: ['tollgate'],
            algorithms: ['EdDSA'],
            subjectClaim: 'sub',
            groupsClaim: 'groups',
            clockToleranceSeconds: 60,
          },
        ],
        idpConnectors: [
          connector('corp', {
            webhookSecrets: [SECRET],
            scimToken: SCIM_TOKEN,
            oidc: { issuer: idp.issuer, jwksUri: idp.jwksUri, clientId: idp.clientId },
          }),
        ],
      }),
    });
    // The admin creates both projects, so the built-in admin is their owner (a collaborator that may invoke).
    const project = (await app.call('POST', '/v1/projects', { auth: ADMIN_KEY, body: { name: 'jwt-link' } })).body.id;
    deployment = (
      await app.call('POST', '/v1/deployments', {
        auth: ADMIN_KEY,
        body: { projectId: project, name: 'granted-to-ml', grantedGroups: ['ml'] },
      })
    ).body.id;
    adminDeployment = (
      await app.call('POST', '/v1/deployments', {
        auth: ADMIN_KEY,
        body: { projectId: project, name: 'no-groups', hosts: ['admin-only.example.test'] },
      })
    ).body.id;
  });

  afterAll(async () => {
    await app?.close();
    await idp?.close();
  });

  it("loses the group at once when SCIM removes the user from it, whatever the token's groups claim says", async () => {
    const userId = await provision('00u-scim');
    const group = await scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'ml', members: [] });
    expect(group.status).toBe(201);
    const add = await scim('PATCH', `/Groups/${group.body.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }],
    });
    expect(add.status).toBeLessThan(300);
    const token = await idpJwt('00u-scim', ['ml']);
    await eventually(async () =>
      expect((await authorize(deployment, token)).body).toMatchObject({
        allowed: true,
        reason: 'group-granted',
        subject: userId,
      }),
    );

    const remove = await scim('PATCH', `/Groups/${group.body.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }],
    });
    expect(remove.status).toBeLessThan(300);
    await eventually(async () =>
      expect((await authorize(deployment, token)).body).toMatchObject({
        allowed: false,
        status: 403,
        reason: 'group-not-granted',
        subject: userId,
      }),
    );
  });

  it('loses the group at once when a signed webhook removes the user from it', async () => {
    const userId = await provision('00u-hook');
    await webhook({
      type: 'group.member.added',
      timestamp: new Date().toISOString(),
      data: { group: 'ml', subject: '00u-hook' },
    });
    const token = await idpJwt('00u-hook', ['ml']);
    await eventually(async () =>
      expect((await authorize(deployment, token)).body).toMatchObject({ allowed: true, subject: userId }),
    );
    await webhook({
      type: 'group.member.removed',
      timestamp: new Date().toISOString(),
      data: { group: 'ml', subject: '00u-hook' },
    });
    await eventually(async () =>
      expect((await authorize(deployment, token)).body).toMatchObject({
        allowed: false,
        reason: 'group-not-granted',
        subject: userId,
      }),
    );
  });

  it('`sub: admin` never acts as the built-in admin: 401 on the management API, no owner role in the authorizer', async () => {
    for (const token of [await plainJwt('admin'), await idpJwt('admin', [])]) {
      const me = await app.call('GET', '/v1/me', { auth: token });
      expect(me.status).toBe(401);
      const create = await app.call('POST', '/v1/users', {
        auth: token,
        body: { name: `x-${randomUUID()}`, kind: 'internal', admin: true },
      });
      expect(create.status).toBe(401);
      const decision = (await authorize(adminDeployment, token)).body;
      // Not the owner's `collaborator`: refused as whoever the token is (with a groups claim: an external caller).
      expect(decision).toMatchObject({
        allowed: false,
        status: 403,
        reason: expect.stringMatching(/^(not-collaborator|group-not-granted)$/),
        subject: 'admin',
      });
    }
    // The bootstrap credential is still the admin, and an owner of the project (the contrast that makes the above count).
    expect((await app.call('GET', '/v1/me', { auth: ADMIN_KEY })).body).toMatchObject({ name: 'admin', admin: true });
  });

  it('an issuer without idpConnector never reaches an IdP-created user by name', async () => {
    await provision('00u-named');
    const me = await app.call('GET', '/v1/me', { auth: await plainJwt('corp:00u-named') });
    expect(me.status).toBe(401);
  });
});
