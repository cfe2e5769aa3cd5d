import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessModelModule } from '@tollgate/access-model';
import pg from 'pg';
import { eventually } from '../../../test/support';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { KeysModule } from './keys.module';
import { IdentityFixture } from './testing/identity-fixture';

const ADMIN = 'bootstrap-admin-credential-for-the-bulk-revocation-test';

/** POST /v1/revocations over HTTP, on real PostgreSQL, with the real access model folding the directory. */
describe('bulk revocation (POST /v1/revocations)', () => {
  let app: TestApp;
  let identity: IdentityFixture;
  let call: ReturnType<typeof httpClient>;
  let db: pg.Client;
  let run = 0;

  const keyFor = async (userId: string, scope: 'inference' | 'management' = 'inference') => {
    const r = await call('POST', `/v1/users/${userId}/keys`, { auth: ADMIN, body: { name: `k${++run}`, scope } });
    expect(r.status).toBe(201);
    return r.body as { keyId: string; key: string };
  };
  const accessKey = async (deploymentId: string, slot: 'primary' | 'secondary') => {
    const r = await call('POST', `/v1/deployments/${deploymentId}/access-keys/${slot}`, { auth: ADMIN });
    expect(r.status).toBe(201);
    return r.body as { keyId: string };
  };
  const revokedIds = async (keyIds: string[]) =>
    (
      await db.query<{ id: string }>(
        `SELECT data->>'keyId' AS id FROM keys.events WHERE type = 'KeyRevoked' AND data->>'keyId' = ANY($1)`,
        [keyIds],
      )
    ).rows
      .map((r) => r.id)
      .sort();
  const eventCount = async () => Number((await db.query('SELECT count(*) AS n FROM keys.events')).rows[0].n);
  const bulk = (body: unknown, auth = ADMIN, headers: Record<string, string> = {}) =>
    call('POST', '/v1/revocations', { auth, body, headers });
  /** Waits until the access model knows the user (keys are created through the directory). */
  const known = async (userId: string) =>
    eventually(async () => expect((await call('GET', `/v1/users/${userId}/keys`, { auth: ADMIN })).status).toBe(200));

  beforeAll(async () => {
    app = await startTestApp((ctx) => [AccessModelModule.forRoot(ctx), KeysModule.forRoot(ctx)], {
      env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN },
    });
    call = httpClient(app.url);
    identity = await IdentityFixture.start(app.context.databaseUrl);
    db = new pg.Client({ connectionString: app.context.databaseUrl });
    await db.connect();
    for (const [id, name] of [
      ['usr_ann', 'ann'],
      ['usr_ben', 'ben'],
      ['usr_cat', 'cat'],
      ['usr_dan', 'dan'],
      ['usr_eve', 'eve'],
      ['usr_fay', 'fay'],
    ]) {
      await identity.user(id!, name!);
    }
    await identity.project('prj_a', 'usr_ann'); // ann owns prj_a
    await identity.role('prj_a', 'usr_ben', 'contributor');
    await identity.role('prj_a', 'usr_cat', 'viewer');
    await identity.deployment('dep_a1', 'prj_a', { grantedGroups: ['ml'] });
    await identity.deployment('dep_a2', 'prj_a');
    await identity.project('prj_b', 'usr_fay');
    await identity.deployment('dep_b1', 'prj_b');
    await identity.groups('usr_dan', ['ml', 'ops']);
    await identity.groups('usr_eve', ['ops']);
    await eventually(async () =>
      expect((await call('GET', '/v1/users/usr_eve/keys', { auth: ADMIN })).status).toBe(200),
    );
    await known('usr_fay');
  });

  afterAll(async () => {
    await db?.end();
    await identity?.close();
    await app?.close();
  });

  it('user: every key of the user in one transaction, listed with its event ids, in Tollgate-Event-Id; again: nothing', async () => {
    const keys = [await keyFor('usr_ben'), await keyFor('usr_ben', 'management'), await keyFor('usr_ben')];
    const other = await keyFor('usr_cat');
    const r = await bulk({ user: 'usr_ben' });
    expect(r.status).toBe(200);
    expect(r.body.dryRun).toBe(false);
    expect(r.body.keys.map((k: { keyId: string }) => k.keyId)).toEqual(keys.map((k) => k.keyId));
    expect(r.body.keys[1]).toEqual({
      keyId: keys[1]!.keyId,
      kind: 'user-key',
      userId: 'usr_ben',
      scope: 'management',
      deploymentId: null,
      slot: null,
      eventId: expect.stringMatching(/^evt_/),
    });
    expect(r.body.eventIds).toEqual(r.body.keys.map((k: { eventId: string }) => k.eventId));
    expect(r.headers.get('tollgate-event-id')).toBe(r.body.eventIds.join(','));
    // one transaction: every revocation carries the same transaction id, and nothing else was touched
    const tx = await db.query(`SELECT DISTINCT tx_id FROM keys.events WHERE event_id = ANY($1)`, [r.body.eventIds]);
    expect(tx.rowCount).toBe(1);
    expect(await revokedIds([other.keyId])).toEqual([]);
    const events = await eventCount();
    const again = await bulk({ user: 'usr_ben' });
    expect(again.body).toEqual({ dryRun: false, keys: [], eventIds: [] });
    expect(again.headers.get('tollgate-event-id')).toBeNull();
    expect(await eventCount()).toBe(events);
  });

  it('a dry run lists what would be revoked and writes nothing', async () => {
    const key = await keyFor('usr_cat');
    const before = await eventCount();
    const r = await bulk({ user: 'usr_cat', dryRun: true });
    expect(r.status).toBe(200);
    expect(r.body.dryRun).toBe(true);
    expect(r.body.keys.map((k: { keyId: string }) => k.keyId)).toContain(key.keyId);
    expect(r.body.keys.every((k: { eventId: string | null }) => k.eventId === null)).toBe(true);
    expect(r.body.eventIds).toEqual([]);
    expect(r.headers.get('tollgate-event-id')).toBeNull();
    expect(await eventCount()).toBe(before);
  });

  it("group: every key of the group's current members (admin only)", async () => {
    const dan = [await keyFor('usr_dan'), await keyFor('usr_dan', 'management')];
    const eve = await keyFor('usr_eve');
    const r = await bulk({ group: 'ml' });
    expect(r.status).toBe(200);
    expect(r.body.keys.map((k: { keyId: string }) => k.keyId)).toEqual(dan.map((k) => k.keyId));
    expect(await revokedIds([...dan.map((k) => k.keyId), eve.keyId])).toEqual(dan.map((k) => k.keyId).sort());
    const ann = await keyFor('usr_ann', 'management');
    expect((await bulk({ group: 'ops' }, ann.key)).status).toBe(403);
    expect(await revokedIds([eve.keyId])).toEqual([]);
  });

  it("deployment: its access keys and its invokers' inference keys; the owner may, others not (404 / 403)", async () => {
    const primary = await accessKey('dep_a1', 'primary');
    const secondary = await accessKey('dep_a1', 'secondary');
    const otherDeployment = await accessKey('dep_a2', 'primary');
    const annInference = await keyFor('usr_ann');
    const annManagement = await keyFor('usr_ann', 'management');
    const benInference = await keyFor('usr_ben'); // contributor: may invoke
    const catInference = await keyFor('usr_cat'); // viewer: may not
    await identity.groups('usr_eve', ['ml']); // granted through dep_a1's grantedGroups
    await eventually(async () => {
      const dry = await bulk({ deployment: 'dep_a1', dryRun: true });
      expect(dry.body.keys.map((k: { userId: string | null }) => k.userId)).toContain('usr_eve');
    });
    const eveInference = await keyFor('usr_eve');
    const fay = await keyFor('usr_fay', 'management');
    const cat = await keyFor('usr_cat', 'management');
    expect((await bulk({ deployment: 'dep_a1' }, fay.key)).status).toBe(404);
    expect((await bulk({ deployment: 'dep_a1' }, cat.key)).status).toBe(403);
    expect((await bulk({ deployment: 'dep_nope' })).status).toBe(404);

    const r = await bulk({ deployment: 'dep_a1' }, annManagement.key);
    expect(r.status).toBe(200);
    const covered = [primary, secondary, annInference, benInference, eveInference].map((k) => k.keyId);
    // (earlier tests' inference keys of the same invokers may be covered too)
    expect(r.body.keys.map((k: { keyId: string }) => k.keyId)).toEqual(expect.arrayContaining(covered));
    expect(await revokedIds(covered)).toEqual([...covered].sort());
    expect(r.body.keys.find((k: { keyId: string }) => k.keyId === primary.keyId)).toMatchObject({
      kind: 'access-key',
      deploymentId: 'dep_a1',
      slot: 'primary',
      userId: null,
    });
    const untouched = [otherDeployment, annManagement, catInference, fay, cat].map((k) => k.keyId);
    expect(await revokedIds(untouched)).toEqual([]);
    // the caller's management key still works: responders keep managing
    expect((await call('GET', '/v1/keys', { auth: annManagement.key })).status).toBe(200);
  });

  it("project: every deployment's access keys and invokers' inference keys", async () => {
    const a1 = await accessKey('dep_a1', 'primary');
    const a2 = await accessKey('dep_a2', 'secondary');
    const b1 = await accessKey('dep_b1', 'primary');
    const ben = await keyFor('usr_ben');
    const r = await bulk({ project: 'prj_a' });
    expect(r.status).toBe(200);
    const covered = [a1, a2, ben].map((k) => k.keyId);
    expect(r.body.keys.map((k: { keyId: string }) => k.keyId)).toEqual(expect.arrayContaining(covered));
    expect(r.body.keys.every((k: { userId: string | null }) => k.userId !== 'usr_cat')).toBe(true);
    expect(await revokedIds([b1.keyId])).toEqual([]);
    expect((await bulk({ project: 'prj_nope' })).status).toBe(404);
  });

  it('Idempotency-Key: the same request replays the first answer and its event ids; another body is 422', async () => {
    await bulk({ user: 'usr_fay' }); // earlier tests' keys
    const first = [await keyFor('usr_fay'), await keyFor('usr_fay')];
    const headers = { 'Idempotency-Key': 'bulk-fay-1' };
    const r = await bulk({ user: 'usr_fay' }, ADMIN, headers);
    expect(r.body.keys).toHaveLength(2);
    const later = await keyFor('usr_fay'); // created after: a replay does not revoke it
    const events = await eventCount();
    const replay = await bulk({ user: 'usr_fay' }, ADMIN, headers);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(r.body);
    expect(replay.headers.get('tollgate-event-id')).toBe(r.headers.get('tollgate-event-id'));
    expect(await eventCount()).toBe(events);
    expect(await revokedIds([later.keyId])).toEqual([]);
    expect((await bulk({ user: 'usr_ann' }, ADMIN, headers)).status).toBe(422);
    expect(first).toHaveLength(2);
  });

  it('refuses anything but exactly one selector (400), and hides other users from non-admins (404)', async () => {
    for (const body of [
      {},
      { user: 'usr_ann', group: 'ml' },
      { dryRun: true },
      { user: '' },
      { user: 'usr_ann', x: 1 },
    ]) {
      const r = await bulk(body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation-failed');
    }
    const ben = await keyFor('usr_ben', 'management');
    expect((await bulk({ user: 'usr_ann' }, ben.key)).status).toBe(404);
    expect((await bulk({ user: 'usr_nobody' })).status).toBe(404);
    // a user may revoke their own keys
    const own = await bulk({ user: 'usr_ben', dryRun: true }, ben.key);
    expect(own.status).toBe(200);
    expect(own.body.keys.map((k: { keyId: string }) => k.keyId)).toContain(ben.keyId);
  });
});
