import { hashSecret, parseKey } from '@tollgate/authn';
import { ApiError } from '@tollgate/contracts';
import { DAY_MS } from '../domain/time';
import { caller, codeOf, InMemoryKeys, meta, T0 } from '../testing/in-memory-keys';

const create = (
  k: InMemoryKeys,
  who = caller('usr_alice'),
  body: Record<string, unknown> = { name: 'ci', scope: 'inference' },
  m = meta(),
  target = who.userId,
) =>
  k.userKeys.create(
    who,
    target,
    {
      name: body.name as string,
      scope: body.scope as 'inference' | 'management',
      expiresAt:
        body.expiresAt === undefined || body.expiresAt === null
          ? (body.expiresAt as null | undefined)
          : Date.parse(body.expiresAt as string),
    },
    target === who.userId ? 'POST /v1/keys' : 'POST /v1/users/:userId/keys',
    body,
    m,
  );

describe('UserKeysService', () => {
  describe('create (happy path)', () => {
    it('returns the secret once, in the published format, and stores only its hash', async () => {
      const k = new InMemoryKeys();
      const { body, replayed } = await create(k);
      expect(replayed).toBe(false);
      expect(body).toEqual({
        keyId: expect.stringMatching(/^key_[0-9A-Za-z]{16}$/),
        key: expect.stringMatching(/^tgi_[0-9A-Za-z]{38}$/),
        name: 'ci',
        scope: 'inference',
        expiresAt: new Date(T0 + 365 * DAY_MS).toISOString(),
        createdAt: new Date(T0).toISOString(),
      });
      expect(parseKey(body.key!)).toMatchObject({ ok: true, kind: 'inference' });
      const events = await k.events();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'KeyCreated',
        streamId: `key-${body.keyId}`,
        data: { secretHash: hashSecret(body.key!), userId: 'usr_alice' },
      });
      expect(JSON.stringify(events)).not.toContain(body.key!);
      expect(events[0]!.metadata).toMatchObject({ actor: 'usr_alice', channel: 'rest' });
    });

    it('gives a management key the tgm_ prefix', async () => {
      const { body } = await create(new InMemoryKeys(), caller('usr_alice'), { name: 'cli', scope: 'management' });
      expect(body.key).toMatch(/^tgm_/);
    });

    it('lists the key right away (read-your-writes), never with a secret or hash', async () => {
      const k = new InMemoryKeys();
      const { body } = await create(k);
      const list = await k.userKeys.list(caller('usr_alice'), 'usr_alice');
      expect(list).toEqual([
        {
          keyId: body.keyId,
          userId: 'usr_alice',
          name: 'ci',
          scope: 'inference',
          status: 'active',
          expiresAt: body.expiresAt,
          createdAt: body.createdAt,
          revokedAt: null,
          revocationReason: null,
          version: 1,
          lastUsedAt: null,
          successorKeyId: null,
          revokesAt: null,
        },
      ]);
      expect(JSON.stringify(list)).not.toMatch(/tg[ima]_|[0-9a-f]{64}/);
    });
  });

  describe('policy', () => {
    it.each([
      ['past the maximum', { expiresAt: new Date(T0 + 366 * DAY_MS).toISOString() }, 'key-lifetime-exceeds-policy'],
      ['never expiring under a maximum', { expiresAt: null }, 'key-lifetime-exceeds-policy'],
      ['in the past', { expiresAt: new Date(T0 - 1000).toISOString() }, 'validation-failed'],
      ['within the maximum', { expiresAt: new Date(T0 + DAY_MS).toISOString() }, 'ok'],
    ])('%s: %s', async (_what, extra, code) => {
      const k = new InMemoryKeys();
      expect(await codeOf(() => create(k, caller('usr_alice'), { name: 'a', scope: 'inference', ...extra }))).toBe(
        code,
      );
      if (code !== 'ok') expect(await k.events()).toEqual([]);
    });

    it('follows a policy change for the next key; never-expiring keys once there is no maximum', async () => {
      const k = new InMemoryKeys();
      await k.policy.set(
        caller('usr_admin', true),
        { defaultLifetimeDays: 7, maxLifetimeDays: null },
        undefined,
        meta(),
      );
      expect((await create(k)).body.expiresAt).toBe(new Date(T0 + 7 * DAY_MS).toISOString());
      expect(
        (await create(k, caller('usr_alice'), { name: 'forever', scope: 'inference', expiresAt: null })).body.expiresAt,
      ).toBeNull();
    });

    it('states the maximum in the 422 message', async () => {
      const k = new InMemoryKeys();
      await expect(
        create(k, caller('usr_alice'), { name: 'a', scope: 'inference', expiresAt: '2030-01-01T00:00:00.000Z' }),
      ).rejects.toThrow(/maximum lifetime of 365 days/);
    });
  });

  describe('idempotency', () => {
    it('replays the first response with key: null for the same key, caller and body', async () => {
      const k = new InMemoryKeys();
      const first = await create(k, caller('usr_alice'), { name: 'ci', scope: 'inference' }, meta('idem-1'));
      const again = await create(k, caller('usr_alice'), { scope: 'inference', name: 'ci' }, meta('idem-1'));
      expect(again).toEqual({ replayed: true, body: { ...first.body, key: null } });
      expect(await k.events()).toHaveLength(1);
    });

    it('refuses the same key with another body (422) and writes nothing', async () => {
      const k = new InMemoryKeys();
      await create(k, caller('usr_alice'), { name: 'ci', scope: 'inference' }, meta('idem-1'));
      expect(
        await codeOf(() => create(k, caller('usr_alice'), { name: 'other', scope: 'inference' }, meta('idem-1'))),
      ).toBe('idempotency-key-reused');
      expect(await k.events()).toHaveLength(1);
    });

    it('scopes keys by caller: another caller with the same key creates its own key', async () => {
      const k = new InMemoryKeys();
      await create(k, caller('usr_alice'), undefined, meta('idem-1'));
      const bob = await create(k, caller('usr_bob'), undefined, meta('idem-1'));
      expect(bob.replayed).toBe(false);
      expect(bob.body.key).toMatch(/^tgi_/);
    });

    it('does not count a replay against the rate limit', async () => {
      const k = new InMemoryKeys({ limit: 1 });
      await create(k, caller('usr_alice'), undefined, meta('idem-1'));
      expect((await create(k, caller('usr_alice'), undefined, meta('idem-1'))).replayed).toBe(true);
    });
  });

  describe('rate limit', () => {
    it('allows 30 creations a minute per owner, then 429 with Retry-After', async () => {
      const k = new InMemoryKeys();
      for (let i = 0; i < 30; i++) await create(k);
      const error = await create(k).catch((e: unknown) => e as ApiError);
      expect(error).toMatchObject({ code: 'rate-limited', status: 429, headers: { 'Retry-After': '2' } });
      // Another owner is not affected; time refills the bucket.
      expect((await create(k, caller('usr_bob'))).replayed).toBe(false);
      k.now += 2_000;
      expect((await create(k)).replayed).toBe(false);
    });

    it('counts keys an admin creates for a user against that user', async () => {
      const k = new InMemoryKeys({ limit: 1 });
      k.user('usr_bob');
      await create(k, caller('usr_admin', true), undefined, meta(), 'usr_bob');
      expect(await codeOf(() => create(k, caller('usr_bob')))).toBe('rate-limited');
      expect(await codeOf(() => create(k, caller('usr_admin', true)))).toBe('ok');
    });
  });

  describe('keys for another user', () => {
    it('lets an admin create a key for a known user', async () => {
      const k = new InMemoryKeys();
      k.user('usr_bot');
      const { body } = await create(
        k,
        caller('usr_admin', true),
        { name: 'bot', scope: 'inference' },
        meta(),
        'usr_bot',
      );
      expect((await k.reads.byId(body.keyId))?.userId).toBe('usr_bot');
      expect((await k.events())[0]!.metadata.actor).toBe('usr_admin');
    });

    it.each([
      ['a non-admin', caller('usr_alice'), 'usr_bob', 'forbidden'],
      ['an unknown user', caller('usr_admin', true), 'usr_ghost', 'not-found'],
    ])('refuses %s', async (_what, who, target, code) => {
      const k = new InMemoryKeys();
      k.user('usr_bob');
      expect(await codeOf(() => create(k, who, undefined, meta(), target))).toBe(code);
      expect(await k.events()).toEqual([]);
    });

    it('refuses a deactivated user (409)', async () => {
      const k = new InMemoryKeys();
      k.user('usr_bob');
      k.deactivate('usr_bob');
      expect(await codeOf(() => create(k, caller('usr_admin', true), undefined, meta(), 'usr_bob'))).toBe('conflict');
    });
  });

  describe('revoke', () => {
    it('revokes my key (reason user) and answers the revocation event id', async () => {
      const k = new InMemoryKeys();
      const { body } = await create(k);
      k.now += 60_000;
      const revocation = await k.userKeys.revoke(caller('usr_alice'), body.keyId, meta());
      const events = await k.events();
      expect(revocation).toEqual({
        keyId: body.keyId,
        revokedAt: new Date(T0 + 60_000).toISOString(),
        eventId: events[1]!.id,
      });
      expect(events[1]).toMatchObject({
        type: 'KeyRevoked',
        data: { reason: 'user' },
        metadata: { actor: 'usr_alice' },
      });
      expect((await k.userKeys.list(caller('usr_alice'), 'usr_alice'))[0]).toMatchObject({
        status: 'revoked',
        revocationReason: 'user',
        version: 2,
      });
    });

    it('answers a repeated revocation with the first one, writing nothing', async () => {
      const k = new InMemoryKeys();
      const { body } = await create(k);
      const first = await k.userKeys.revoke(caller('usr_alice'), body.keyId, meta());
      k.now += 1_000;
      expect(await k.userKeys.revoke(caller('usr_alice'), body.keyId, meta())).toEqual(first);
      expect(await k.events()).toHaveLength(2);
    });

    it("answers another user's key with 404, like a key that does not exist (no existence leak)", async () => {
      const k = new InMemoryKeys();
      const { body } = await create(k);
      const other = await codeOf(() => k.userKeys.revoke(caller('usr_bob'), body.keyId, meta()));
      const missing = await codeOf(() => k.userKeys.revoke(caller('usr_bob'), 'key_0000000000000000', meta()));
      expect([other, missing]).toEqual(['not-found', 'not-found']);
      expect(await codeOf(() => k.userKeys.get(caller('usr_bob'), body.keyId))).toBe('not-found');
      expect(await k.events()).toHaveLength(1);
    });

    it("lets an admin revoke anyone's key (reason admin)", async () => {
      const k = new InMemoryKeys();
      const { body } = await create(k);
      await k.userKeys.revoke(caller('usr_admin', true), body.keyId, meta());
      expect((await k.events())[1]).toMatchObject({ data: { reason: 'admin' }, metadata: { actor: 'usr_admin' } });
    });

    it('does not revoke access keys through the user-key route', async () => {
      const k = new InMemoryKeys();
      k.user('usr_owner');
      k.project('prj_1', 'usr_owner');
      k.deployment('dep_1', 'prj_1');
      const { body } = await k.accessKeys.rotate(caller('usr_owner'), 'dep_1', 'primary', 'r', {}, meta());
      expect(await codeOf(() => k.userKeys.revoke(caller('usr_admin', true), body.keyId, meta()))).toBe('not-found');
    });

    it("revokes all of a user's unrevoked keys (the user or an admin), counting and listing the revocations", async () => {
      const k = new InMemoryKeys();
      const a = await create(k);
      await create(k);
      await k.userKeys.revoke(caller('usr_alice'), a.body.keyId, meta());
      const result = await k.userKeys.revokeAll(caller('usr_alice'), 'usr_alice', meta());
      expect(result.revoked).toBe(1);
      expect(result.eventIds).toHaveLength(1);
      expect(await k.userKeys.revokeAll(caller('usr_admin', true), 'usr_alice', meta())).toEqual({
        revoked: 0,
        eventIds: [],
      });
      expect(await codeOf(() => k.userKeys.revokeAll(caller('usr_bob'), 'usr_alice', meta()))).toBe('not-found');
      expect(await codeOf(() => k.userKeys.list(caller('usr_bob'), 'usr_alice'))).toBe('not-found');
    });
  });

  describe('counts and expiring', () => {
    it('counts active keys per user with their names (admin only)', async () => {
      const k = new InMemoryKeys();
      k.user('usr_alice');
      k.user('usr_carol');
      await create(k);
      const b = await create(k);
      await create(k, caller('usr_bob'));
      await k.userKeys.revoke(caller('usr_alice'), b.body.keyId, meta());
      expect(await k.userKeys.counts(caller('usr_admin', true))).toEqual([
        { userId: 'usr_alice', name: 'alice', active: 1 },
        { userId: 'usr_bob', name: null, active: 1 },
        { userId: 'usr_carol', name: 'carol', active: 0 },
      ]);
      expect(await codeOf(() => k.userKeys.counts(caller('usr_alice')))).toBe('forbidden');
    });

    it("lists keys expiring within N days: mine, or everyone's for an admin", async () => {
      const k = new InMemoryKeys();
      const soon = await create(k, caller('usr_alice'), {
        name: 'soon',
        scope: 'inference',
        expiresAt: new Date(T0 + 3 * DAY_MS).toISOString(),
      });
      await create(k, caller('usr_alice'), {
        name: 'later',
        scope: 'inference',
        expiresAt: new Date(T0 + 40 * DAY_MS).toISOString(),
      });
      const bobs = await create(k, caller('usr_bob'), {
        name: 'bob',
        scope: 'inference',
        expiresAt: new Date(T0 + 2 * DAY_MS).toISOString(),
      });
      expect((await k.userKeys.expiring(caller('usr_alice'), 7)).map((x) => x.keyId)).toEqual([soon.body.keyId]);
      expect((await k.userKeys.expiring(caller('usr_admin', true), 7)).map((x) => x.keyId)).toEqual([
        bobs.body.keyId,
        soon.body.keyId,
      ]);
      expect(await k.userKeys.expiring(caller('usr_alice'), 1)).toEqual([]);
    });
  });
});
