import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { connector, type IdentityTestApp, startIdentityApp } from '../../testing/identity-app';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD_SECRET = 'whsec_dGhlIG9sZCBzZWNyZXQgb2YgYSByb3RhdGlvbg==';
const FOREIGN = 'whsec_c29tZWJvZHkgZWxzZXMgc2VjcmV0IGtleQ==';
const SCIM_TOKEN = 'scim-token-of-the-corp-connector-for-webhook-tests';
const OTHER_SCIM_TOKEN = 'scim-token-of-the-other-connector-for-webhook-tests';

describe('signed IdP webhooks (Standard Webhooks, signed with the standardwebhooks package)', () => {
  let app: IdentityTestApp;
  const users: Record<string, string> = {};

  /** POSTs a delivery signed (or not) as a Standard Webhooks sender would. */
  async function deliver(
    event: unknown,
    options: {
      secret?: string | null;
      id?: string;
      at?: Date;
      raw?: string;
      idp?: string;
      tamper?: (body: string) => string;
      contentType?: string;
    } = {},
  ) {
    const body = options.raw ?? JSON.stringify(event);
    const id = options.id ?? `msg_${randomUUID()}`;
    const at = options.at ?? new Date();
    const headers: Record<string, string> = {
      'content-type': options.contentType ?? 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    };
    if (options.secret !== null)
      headers['webhook-signature'] = new Webhook(options.secret ?? SECRET).sign(id, at, body);
    const sent = options.tamper ? options.tamper(body) : body;
    return app.call('POST', `/v1/idp/${options.idp ?? 'corp'}/webhooks`, { raw: sent, headers });
  }

  const groupsOf = async (userId: string) =>
    (await app.call('GET', `/scim/v2/Users/${userId}`, { auth: SCIM_TOKEN })).body;
  const userEvents = (userId: string) =>
    app.sql(`SELECT type, data, metadata FROM identity.events WHERE stream_id = $1 ORDER BY stream_version`, [
      `user-${userId}`,
    ]);
  const eventCount = async () => Number((await app.sql(`SELECT count(*)::int AS n FROM identity.events`))[0].n);

  async function provision(sub: string, token = SCIM_TOKEN): Promise<string> {
    const r = await app.call('POST', '/scim/v2/Users', {
      auth: token,
      raw: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: `${sub}@example.com`,
        externalId: sub,
      }),
      headers: { 'content-type': 'application/scim+json' },
    });
    expect(r.status).toBe(201);
    return r.body.id;
  }

  beforeAll(async () => {
    app = await startIdentityApp({
      configure: (config) => ({
        ...config,
        idpConnectors: [
          connector('corp', { webhookSecrets: [SECRET, OLD_SECRET], scimToken: SCIM_TOKEN }),
          connector('other', { webhookSecrets: [FOREIGN], scimToken: OTHER_SCIM_TOKEN }),
          connector('no-webhooks', {}),
        ],
      }),
    });
    for (const sub of ['00u-ann', '00u-ben', '00u-cid', '00u-dee']) users[sub] = await provision(sub);
    users['other:00u-ann'] = await provision('00u-ann', OTHER_SCIM_TOKEN);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('user.groups.changed replaces the set, refreshed at webhook-timestamp, with actor, channel and causation', async () => {
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000);
    const r = await deliver(
      {
        type: 'user.groups.changed',
        timestamp: at.toISOString(),
        data: { subject: '00u-ann', groups: ['ml-readers', 'eng'] },
      },
      { at, id: 'msg_ann_1' },
    );
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ accepted: true });
    const events = await userEvents(users['00u-ann']!);
    const last = events[events.length - 1];
    expect(last.type).toBe('GroupsRefreshed');
    expect(last.data).toEqual({
      userId: users['00u-ann'],
      groups: ['ml-readers', 'eng'],
      refreshedAt: at.toISOString(),
    });
    expect(last.metadata).toMatchObject({ actor: 'idp:corp', channel: 'webhook', causationId: 'msg_ann_1' });
    // The other connector's user with the same subject is another user, untouched.
    expect((await userEvents(users['other:00u-ann']!)).map((e) => e.type)).toEqual(['UserCreated']);
  });

  it('a webhook-id seen before is { duplicate: true }, with no second effect (persisted)', async () => {
    const event = {
      type: 'group.member.added',
      timestamp: new Date().toISOString(),
      data: { subject: '00u-ben', group: 'once' },
    };
    expect((await deliver(event, { id: 'msg_dup' })).body).toEqual({ accepted: true });
    const before = await eventCount();
    const again = await deliver(event, { id: 'msg_dup' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ duplicate: true });
    expect(await eventCount()).toBe(before);
    expect(
      (await app.sql(`SELECT count(*)::int AS n FROM identity.webhook_deliveries WHERE webhook_id = 'msg_dup'`))[0].n,
    ).toBe(1);
  });

  it('a delivery whose processing died after its claim is applied by the retry, not taken for a duplicate', async () => {
    // What a process killed between claiming the webhook-id and applying it leaves behind: a claim, not done.
    const removal = {
      type: 'group.member.removed',
      timestamp: new Date().toISOString(),
      data: { subject: '00u-cid', group: 'to-remove' },
    };
    expect((await deliver({ ...removal, type: 'group.member.added' })).body).toEqual({ accepted: true });
    await app.sql(
      `INSERT INTO identity.webhook_deliveries (idp, webhook_id, done, received_at) VALUES ('corp', 'msg_died', false, now())`,
    );
    // While the claim is fresh, another request may still be applying it: retry later, never "duplicate".
    const early = await deliver(removal, { id: 'msg_died' });
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');
    expect(early.body.error.code).toBe('unavailable');
    // Once the lease (10 s) has run out, the retry takes the claim over and the removal happens.
    await app.sql(
      `UPDATE identity.webhook_deliveries SET received_at = now() - interval '11 seconds' WHERE webhook_id = 'msg_died'`,
    );
    const retried = await deliver(removal, { id: 'msg_died' });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({ accepted: true });
    const last = (await userEvents(users['00u-cid']!)).pop();
    expect(last.metadata).toMatchObject({ channel: 'webhook', causationId: 'msg_died' });
    expect(last.data.groups).not.toContain('to-remove');
    expect((await deliver(removal, { id: 'msg_died' })).body).toEqual({ duplicate: true });
  });

  it('group.member.added / removed edit the one group set', async () => {
    const ben = users['00u-ben']!;
    expect((await deliver({ type: 'group.member.added', data: { subject: '00u-ben', group: 'fraud' } })).body).toEqual({
      accepted: true,
    });
    expect((await deliver({ type: 'group.member.removed', data: { subject: '00u-ben', group: 'once' } })).body).toEqual(
      { accepted: true },
    );
    const last = (await userEvents(ben)).pop();
    expect(last.data.groups).toEqual(['fraud']);
  });

  it('group.deleted removes the group from every user of the connector who has it', async () => {
    await deliver({ type: 'user.groups.changed', data: { subject: '00u-cid', groups: ['doomed', 'kept'] } });
    await deliver({ type: 'group.member.added', data: { subject: '00u-dee', group: 'doomed' } });
    const r = await deliver({ type: 'group.deleted', data: { group: 'doomed' } });
    expect(r.body).toEqual({ accepted: true });
    expect((await userEvents(users['00u-cid']!)).pop().data.groups).toEqual(['kept']);
    expect((await userEvents(users['00u-dee']!)).pop().data.groups).toEqual([]);
  });

  it('user.deactivated deactivates the user (UserDeactivated), and SCIM shows it', async () => {
    const r = await deliver({ type: 'user.deactivated', data: { subject: '00u-dee' } });
    expect(r.body).toEqual({ accepted: true });
    expect((await userEvents(users['00u-dee']!)).pop()).toMatchObject({
      type: 'UserDeactivated',
      metadata: { channel: 'webhook', actor: 'idp:corp' },
    });
    expect((await groupsOf(users['00u-dee']!)).active).toBe(false);
  });

  it('an unknown type or subject is { ignored: true }', async () => {
    const before = await eventCount();
    expect((await deliver({ type: 'user.created', data: { subject: '00u-ann' } })).body).toEqual({ ignored: true });
    expect(
      (await deliver({ type: 'user.groups.changed', data: { subject: '00u-nobody', groups: ['x'] } })).body,
    ).toEqual({ ignored: true });
    expect(await eventCount()).toBe(before);
  });

  it('accepts a secret being rotated out (any of the connector secrets)', async () => {
    const r = await deliver(
      { type: 'group.member.added', data: { subject: '00u-cid', group: 'rotated' } },
      { secret: OLD_SECRET },
    );
    expect(r.status).toBe(200);
  });

  it('verifies the raw bytes: odd formatting signed as sent is fine; bytes changed after signing are not', async () => {
    const raw = '{ "type" : "group.member.added",\n  "data": {"group":"spaced","subject":"00u-cid"} }';
    expect((await deliver(undefined, { raw })).status).toBe(200);
    const tampered = await deliver(
      { type: 'group.member.added', data: { subject: '00u-cid', group: 'admins' } },
      { tamper: (b) => b.replace('admins', 'admins ') },
    );
    expect(tampered.status).toBe(401);
    expect(tampered.body.error.code).toBe('webhook-signature-invalid');
  });

  describe('refused deliveries change nothing', () => {
    const event = { type: 'user.groups.changed', data: { subject: '00u-ann', groups: ['admins'] } };
    it.each([
      ['unsigned', { secret: null }, 401, 'webhook-signature-invalid'],
      ['signed with another secret', { secret: FOREIGN }, 401, 'webhook-signature-invalid'],
      [
        'stale (6 minutes old), correctly signed',
        { at: new Date(Date.now() - 6 * 60_000) },
        401,
        'webhook-timestamp-invalid',
      ],
      [
        'from the future (6 minutes ahead)',
        { at: new Date(Date.now() + 6 * 60_000) },
        401,
        'webhook-timestamp-invalid',
      ],
      ['for another connector', { idp: 'other' }, 401, 'webhook-signature-invalid'],
    ] as const)('%s', async (_what, options, status, code) => {
      const before = await eventCount();
      const r = await deliver(event, options);
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect(await eventCount()).toBe(before);
    });

    it('a replay of a stale delivery is refused as stale, not as a duplicate', async () => {
      const at = new Date(Date.now() - 10 * 60_000);
      expect((await deliver(event, { at, id: 'msg_old' })).body.error.code).toBe('webhook-timestamp-invalid');
    });

    it('signed but malformed: 400 malformed-json or validation-failed', async () => {
      const before = await eventCount();
      const notJson = await deliver(undefined, { raw: '{"type": "user.groups.changed", ' });
      expect(notJson.status).toBe(400);
      expect(notJson.body.error.code).toBe('malformed-json');
      const badData = await deliver({ type: 'user.groups.changed', data: { subject: '00u-ann', groups: 'admins' } });
      expect(badData.status).toBe(400);
      expect(badData.body.error.code).toBe('validation-failed');
      const noType = await deliver({ data: {} });
      expect(noType.status).toBe(400);
      expect(await eventCount()).toBe(before);
    });

    it('signed, but with a prototype key or unsafe text: the same policy as every body, after the signature', async () => {
      const before = await eventCount();
      const proto = await deliver(undefined, {
        raw: '{"type":"user.groups.changed","timestamp":"2026-12-04T00:00:00.000Z","data":{"subject":"00u-ann","groups":[],"__proto__":{"polluted":"yes"}}}',
      });
      expect([proto.status, proto.body.error.code]).toEqual([400, 'malformed-json']);
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      const nul = await deliver({ type: 'user.groups.changed', data: { subject: '00u-ann', groups: ['a\u0000'] } });
      expect([nul.status, nul.body.error.code]).toEqual([400, 'validation-failed']);
      // Unsigned, the same body is refused for its signature: the policy runs only on a verified delivery.
      const unsigned = await deliver(undefined, { secret: null, raw: '{"__proto__":{}}' });
      expect(unsigned.body.error.code).toBe('webhook-signature-invalid');
      expect(await eventCount()).toBe(before);
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
      'a correctly signed delivery sent as %s is 415',
      async (contentType) => {
        const before = await eventCount();
        const r = await deliver(event, { contentType });
        expect([r.status, r.body.error.code]).toEqual([415, 'unsupported-media-type']);
        expect(await eventCount()).toBe(before);
      },
    );

    it('an unknown connector, or one without webhook secrets, is 404', async () => {
      expect((await deliver(event, { idp: 'nope' })).status).toBe(404);
      expect((await deliver(event, { idp: 'no-webhooks' })).status).toBe(404);
    });
  });
});
