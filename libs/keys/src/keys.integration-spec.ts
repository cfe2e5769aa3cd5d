import { AccessModelModule } from '@tollgate/access-model';
import { findKeysInText, generateKey } from '@tollgate/authn';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import { eventually } from '../../../test/support';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { KeysModule } from './keys.module';
import { IdentityFixture } from './testing/identity-fixture';

const ADMIN = 'bootstrap-admin-credential-for-the-keys-tests-0001';

describe('keys service over HTTP (real PostgreSQL, real access model)', () => {
  let app: TestApp;
  let identity: IdentityFixture;
  let call: ReturnType<typeof httpClient>;
  let db: pg.Client;
  /** Every secret the service handed out: none may appear in a log line or a listing. */
  const secrets: string[] = [];
  let alice: string; // alice's management key
  let bob: string; // bob's management key
  const keep = <T extends { key?: string | null; accessKey?: string | null; token?: string | null }>(body: T): T => {
    for (const s of [body.key, body.accessKey, body.token]) if (s) secrets.push(s);
    return body;
  };

  const keyEvents = async () =>
    Number(
      (
        await db.query(
          `SELECT count(*) AS n FROM keys.events WHERE type IN ('KeyCreated', 'KeyRevoked', 'KeyPolicyChanged')`,
        )
      ).rows[0].n,
    );

  beforeAll(async () => {
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx),
        KeysModule.forRoot(ctx, { signingKeySchedule: { firstKeyLeadMs: 300 } }),
      ],
      {
        env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN },
      },
    );
    call = httpClient(app.url);
    identity = await IdentityFixture.start(app.context.databaseUrl);
    db = new pg.Client({ connectionString: app.context.databaseUrl });
    await db.connect();
    await identity.user('usr_admin', 'admin', { admin: true });
    await identity.user('usr_alice', 'alice');
    await identity.user('usr_bob', 'bob');
    await identity.user('usr_carol', 'carol');
    await identity.project('prj_models', 'usr_alice');
    await identity.role('prj_models', 'usr_bob', 'viewer');
    await identity.deployment('dep_llm', 'prj_models');
    alice = keep(
      (
        await call('POST', '/v1/users/usr_alice/keys', {
          auth: ADMIN,
          body: { name: 'alice cli', scope: 'management' },
        })
      ).body,
    ).key!;
    bob = keep(
      (await call('POST', '/v1/users/usr_bob/keys', { auth: ADMIN, body: { name: 'bob cli', scope: 'management' } }))
        .body,
    ).key!;
    expect(alice).toMatch(/^tgm_/);
    expect(bob).toMatch(/^tgm_/);
  });

  afterAll(async () => {
    await db?.end();
    await identity?.close();
    await app?.close();
  });

  describe('user API keys', () => {
    it('creates a key (201, secret once), lists it on the next request without the secret, reads it with an ETag', async () => {
      const created = await call('POST', '/v1/keys', { auth: alice, body: { name: 'notebook', scope: 'inference' } });
      expect(created.status).toBe(201);
      keep(created.body);
      expect(created.body).toEqual({
        keyId: expect.stringMatching(/^key_/),
        key: expect.stringMatching(/^tgi_[0-9A-Za-z]{38}$/),
        name: 'notebook',
        scope: 'inference',
        expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        createdAt: expect.stringMatching(/Z$/),
      });
      expect(Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt)).toBe(365 * 86_400_000);
      expect(created.headers.get('cache-control')).toBe('no-store');

      const list = await call('GET', '/v1/keys', { auth: alice });
      expect(list.status).toBe(200);
      expect(list.body.keys.map((k: { keyId: string }) => k.keyId)).toContain(created.body.keyId);
      expect(list.text).not.toContain(created.body.key);
      expect(findKeysInText(list.text)).toEqual([]);

      const one = await call('GET', `/v1/keys/${created.body.keyId}`, { auth: alice });
      expect(one.body).toMatchObject({ keyId: created.body.keyId, status: 'active', version: 1 });
      expect(one.headers.get('etag')).toBe('"1"');
    });

    it('revokes a key → 200 { keyId, revokedAt, eventId }; the access model applies that revocation', async () => {
      const created = keep(
        (await call('POST', '/v1/keys', { auth: alice, body: { name: 'temp', scope: 'management' } })).body,
      );
      expect((await call('GET', '/v1/keys', { auth: created.key! })).status).toBe(200);
      const revoked = await call('DELETE', `/v1/keys/${created.keyId}`, { auth: alice });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toEqual({
        keyId: created.keyId,
        revokedAt: expect.stringMatching(/Z$/),
        eventId: expect.stringMatching(/^evt_/),
      });
      const row = await db.query(`SELECT type, data, metadata FROM keys.events WHERE event_id = $1`, [
        revoked.body.eventId,
      ]);
      expect(row.rows[0]).toMatchObject({
        type: 'KeyRevoked',
        data: { keyId: created.keyId, reason: 'user' },
        metadata: { actor: 'usr_alice', channel: 'rest' },
      });
      await eventually(async () => {
        const refused = await call('GET', '/v1/keys', { auth: created.key! });
        expect(refused.status).toBe(401);
        expect(refused.body.error.message).toMatch(/key-revoked/);
      });
      // Revoking again answers the same revocation.
      expect((await call('DELETE', `/v1/keys/${created.keyId}`, { auth: alice })).body).toEqual(revoked.body);
    });

    it('lets an admin create a key for another user; a user may not (403)', async () => {
      const forCarol = await call('POST', '/v1/users/usr_carol/keys', {
        auth: ADMIN,
        body: { name: 'carol first', scope: 'inference' },
      });
      expect(forCarol.status).toBe(201);
      keep(forCarol.body);
      const refused = await call('POST', '/v1/users/usr_carol/keys', {
        auth: alice,
        body: { name: 'sneaky', scope: 'inference' },
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('forbidden');
      expect(
        (await call('POST', '/v1/users/usr_nobody/keys', { auth: ADMIN, body: { name: 'x', scope: 'inference' } }))
          .status,
      ).toBe(404);
    });

    it("lists and revokes all of a user's keys (the user, or an admin)", async () => {
      for (const name of ['one', 'two'])
        keep(
          (await call('POST', '/v1/users/usr_carol/keys', { auth: ADMIN, body: { name, scope: 'inference' } })).body,
        );
      const listed = await call('GET', '/v1/users/usr_carol/keys', { auth: ADMIN });
      expect(listed.status).toBe(200);
      const active = listed.body.keys.filter((k: { status: string }) => k.status === 'active').length;
      expect(active).toBeGreaterThanOrEqual(2);
      const revoked = await call('DELETE', '/v1/users/usr_carol/keys', { auth: ADMIN });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toEqual({ revoked: active, eventIds: expect.any(Array) });
      expect(revoked.body.eventIds).toHaveLength(active);
      const after = await call('GET', '/v1/users/usr_carol/keys', { auth: ADMIN });
      expect(
        after.body.keys.every(
          (k: { status: string; revocationReason: string }) => k.status === 'revoked' && k.revocationReason === 'admin',
        ),
      ).toBe(true);
    });

    it('counts active keys per user with names (admin only)', async () => {
      const counts = await call('GET', '/v1/key-counts', { auth: ADMIN });
      expect(counts.status).toBe(200);
      expect(counts.body.counts).toEqual(
        expect.arrayContaining([
          { userId: 'usr_carol', name: 'carol', active: 0 },
          expect.objectContaining({ userId: 'usr_alice', name: 'alice' }),
        ]),
      );
      expect((await call('GET', '/v1/key-counts', { auth: alice })).status).toBe(403);
    });

    it("lists keys expiring within N days: mine, everyone's for an admin", async () => {
      const soon = new Date(Date.now() + 2 * 86_400_000).toISOString();
      const mine = keep(
        (await call('POST', '/v1/keys', { auth: bob, body: { name: 'soon', scope: 'inference', expiresAt: soon } }))
          .body,
      );
      const asBob = await call('GET', '/v1/keys/expiring?days=3', { auth: bob });
      expect(asBob.status).toBe(200);
      expect(asBob.body.keys.map((k: { keyId: string }) => k.keyId)).toEqual([mine.keyId]);
      expect((await call('GET', '/v1/keys/expiring?days=3', { auth: alice })).body.keys).toEqual([]);
      expect(
        (await call('GET', '/v1/keys/expiring?days=3', { auth: ADMIN })).body.keys.map(
          (k: { keyId: string }) => k.keyId,
        ),
      ).toContain(mine.keyId);
      expect((await call('GET', '/v1/keys/expiring?days=1', { auth: bob })).body.keys).toEqual([]);
      expect((await call('GET', '/v1/keys/expiring?days=zero', { auth: bob })).status).toBe(400);
    });
  });

  describe('key policy', () => {
    it('defaults to 365/365 with an ETag; admins change it with If-Match; a stale If-Match is 412', async () => {
      const initial = await call('GET', '/v1/key-policy', { auth: alice });
      expect(initial.body).toEqual({
        defaultLifetimeDays: 365,
        maxLifetimeDays: 365,
        maxServiceTokenLifetimeSeconds: 3600,
        version: 0,
      });
      expect(initial.headers.get('etag')).toBe('"0"');
      expect(
        (await call('PUT', '/v1/key-policy', { auth: alice, body: { defaultLifetimeDays: 30, maxLifetimeDays: 90 } }))
          .status,
      ).toBe(403);
      const changed = await call('PUT', '/v1/key-policy', {
        auth: ADMIN,
        body: { defaultLifetimeDays: 30, maxLifetimeDays: 90 },
        headers: { 'if-match': '"0"' },
      });
      expect(changed.status).toBe(200);
      expect(changed.body).toEqual({
        defaultLifetimeDays: 30,
        maxLifetimeDays: 90,
        maxServiceTokenLifetimeSeconds: 3600,
        version: 1,
      });
      const stale = await call('PUT', '/v1/key-policy', {
        auth: ADMIN,
        body: { defaultLifetimeDays: 10, maxLifetimeDays: 90 },
        headers: { 'if-match': '"0"' },
      });
      expect(stale.status).toBe(412);
      expect(stale.body.error.code).toBe('version-conflict');

      const created = keep(
        (await call('POST', '/v1/keys', { auth: alice, body: { name: 'policy default', scope: 'inference' } })).body,
      );
      expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBe(30 * 86_400_000);
      const tooLong = await call('POST', '/v1/keys', {
        auth: alice,
        body: { name: 'x', scope: 'inference', expiresAt: new Date(Date.now() + 100 * 86_400_000).toISOString() },
      });
      expect(tooLong.status).toBe(422);
      expect(tooLong.body.error).toMatchObject({
        code: 'key-lifetime-exceeds-policy',
        message: expect.stringContaining('90 days'),
      });
      const never = await call('POST', '/v1/keys', {
        auth: alice,
        body: { name: 'x', scope: 'inference', expiresAt: null },
      });
      expect(never.status).toBe(422);

      const unbounded = await call('PUT', '/v1/key-policy', {
        auth: ADMIN,
        body: { defaultLifetimeDays: 365, maxLifetimeDays: null },
      });
      expect(unbounded.body).toEqual({
        defaultLifetimeDays: 365,
        maxLifetimeDays: null,
        maxServiceTokenLifetimeSeconds: 3600,
        version: 2,
      });
      const forever = await call('POST', '/v1/keys', {
        auth: alice,
        body: { name: 'forever', scope: 'inference', expiresAt: null },
      });
      expect(forever.status).toBe(201);
      expect(keep(forever.body).expiresAt).toBeNull();
      await call('PUT', '/v1/key-policy', { auth: ADMIN, body: { defaultLifetimeDays: 365, maxLifetimeDays: 365 } });
    });

    it.each([
      [{ defaultLifetimeDays: 0, maxLifetimeDays: 10 }, 'defaultLifetimeDays'],
      [{ defaultLifetimeDays: 20, maxLifetimeDays: 10 }, 'defaultLifetimeDays'],
      [{ defaultLifetimeDays: 1.5, maxLifetimeDays: 10 }, 'defaultLifetimeDays'],
      [{ defaultLifetimeDays: 10 }, 'maxLifetimeDays'],
      [{ defaultLifetimeDays: 10, maxLifetimeDays: 10, colour: 'red' }, 'colour'],
      [{ defaultLifetimeDays: 10, maxLifetimeDays: 1e12 }, 'maxLifetimeDays'],
    ])('refuses the policy %j (400 naming %s)', async (body, field) => {
      const res = await call('PUT', '/v1/key-policy', { auth: ADMIN, body });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    });
  });

  describe('model access keys', () => {
    it('rotates a slot: new key 201, the previous one revoked as rotated; DELETE revokes the slot', async () => {
      const first = await call('POST', '/v1/deployments/dep_llm/access-keys/primary', { auth: alice });
      expect(first.status).toBe(201);
      keep(first.body);
      expect(first.body).toEqual({
        slot: 'primary',
        keyId: expect.stringMatching(/^key_/),
        accessKey: expect.stringMatching(/^tga_/),
      });
      const second = keep(
        (await call('POST', '/v1/deployments/dep_llm/access-keys/primary', { auth: alice, body: {} })).body,
      );
      expect(second.eventId).toMatch(/^evt_/);
      const row = await db.query(`SELECT data FROM keys.events WHERE event_id = $1`, [second.eventId]);
      expect(row.rows[0].data).toMatchObject({ keyId: first.body.keyId, reason: 'rotated' });
      const deleted = await call('DELETE', '/v1/deployments/dep_llm/access-keys/primary', { auth: ADMIN });
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ eventId: expect.stringMatching(/^evt_/) });
      expect((await call('DELETE', '/v1/deployments/dep_llm/access-keys/primary', { auth: ADMIN })).status).toBe(404);
    });

    it.each([
      [
        'an unknown slot',
        'POST',
        '/v1/deployments/dep_llm/access-keys/tertiary',
        () => alice,
        400,
        'validation-failed',
      ],
      ['an unknown deployment', 'POST', '/v1/deployments/dep_nope/access-keys/primary', () => ADMIN, 404, 'not-found'],
      ['a viewer of the project', 'POST', '/v1/deployments/dep_llm/access-keys/secondary', () => bob, 403, 'forbidden'],
      [
        'a user outside the project',
        'DELETE',
        '/v1/deployments/dep_llm/access-keys/secondary',
        () => 'carol',
        404,
        'not-found',
      ],
      [
        'a body with fields',
        'POST',
        '/v1/deployments/dep_llm/access-keys/secondary',
        () => alice,
        400,
        'validation-failed',
      ],
    ])('refuses %s', async (what, method, path, who, status, code) => {
      let auth = who();
      if (auth === 'carol')
        auth = keep(
          (await call('POST', '/v1/users/usr_carol/keys', { auth: ADMIN, body: { name: 'c', scope: 'management' } }))
            .body,
        ).key!;
      const before = await keyEvents();
      const res = await call(method, path, {
        auth,
        ...(what === 'a body with fields' ? { body: { slot: 'primary' } } : {}),
      });
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(await keyEvents()).toBe(before);
    });
  });

  describe('service tokens', () => {
    it('exchanges an API key for an EdDSA token verifiable with /.well-known/jwks.json', async () => {
      const key = keep(
        (await call('POST', '/v1/keys', { auth: alice, body: { name: 'for tokens', scope: 'inference' } })).body,
      );
      const issued = await eventually(async () => {
        const res = await call('POST', '/v1/tokens', { headers: { authorization: `ApiKey ${key.key}` } });
        expect(res.status).toBe(201);
        return keep(res.body);
      });
      expect(issued).toEqual({
        token: expect.any(String),
        tokenType: 'Bearer',
        scope: 'inference',
        expiresAt: expect.stringMatching(/Z$/),
      });
      const jwks = await call('GET', '/.well-known/jwks.json');
      expect(jwks.status).toBe(200);
      expect(decodeProtectedHeader(issued.token!)).toMatchObject({ alg: 'EdDSA' });
      const { payload } = await jwtVerify(issued.token!, createLocalJWKSet(jwks.body), {
        issuer: 'tollgate',
        audience: 'tollgate',
      });
      expect(payload).toMatchObject({
        sub: 'usr_alice',
        scope: 'inference',
        src: key.keyId,
        jti: expect.any(String),
        exp: expect.any(Number),
      });
      expect(payload.exp! - payload.iat!).toBe(3600);
      // An inference token is not a management credential.
      const refused = await call('GET', '/v1/keys', { auth: issued.token! });
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('key-scope-invalid');
    });

    it('gives a management key a management token that works on the management API', async () => {
      const issued = keep((await call('POST', '/v1/tokens', { auth: alice, body: { expiresInSeconds: 120 } })).body);
      expect(issued.scope).toBe('management');
      expect(Date.parse(issued.expiresAt) - Date.now()).toBeLessThanOrEqual(121_000);
      await eventually(async () => expect((await call('GET', '/v1/keys', { auth: issued.token! })).status).toBe(200));
    });

    it.each([
      [{ expiresInSeconds: 0 }],
      [{ expiresInSeconds: 3601 }],
      [{ expiresInSeconds: '60' }],
      [{ expiresInSeconds: 60, scope: 'management' }],
    ])('refuses the body %j with 400', async (body) => {
      const res = await call('POST', '/v1/tokens', { auth: alice, body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation-failed');
    });

    it('refuses an access key (key-scope-invalid), a token, and no credential (401)', async () => {
      const access = keep((await call('POST', '/v1/deployments/dep_llm/access-keys/secondary', { auth: alice })).body);
      const withAccess = await call('POST', '/v1/tokens', { auth: access.accessKey! });
      expect([withAccess.status, withAccess.body.error.code]).toEqual([401, 'key-scope-invalid']);
      const none = await call('POST', '/v1/tokens');
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="tollgate"');
      const token = keep((await call('POST', '/v1/tokens', { auth: alice })).body).token!;
      expect((await call('POST', '/v1/tokens', { auth: token })).status).toBe(401);
    });
  });

  describe('idempotency and rate limits', () => {
    it('replays a creation with Idempotent-Replayed: true and key: null; another body is 422', async () => {
      const headers = { 'idempotency-key': 'create-notebook-7' };
      const first = await call('POST', '/v1/keys', { auth: bob, headers, body: { name: 'idem', scope: 'inference' } });
      keep(first.body);
      const again = await call('POST', '/v1/keys', {
        auth: bob,
        headers,
        raw: '{ "scope": "inference", "name": "idem" }',
      });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual({ ...first.body, key: null });
      const other = await call('POST', '/v1/keys', { auth: bob, headers, body: { name: 'idem2', scope: 'inference' } });
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('idempotency-key-reused');
      expect(
        (
          await call('POST', '/v1/keys', {
            auth: bob,
            headers: { 'idempotency-key': 'x'.repeat(300) },
            body: { name: 'a', scope: 'inference' },
          })
        ).status,
      ).toBe(400);
    });

    it('limits key creation to 30 a minute per owner (429 with Retry-After)', async () => {
      await call('POST', '/v1/users/usr_carol/keys', { auth: ADMIN, body: { name: 'warm', scope: 'inference' } }).then(
        (r) => keep(r.body),
      );
      // Earlier tests already took from carol's bucket, and it refills at 30 a minute while the burst runs, so on a
      // slow machine a few more than 30 may pass: at most a full bucket plus one per 2 s of burst, never more.
      let limited;
      let accepted = 1;
      const started = Date.now();
      for (let i = 0; i < 90 && !limited; i++) {
        const res = await call('POST', '/v1/users/usr_carol/keys', {
          auth: ADMIN,
          body: { name: `burst ${i}`, scope: 'inference' },
        });
        if (res.status === 429) {
          limited = res;
        } else {
          keep(res.body);
          accepted++;
        }
      }
      expect(limited?.body.error.code).toBe('rate-limited');
      expect(accepted).toBeLessThanOrEqual(31 + Math.ceil((Date.now() - started) / 2000));
      expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another owner is not limited.
      expect(
        (await call('POST', '/v1/keys', { auth: ADMIN, body: { name: 'admin own', scope: 'inference' } })).status,
      ).toBe(201);
    });
  });

  describe('reaction to UserDeactivated', () => {
    it("revokes all of a deactivated user's keys (reason user-deactivated), once", async () => {
      await identity.user('usr_dave', 'dave');
      const daves = [];
      for (const name of ['a', 'b'])
        daves.push(
          keep(
            (await call('POST', '/v1/users/usr_dave/keys', { auth: ADMIN, body: { name, scope: 'inference' } })).body,
          ),
        );
      const eventId = await identity.deactivate('usr_dave');
      await eventually(async () => {
        const list = await call('GET', '/v1/users/usr_dave/keys', { auth: ADMIN });
        expect(list.body.keys.map((k: { revocationReason: string }) => k.revocationReason)).toEqual([
          'user-deactivated',
          'user-deactivated',
        ]);
      });
      const rows = await db.query(
        `SELECT metadata FROM keys.events WHERE type = 'KeyRevoked' AND data->>'reason' = 'user-deactivated'`,
      );
      expect(rows.rows).toHaveLength(2);
      expect(rows.rows[0].metadata).toMatchObject({ actor: 'system', channel: 'system', causationId: eventId });
      // A new key for a deactivated user is refused.
      const refused = await call('POST', '/v1/users/usr_dave/keys', {
        auth: ADMIN,
        body: { name: 'c', scope: 'inference' },
      });
      expect(refused.status).toBe(409);
    });
  });

  describe('bad input: a 4xx with the error shape and a stable code, nothing written', () => {
    it.each([
      ['malformed JSON', { raw: '{"name": "x", "scope":' }, 400, 'malformed-json'],
      ['an empty JSON body (no body)', { raw: '' }, 400, 'validation-failed'],
      ['a JSON array', { body: [] }, 400, 'validation-failed'],
      ['no body', {}, 400, 'validation-failed'],
      ['a wrong type', { body: { name: 5, scope: 'inference' } }, 400, 'validation-failed'],
      ['an unknown scope', { body: { name: 'x', scope: 'admin' } }, 400, 'validation-failed'],
      ['an unknown field', { body: { name: 'x', scope: 'inference', owner: 'usr_bob' } }, 400, 'validation-failed'],
      ['an empty name', { body: { name: '', scope: 'inference' } }, 400, 'validation-failed'],
      ['a 201-character name', { body: { name: 'n'.repeat(201), scope: 'inference' } }, 400, 'validation-failed'],
      [
        'a past expiry',
        { body: { name: 'x', scope: 'inference', expiresAt: '2020-01-01T00:00:00.000Z' } },
        400,
        'validation-failed',
      ],
      [
        'an absurd expiry',
        { body: { name: 'x', scope: 'inference', expiresAt: '9999-12-31T23:59:59.999Z' } },
        422,
        'key-lifetime-exceeds-policy',
      ],
      [
        'an impossible date',
        { body: { name: 'x', scope: 'inference', expiresAt: '2027-02-30T00:00:00.000Z' } },
        400,
        'validation-failed',
      ],
      [
        'a date without a zone',
        { body: { name: 'x', scope: 'inference', expiresAt: '2027-01-01T00:00:00' } },
        400,
        'validation-failed',
      ],
      [
        'a body over 1 MiB',
        { body: { name: 'x'.repeat(1024 * 1024 + 10), scope: 'inference' } },
        413,
        'payload-too-large',
      ],
      [
        'a text/plain body',
        { raw: 'name=x', headers: { 'content-type': 'text/plain' } },
        415,
        'unsupported-media-type',
      ],
      ['prototype pollution', { raw: '{"name":"x","scope":"inference","__proto__":{"admin":true}}' }, 400, undefined],
    ])('POST /v1/keys with %s', async (_what, options, status, code) => {
      const before = await keyEvents();
      const res = await call('POST', '/v1/keys', { auth: alice, ...(options as object) });
      expect(res.status).toBe(status);
      expect(res.body.error).toMatchObject({ message: expect.any(String), ...(code ? { code } : {}) });
      expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
      expect(await keyEvents()).toBe(before);
    });

    it('answers an unknown or malformed key id with 404', async () => {
      for (const id of ['key_0000000000000000', 'not a key', '%00']) {
        const res = await call('DELETE', `/v1/keys/${encodeURIComponent(id)}`, { auth: alice });
        expect([res.status, res.body.error.code]).toEqual([404, 'not-found']);
      }
    });
  });

  describe('security', () => {
    it("answers another user's key id with 404, exactly like an unknown id", async () => {
      const alices = keep(
        (await call('POST', '/v1/keys', { auth: alice, body: { name: 'private', scope: 'inference' } })).body,
      );
      const get = await call('GET', `/v1/keys/${alices.keyId}`, { auth: bob });
      const del = await call('DELETE', `/v1/keys/${alices.keyId}`, { auth: bob });
      const unknown = await call('GET', '/v1/keys/key_0000000000000000', { auth: bob });
      expect([get.status, del.status]).toEqual([404, 404]);
      expect(get.body).toEqual(unknown.body);
      expect((await call('GET', '/v1/users/usr_alice/keys', { auth: bob })).status).toBe(404);
      expect((await call('DELETE', '/v1/users/usr_alice/keys', { auth: bob })).status).toBe(404);
      expect((await call('GET', `/v1/keys/${alices.keyId}`, { auth: alice })).body.status).toBe('active');
    });

    it('never reads a key from the query string', async () => {
      for (const q of [
        `key=${alice}`,
        `api_key=${alice}`,
        `access_token=${alice}`,
        `authorization=Bearer%20${alice}`,
      ]) {
        const res = await call('GET', `/v1/keys?${q}`);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthenticated');
      }
      expect((await call('POST', `/v1/tokens?key=${alice}`)).status).toBe(401);
    });

    it('refuses inference and access keys on the management API with 401 key-scope-invalid', async () => {
      const inference = keep(
        (await call('POST', '/v1/keys', { auth: alice, body: { name: 'inf', scope: 'inference' } })).body,
      ).key!;
      const access = keep(
        (await call('POST', '/v1/deployments/dep_llm/access-keys/primary', { auth: alice })).body,
      ).accessKey!;
      for (const key of [inference, access]) {
        const res = await call('GET', '/v1/keys', { auth: key });
        expect([res.status, res.body.error.code]).toEqual([401, 'key-scope-invalid']);
        expect((await call('POST', '/v1/keys', { auth: key, body: { name: 'x', scope: 'management' } })).status).toBe(
          401,
        );
      }
    });

    it('refuses a well-formed key it never issued, and a bad checksum, with 401', async () => {
      expect((await call('GET', '/v1/keys', { auth: generateKey('management') })).status).toBe(401);
      expect(
        (await call('GET', '/v1/keys', { auth: `${alice.slice(0, -1)}${alice.endsWith('A') ? 'B' : 'A'}` })).status,
      ).toBe(401);
    });

    it('never writes a secret to a log line, an event, or a listing', async () => {
      expect(secrets.length).toBeGreaterThan(20);
      const logs = app.logLines().join('\n');
      const events = JSON.stringify((await db.query('SELECT data, metadata FROM keys.events')).rows);
      const listing = [
        (await call('GET', '/v1/users/usr_alice/keys', { auth: ADMIN })).text,
        (await call('GET', '/v1/key-counts', { auth: ADMIN })).text,
      ].join('\n');
      for (const secret of secrets) {
        expect(logs).not.toContain(secret);
        expect(events).not.toContain(secret);
        expect(listing).not.toContain(secret);
      }
      expect(findKeysInText(logs)).toEqual([]);
      expect(findKeysInText(events)).toEqual([]);
      expect(events).not.toMatch(/PRIVATE KEY/);
    });
  });

  describe('OpenAPI', () => {
    it('documents every keys endpoint under the keys tag, with examples, bearer auth and error shapes', async () => {
      const doc = (await call('GET', '/docs-json')).body;
      const routes: [string, string][] = [
        ['post', '/v1/keys'],
        ['get', '/v1/keys'],
        ['get', '/v1/keys/expiring'],
        ['get', '/v1/keys/{keyId}'],
        ['delete', '/v1/keys/{keyId}'],
        ['post', '/v1/users/{userId}/keys'],
        ['get', '/v1/users/{userId}/keys'],
        ['delete', '/v1/users/{userId}/keys'],
        ['get', '/v1/key-counts'],
        ['get', '/v1/key-policy'],
        ['put', '/v1/key-policy'],
        ['post', '/v1/deployments/{deploymentId}/access-keys/{slot}'],
        ['delete', '/v1/deployments/{deploymentId}/access-keys/{slot}'],
        ['post', '/v1/tokens'],
        ['get', '/.well-known/jwks.json'],
      ];
      for (const [method, path] of routes) {
        const op = doc.paths[path]?.[method];
        expect({ route: `${method} ${path}`, tagged: op?.tags }).toEqual({
          route: `${method} ${path}`,
          tagged: ['keys'],
        });
        const success = op.responses['200'] ?? op.responses['201'];
        expect(success.content['application/json'].schema.example).toBeDefined();
        if (['post', 'put'].includes(method) && path !== '/v1/deployments/{deploymentId}/access-keys/{slot}') {
          expect(op.requestBody.content['application/json'].schema.example).toBeDefined();
        }
        if (path !== '/.well-known/jwks.json') expect(op.security).toEqual([{ bearer: [] }]);
      }
      expect(doc.paths['/v1/keys'].post.responses['422'].content['application/json'].schema.example.error.code).toBe(
        'key-lifetime-exceeds-policy',
      );
    });
  });
});
