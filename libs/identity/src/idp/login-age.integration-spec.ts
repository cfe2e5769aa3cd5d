import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import { eventually } from '../../../../test/support';
import { ADMIN_KEY, connector, type IdentityTestApp, startIdentityApp } from '../testing/identity-app';
import { startTestIssuer, type TestIssuer } from '../testing/oidc-issuer';

// Issue 19, item 4: `requireExternalUserLoginAfterHours` counts from the user's last sign-in (the ID token's
// `iat`) or webhook refresh (its `webhook-timestamp`, CONTRACT section 3), never from a SCIM edit; a SCIM
// edit still takes a group away at once. End to end on real PostgreSQL: sign-in, SCIM, webhooks, authorizer.

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SCIM_TOKEN = 'scim-token-of-the-corp-connector-for-login-age-tests';
const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const HOUR_S = 3600;

describe('the login clock of requireExternalUserLoginAfterHours: sign-in and webhooks move it, SCIM edits do not', () => {
  let idp: TestIssuer;
  let app: IdentityTestApp;
  let deployment: string;
  const now = () => Math.floor(Date.now() / 1000);

  /** An ID token of the connector's issuer with an `iat` of our choosing (the IdP's own key and kid). */
  const idToken = (sub: string, groups: string[], iat: number) =>
    new SignJWT({ sub, groups })
      .setProtectedHeader({ alg: 'RS256', kid: idp.kid })
      .setIssuer(idp.issuer)
      .setAudience(idp.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(now() + 600)
      .sign(idp.privateKey);

  const signIn = async (sub: string, groups: string[], iat: number) => {
    const r = await app.call('POST', '/v1/idp/corp/sign-in', { body: { idToken: await idToken(sub, groups, iat) } });
    expect(r.status).toBe(200);
    return r;
  };

  const scim = (method: string, path: string, body?: unknown) =>
    app.call(method, `/scim/v2${path}`, {
      auth: SCIM_TOKEN,
      ...(body === undefined ? {} : { raw: JSON.stringify(body) }),
      headers: { 'content-type': 'application/scim+json' },
    });

  async function webhook(event: unknown, at = new Date()) {
    const body = JSON.stringify(event);
    const id = `msg_${randomUUID()}`;
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

  const authorize = (key: string) =>
    app.call('POST', '/v1/authorize', { body: { deployment, authorization: `Bearer ${key}` } });
  const decisionIs = (key: string, expected: Record<string, unknown>) =>
    eventually(async () => expect((await authorize(key)).body).toMatchObject(expected));
  const userEvents = async (userId: string) =>
    (
      await app.sql(`SELECT type, data FROM identity.events WHERE stream_id = $1 ORDER BY stream_version`, [
        `user-${userId}`,
      ])
    ).map((e) => ({ type: e.type as string, data: e.data as Record<string, unknown> }));

  /** A user who signed in `hoursAgo` with `groups`, is provisioned by SCIM, and holds an inference key. */
  async function externalUser(sub: string, groups: string[], hoursAgo: number) {
    const signedIn = await signIn(sub, groups, now() - hoursAgo * HOUR_S);
    const userId = signedIn.body.user.id as string;
    const adopted = await scim('POST', '/Users', {
      schemas: [SCIM_USER],
      userName: `${sub}@example.com`,
      externalId: sub,
    });
    expect(adopted.status).toBe(201);
    expect(adopted.body.id).toBe(userId);
    const key = await eventually(async () => {
      const r = await app.call('POST', `/v1/users/${userId}/keys`, {
        auth: ADMIN_KEY,
        body: { name: 'notebook', scope: 'inference' },
      });
      expect(r.status).toBe(201);
      return r.body.key as string;
    });
    return { userId, key, token: signedIn.body.token as string };
  }

  beforeAll(async () => {
    idp = await startTestIssuer();
    app = await startIdentityApp({
      authz: true,
      configure: (config) => ({
        ...config,
        idpConnectors: [
          connector('corp', {
            webhookSecrets: [SECRET],
            scimToken: SCIM_TOKEN,
            oidc: { issuer: idp.issuer, jwksUri: idp.jwksUri, clientId: idp.clientId },
          }),
        ],
      }),
    });
    const project = (await app.call('POST', '/v1/projects', { auth: ADMIN_KEY, body: { name: 'login-age' } })).body.id;
    deployment = (
      await app.call('POST', '/v1/deployments', {
        auth: ADMIN_KEY,
        body: { projectId: project, name: 'granted-to-ml', grantedGroups: ['ml'] },
      })
    ).body.id;
    const policy = await app.call('PUT', '/v1/external-access-policy', {
      auth: ADMIN_KEY,
      body: { requireExternalUserLoginAfterHours: 2 },
    });
    expect(policy.status).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
    await idp?.close();
  });

  it('a SCIM membership edit does not make a stale login fresh; a new sign-in does', async () => {
    const { userId, key, token } = await externalUser('00u-stale', ['ml'], 3);
    await decisionIs(key, { allowed: false, status: 403, reason: 'external-login-stale' });

    // The IdP's SCIM client adds the user to another group: a membership edit, not a login.
    const group = await scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'eng', members: [] });
    expect(group.status).toBe(201);
    const add = await scim('PATCH', `/Groups/${group.body.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }],
    });
    expect(add.status).toBe(204);
    const events = await userEvents(userId);
    const signedInAt = events.find((e) => e.type === 'GroupsRefreshed')!.data.refreshedAt;
    expect(events.at(-1)).toEqual({
      type: 'GroupsEdited',
      data: { userId, groups: ['ml', 'eng'], editedAt: expect.any(String) },
    });
    // Both writes have reached the access model once the second group shows in the decision's trace…
    await eventually(async () => {
      const r = await app.call('POST', '/v1/authorize?explain=true', {
        body: { deployment, authorization: `Bearer ${key}` },
      });
      expect(JSON.stringify(r.body.trace)).toContain(`groups last refreshed ${signedInAt}`);
      expect(r.body).toMatchObject({ allowed: false, reason: 'external-login-stale' });
    });
    // …and /v1/me reports the login clock, not the edit.
    const me = await app.call('GET', '/v1/me', { auth: token });
    expect(me.body.groups).toEqual([
      { name: 'ml', refreshedAt: signedInAt },
      { name: 'eng', refreshedAt: signedInAt },
    ]);

    // A sign-in now is a login: the clock moves and the group grants access again.
    await signIn('00u-stale', ['ml', 'eng'], now() - 5);
    await decisionIs(key, { allowed: true, reason: 'group-granted', subject: userId });
  });

  it('a SCIM edit still takes a group away at once, and the removal is confirmable', async () => {
    const { userId, key } = await externalUser('00u-removed', [], 0);
    const group = await scim('POST', '/Groups', {
      schemas: [SCIM_GROUP],
      displayName: 'ml',
      members: [{ value: userId }],
    });
    expect(group.status).toBe(201);
    await decisionIs(key, { allowed: true, reason: 'group-granted' });

    const remove = await scim('PATCH', `/Groups/${group.body.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }],
    });
    expect(remove.status).toBe(204);
    const eventId = remove.headers.get('tollgate-event-id');
    expect(eventId).toMatch(/^evt_/);
    await decisionIs(key, { allowed: false, status: 403, reason: 'group-not-granted' });
    await eventually(async () => {
      const r = await app.call('GET', `/v1/revocations/${eventId}`, { auth: ADMIN_KEY });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ eventId, appliedByAll: true });
    });
  });

  it('a SCIM-provisioned user who never signed in gets no login time from SCIM', async () => {
    const sub = '00u-never';
    const user = await scim('POST', '/Users', {
      schemas: [SCIM_USER],
      userName: `${sub}@example.com`,
      externalId: sub,
    });
    expect(user.status).toBe(201);
    const userId = user.body.id as string;
    const group = await scim('POST', '/Groups', {
      schemas: [SCIM_GROUP],
      displayName: 'ml-never',
      members: [{ value: userId }],
    });
    expect(group.status).toBe(201);
    const key = await eventually(async () => {
      const r = await app.call('POST', `/v1/users/${userId}/keys`, {
        auth: ADMIN_KEY,
        body: { name: 'notebook', scope: 'inference' },
      });
      expect(r.status).toBe(201);
      return r.body.key as string;
    });
    const patch = await app.call('PATCH', `/v1/deployments/${deployment}`, {
      auth: ADMIN_KEY,
      body: { grantedGroups: ['ml', 'ml-never'] },
    });
    expect(patch.status).toBe(200);
    await decisionIs(key, { allowed: false, status: 403, reason: 'external-login-stale' });
    const explained = await app.call('POST', '/v1/authorize?explain=true', {
      body: { deployment, authorization: `Bearer ${key}` },
    });
    expect(JSON.stringify(explained.body.trace)).toContain('groups last refreshed never');
  });

  it('a webhook counts as a refresh at its webhook-timestamp (the contract rule)', async () => {
    const { userId, key } = await externalUser('00u-hook', [], 3);
    await webhook({
      type: 'group.member.added',
      timestamp: new Date().toISOString(),
      data: { group: 'ml', subject: '00u-hook' },
    });
    await decisionIs(key, { allowed: true, reason: 'group-granted', subject: userId });
    const last = (await userEvents(userId)).at(-1)!;
    expect(last.type).toBe('GroupsRefreshed');
  });
});
