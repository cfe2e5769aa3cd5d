import { AccessModelModule } from '@tollgate/access-model';
import { AuthzModule } from '@tollgate/authz';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { eventually } from '../../../test/support';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { KeysModule } from './keys.module';
import { IdentityFixture } from './testing/identity-fixture';

const ADMIN = 'bootstrap-admin-credential-for-the-rotation-tests-01';

/**
 * `POST /v1/keys/{keyId}/rotate` and the machine users' service-token lifetime, against the real keys
 * service, its real access model (which authenticates management callers) and the authorizer's
 * confirmations (`GET /v1/revocations/{eventId}`), in one app on real PostgreSQL.
 */
describe('key rotation and service-token lifetimes (keys + access model + authz, real PostgreSQL)', () => {
  let app: TestApp;
  let identity: IdentityFixture;
  let call: ReturnType<typeof httpClient>;
  let db: pg.Client;
  let alice: string; // alice's management key
  let bob: string; // bob's management key

  const idsOf = (r: { headers: Headers }) => r.headers.get('tollgate-event-id')?.split(',') ?? [];
  const newKey = async (auth: string, name: string, scope = 'management') => {
    const r = await call('POST', '/v1/keys', { auth, body: { name, scope } });
    expect(r.status).toBe(201);
    return r.body as { keyId: string; key: string; expiresAt: string };
  };
  const confirmed = async (eventId: string) => {
    const r = await call('GET', `/v1/revocations/${eventId}`, { auth: ADMIN });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ eventId, appliedByAll: true });
  };

  beforeAll(async () => {
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx),
        KeysModule.forRoot(ctx, { signingKeySchedule: { firstKeyLeadMs: 300 }, rotationSweepIntervalMs: 200 }),
        AuthzModule.forRoot(ctx),
      ],
      { env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN } },
    );
    call = httpClient(app.url);
    identity = await IdentityFixture.start(app.context.databaseUrl);
    db = new pg.Client({ connectionString: app.context.databaseUrl });
    await db.connect();
    await identity.user('usr_alice', 'alice');
    await identity.user('usr_bob', 'bob');
    await identity.user('usr_robot', 'robot', { kind: 'machine' });
    const first = async (userId: string) =>
      (await call('POST', `/v1/users/${userId}/keys`, { auth: ADMIN, body: { name: 'cli', scope: 'management' } })).body
        .key as string;
    alice = await first('usr_alice');
    bob = await first('usr_bob');
    // The first signing key activates a moment after the start: wait until tokens can be issued.
    await eventually(async () =>
      expect((await call('POST', '/v1/tokens', { auth: alice, body: { expiresInSeconds: 60 } })).status).toBe(201),
    );
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await identity?.close();
    await app?.close();
  });

  describe('POST /v1/keys/{keyId}/rotate', () => {
    it('creates the successor (secret once); the old key works during the overlap, is refused from revokesAt on, then revoked (rotated) and confirmable', async () => {
      const old = await newKey(alice, 'deploy bot');
      const headers = { 'Idempotency-Key': 'rotate-deploy-bot' };
      const rotated = await call('POST', `/v1/keys/${old.keyId}/rotate`, {
        auth: alice,
        body: { overlapSeconds: 2 },
        headers,
      });
      expect(rotated.status).toBe(201);
      expect(rotated.headers.get('cache-control')).toBe('no-store');
      expect(rotated.body).toEqual({
        keyId: expect.stringMatching(/^key_/),
        key: expect.stringMatching(/^tgm_[0-9A-Za-z]{38}$/),
        name: 'deploy bot',
        scope: 'management',
        expiresAt: expect.stringMatching(/Z$/),
        createdAt: expect.stringMatching(/Z$/),
        rotatedFrom: old.keyId,
        previousKeyRevokesAt: expect.stringMatching(/Z$/),
        eventIds: [expect.stringMatching(/^evt_/), expect.stringMatching(/^evt_/)],
      });
      const { body } = rotated;
      expect(body.keyId).not.toBe(old.keyId);
      expect(idsOf(rotated)).toEqual(body.eventIds);
      // Expiry per the key policy (default 365 days), overlap 2 s.
      expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBe(365 * 86_400_000);
      const revokesAt = Date.parse(body.previousKeyRevokesAt);
      expect(revokesAt - Date.parse(body.createdAt)).toBe(2000);
      const events = await db.query(
        `SELECT event_id, type, data FROM keys.events WHERE event_id = ANY($1) ORDER BY position`,
        [body.eventIds],
      );
      expect(events.rows.map((r: { type: string }) => r.type)).toEqual(['KeyCreated', 'KeyRotated']);
      expect(events.rows[1].data).toMatchObject({ keyId: old.keyId, successorKeyId: body.keyId });
      expect(JSON.stringify(events.rows)).not.toContain(body.key);
      // The listing names the successor and when the old key stops; the successor is not rotated.
      const listing = await call('GET', '/v1/keys', { auth: alice });
      const listedOld = listing.body.keys.find((k: { keyId: string }) => k.keyId === old.keyId);
      expect(listedOld).toMatchObject({ successorKeyId: body.keyId, revokesAt: body.previousKeyRevokesAt });
      const listedNew = listing.body.keys.find((k: { keyId: string }) => k.keyId === body.keyId);
      expect(listedNew).toMatchObject({ successorKeyId: null, revokesAt: null });

      // The replay: same answer without the secret, naming the same events; another body: 422.
      const replay = await call('POST', `/v1/keys/${old.keyId}/rotate`, {
        auth: alice,
        body: { overlapSeconds: 2 },
        headers,
      });
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual({ ...body, key: null });
      expect(idsOf(replay)).toEqual(body.eventIds);
      const reused = await call('POST', `/v1/keys/${old.keyId}/rotate`, {
        auth: alice,
        body: { overlapSeconds: 3 },
        headers,
      });
      expect(reused.status).toBe(422);
      expect(reused.body.error.code).toBe('idempotency-key-reused');

      // Both keys work during the overlap; the old one never after revokesAt, and soon not at all.
      await eventually(async () => expect((await call('GET', '/v1/keys', { auth: body.key })).status).toBe(200));
      let refusedAt = 0;
      /** Successes of the old key on requests sent at or after revokesAt (there must be none). */
      const lateSuccesses: number[] = [];
      await eventually(
        async () => {
          const sentAt = Date.now();
          const r = await call('GET', '/v1/keys', { auth: old.key });
          if (r.status === 200) {
            if (sentAt >= revokesAt) lateSuccesses.push(sentAt);
            throw new Error('the old key still works');
          }
          expect(r.status).toBe(401);
          expect(r.body.error.message).toMatch(/key-expired|key-revoked/);
          refusedAt = Date.now();
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      expect(lateSuccesses).toEqual([]);
      expect(refusedAt).toBeGreaterThanOrEqual(revokesAt);
      expect((await call('GET', '/v1/keys', { auth: body.key })).status).toBe(200);

      // The sweeper appends the real KeyRevoked (reason rotated), caused by the KeyRotated; both confirmable.
      const revoked = await eventually(
        async () => {
          const r = await call('GET', `/v1/keys/${old.keyId}`, { auth: alice });
          expect(r.body).toMatchObject({ status: 'revoked', revocationReason: 'rotated' });
          return r.body;
        },
        { timeoutMs: 15_000 },
      );
      const row = await db.query(
        `SELECT event_id, data, metadata FROM keys.events WHERE stream_id = $1 AND type = 'KeyRevoked'`,
        [`key-${old.keyId}`],
      );
      expect(row.rows).toHaveLength(1);
      expect(row.rows[0].metadata).toMatchObject({ actor: 'system', causationId: body.eventIds[1] });
      expect(Date.parse(revoked.revokedAt)).toBeGreaterThanOrEqual(revokesAt);
      await eventually(() => confirmed(row.rows[0].event_id));
      await eventually(() => confirmed(body.eventIds[1]));
      // Revoked now: rotating it again is a conflict.
      const again = await call('POST', `/v1/keys/${old.keyId}/rotate`, { auth: alice, body: { overlapSeconds: 0 } });
      expect(again.status).toBe(409);
    }, 60_000);

    it("answers 404 for another user's key (like an unknown one); an admin may rotate anyone's", async () => {
      const key = await newKey(alice, 'notebook', 'inference');
      const byBob = await call('POST', `/v1/keys/${key.keyId}/rotate`, { auth: bob, body: { overlapSeconds: 60 } });
      expect(byBob.status).toBe(404);
      expect(byBob.body.error.code).toBe('not-found');
      const unknown = await call('POST', '/v1/keys/key_0000000000000000/rotate', { auth: bob, body: {} });
      expect(unknown.status).toBe(404);
      expect(byBob.body).toEqual(unknown.body);
      expect(
        (await db.query(`SELECT count(*)::int AS n FROM keys.events WHERE stream_id = $1`, [`key-${key.keyId}`]))
          .rows[0].n,
      ).toBe(1);
      const byAdmin = await call('POST', `/v1/keys/${key.keyId}/rotate`, { auth: ADMIN, body: {} });
      expect(byAdmin.status).toBe(201);
      expect(byAdmin.body).toMatchObject({ rotatedFrom: key.keyId, name: 'notebook', scope: 'inference' });
      expect(byAdmin.body.key).toMatch(/^tgi_/);
      // No body: the default overlap, 1 h.
      expect(Date.parse(byAdmin.body.previousKeyRevokesAt) - Date.parse(byAdmin.body.createdAt)).toBe(3_600_000);
      // The successor belongs to alice.
      const listed = await call('GET', `/v1/keys/${byAdmin.body.keyId}`, { auth: alice });
      expect(listed.body).toMatchObject({ userId: 'usr_alice', status: 'active' });
    });

    it('answers 409 for a revoked key and for a second rotation while the overlap runs; nothing is written', async () => {
      const revoked = await newKey(alice, 'old');
      expect((await call('DELETE', `/v1/keys/${revoked.keyId}`, { auth: alice })).status).toBe(200);
      const r1 = await call('POST', `/v1/keys/${revoked.keyId}/rotate`, { auth: alice, body: { overlapSeconds: 60 } });
      expect(r1.status).toBe(409);
      expect(r1.body.error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/revoked/) });

      const key = await newKey(alice, 'twice');
      const first = await call('POST', `/v1/keys/${key.keyId}/rotate`, { auth: alice, body: { overlapSeconds: 600 } });
      expect(first.status).toBe(201);
      const before = (await db.query(`SELECT count(*)::int AS n FROM keys.events`)).rows[0].n;
      const second = await call('POST', `/v1/keys/${key.keyId}/rotate`, { auth: alice, body: { overlapSeconds: 600 } });
      expect(second.status).toBe(409);
      expect(second.body.error.message).toContain(first.body.keyId);
      expect(second.headers.get('tollgate-event-id')).toBeNull();
      expect((await db.query(`SELECT count(*)::int AS n FROM keys.events`)).rows[0].n).toBe(before);
      // The successor itself can be rotated.
      const next = await call('POST', `/v1/keys/${first.body.keyId}/rotate`, {
        auth: alice,
        body: { overlapSeconds: 0 },
      });
      expect(next.status).toBe(201);
    });

    it('a key in its overlap is revoked by a revoke-all at its current stream version (after its KeyRotated)', async () => {
      const key = await newKey(bob, 'bob notebook', 'inference');
      const rotated = await call('POST', `/v1/keys/${key.keyId}/rotate`, { auth: bob, body: { overlapSeconds: 600 } });
      expect(rotated.status).toBe(201);
      expect((await call('GET', `/v1/keys/${key.keyId}`, { auth: bob })).body).toMatchObject({
        status: 'active',
        version: 2,
      });
      const all = await call('DELETE', '/v1/users/usr_bob/keys', { auth: ADMIN });
      expect(all.status).toBe(200);
      expect(all.body.revoked).toBe(3); // bob's CLI key, the rotated key and its successor
      for (const keyId of [key.keyId, rotated.body.keyId]) {
        expect((await call('GET', `/v1/keys/${keyId}`, { auth: ADMIN })).body).toMatchObject({
          status: 'revoked',
          revocationReason: 'admin',
        });
      }
      // The sweeper finds nothing left to do for it.
      const revocations = await db.query(
        `SELECT count(*)::int AS n FROM keys.events WHERE stream_id = $1 AND type = 'KeyRevoked'`,
        [`key-${key.keyId}`],
      );
      expect(revocations.rows[0].n).toBe(1);
    });

    it.each([
      [{ overlapSeconds: -1 }],
      [{ overlapSeconds: 604_801 }],
      [{ overlapSeconds: 1.5 }],
      [{ overlapSeconds: '60' }],
      [{ overlapSeconds: 60, name: 'renamed' }],
    ])('refuses the body %j with 400 and writes nothing', async (payload) => {
      const key = await newKey(alice, 'bad body');
      const r = await call('POST', `/v1/keys/${key.keyId}/rotate`, { auth: alice, body: payload });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation-failed');
      expect((await call('GET', `/v1/keys/${key.keyId}`, { auth: alice })).body.version).toBe(1);
    });
  });

  describe('service-token lifetime: machine users up to the key policy, everyone else 3600 s', () => {
    it('refuses more than 3600 s until an admin raises the policy, then allows it for machine users only', async () => {
      const robot = (
        await call('POST', '/v1/users/usr_robot/keys', { auth: ADMIN, body: { name: 'robot', scope: 'management' } })
      ).body.key as string;
      const policy = await call('GET', '/v1/key-policy', { auth: alice });
      expect(policy.body).toMatchObject({ maxServiceTokenLifetimeSeconds: 3600 });

      const tooLong = await call('POST', '/v1/tokens', { auth: robot, body: { expiresInSeconds: 7200 } });
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error).toMatchObject({ code: 'validation-failed', message: expect.stringContaining('3600') });

      const raised = await call('PUT', '/v1/key-policy', {
        auth: ADMIN,
        body: { defaultLifetimeDays: 365, maxLifetimeDays: 365, maxServiceTokenLifetimeSeconds: 86_400 },
      });
      expect(raised.status).toBe(200);
      expect(raised.body).toMatchObject({ maxServiceTokenLifetimeSeconds: 86_400 });
      expect(idsOf(raised)).toHaveLength(1);
      // A change that leaves the field out keeps it.
      const kept = await call('PUT', '/v1/key-policy', {
        auth: ADMIN,
        body: { defaultLifetimeDays: 300, maxLifetimeDays: 365 },
      });
      expect(kept.body).toMatchObject({ defaultLifetimeDays: 300, maxServiceTokenLifetimeSeconds: 86_400 });

      const long = await call('POST', '/v1/tokens', { auth: robot, body: { expiresInSeconds: 7200 } });
      expect(long.status).toBe(201);
      const claims = decodeJwt(long.body.token);
      expect(claims.exp! - claims.iat!).toBe(7200);
      // The 2 h token is accepted where service tokens are verified (the management API, through the access model).
      await eventually(async () => expect((await call('GET', '/v1/keys', { auth: long.body.token })).status).toBe(200));
      expect((await call('POST', '/v1/tokens', { auth: robot, body: { expiresInSeconds: 86_400 } })).status).toBe(201);
      const overCeiling = await call('POST', '/v1/tokens', { auth: robot, body: { expiresInSeconds: 86_401 } });
      expect(overCeiling.status).toBe(400);
      expect(overCeiling.body.error.message).toContain('86400');

      // An internal user stays at 3600, whatever the policy.
      const internal = await call('POST', '/v1/tokens', { auth: alice, body: { expiresInSeconds: 3601 } });
      expect(internal.status).toBe(400);
      expect(internal.body.error).toMatchObject({
        code: 'validation-failed',
        message: expect.stringContaining('3600'),
      });
      expect((await call('POST', '/v1/tokens', { auth: alice, body: { expiresInSeconds: 3600 } })).status).toBe(201);

      // Out of range for the policy itself: 400.
      for (const value of [3599, 86_401]) {
        const bad = await call('PUT', '/v1/key-policy', {
          auth: ADMIN,
          body: { defaultLifetimeDays: 365, maxLifetimeDays: 365, maxServiceTokenLifetimeSeconds: value },
        });
        expect(bad.status).toBe(400);
      }
      // A non-admin may not change it.
      const notAdmin = await call('PUT', '/v1/key-policy', {
        auth: alice,
        body: { defaultLifetimeDays: 365, maxLifetimeDays: 365, maxServiceTokenLifetimeSeconds: 86_400 },
      });
      expect(notAdmin.status).toBe(403);
    });
  });
});
