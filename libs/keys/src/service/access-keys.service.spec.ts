import { hashSecret, parseKey } from '@tollgate/authn';
import type { KeyRevoked } from '@tollgate/contracts';
import { caller, codeOf, InMemoryKeys, meta } from '../testing/in-memory-keys';

function setup() {
  const k = new InMemoryKeys();
  k.user('usr_owner');
  k.project('prj_1', 'usr_owner', { usr_padmin: 'admin', usr_contrib: 'contributor', usr_viewer: 'viewer' });
  k.deployment('dep_1', 'prj_1');
  return k;
}
const rotate = (
  k: InMemoryKeys,
  who = caller('usr_owner'),
  slot: 'primary' | 'secondary' = 'primary',
  idempotencyKey?: string,
  deployment = 'dep_1',
) =>
  k.accessKeys.rotate(
    who,
    deployment,
    slot,
    'POST /v1/deployments/:deploymentId/access-keys/:slot',
    {},
    meta(idempotencyKey),
  );

describe('AccessKeysService', () => {
  it('creates a tga_ key in an empty slot, hash only in the event, no eventId', async () => {
    const k = setup();
    const { body, replayed } = await rotate(k);
    expect(replayed).toBe(false);
    expect(body).toEqual({
      slot: 'primary',
      keyId: expect.stringMatching(/^key_/),
      accessKey: expect.stringMatching(/^tga_/),
    });
    expect(parseKey(body.accessKey!)).toMatchObject({ ok: true, kind: 'access' });
    const [event] = await k.events();
    expect(event).toMatchObject({
      type: 'KeyCreated',
      data: {
        kind: 'access-key',
        deploymentId: 'dep_1',
        slot: 'primary',
        secretHash: hashSecret(body.accessKey!),
        expiresAt: null,
      },
    });
    expect(JSON.stringify(await k.events())).not.toContain(body.accessKey!);
  });

  it('rotating revokes the key that was in the slot (reason rotated), in the same append, and answers that revocation', async () => {
    const k = setup();
    const first = await rotate(k);
    const second = await rotate(k);
    const events = await k.events();
    expect(events.map((e) => e.type)).toEqual(['KeyCreated', 'KeyCreated', 'KeyRevoked']);
    expect(events[2]).toMatchObject({ data: { keyId: first.body.keyId, reason: 'rotated' } });
    // one append: same request, same recorded time
    expect(events[2]!.metadata.correlationId).toBe(events[1]!.metadata.correlationId);
    expect(events[2]!.recordedAt).toEqual(events[1]!.recordedAt);
    expect(second.body.eventId).toBe(events[2]!.id);
    // The slot holds exactly the new key; the other slot is untouched.
    await rotate(k, caller('usr_owner'), 'secondary');
    expect((await k.reads.byId(first.body.keyId))?.revocationReason).toBe('rotated');
    expect((await k.reads.byId(second.body.keyId))?.revokedAt).toBeNull();
  });

  it('revokes a slot (reason slot-revoked); an empty slot is 404', async () => {
    const k = setup();
    const { body } = await rotate(k, caller('usr_owner'), 'secondary');
    const result = await k.accessKeys.revokeSlot(caller('usr_owner'), 'dep_1', 'secondary', meta());
    const events = await k.events();
    expect(result).toEqual({ eventId: events[1]!.id });
    expect(events[1]!.data as KeyRevoked).toMatchObject({ keyId: body.keyId, reason: 'slot-revoked' });
    expect(await codeOf(() => k.accessKeys.revokeSlot(caller('usr_owner'), 'dep_1', 'secondary', meta()))).toBe(
      'not-found',
    );
    expect(await codeOf(() => k.accessKeys.revokeSlot(caller('usr_owner'), 'dep_1', 'primary', meta()))).toBe(
      'not-found',
    );
  });

  it.each([
    ['the project owner', caller('usr_owner'), 'ok'],
    ['a project admin', caller('usr_padmin'), 'ok'],
    ['a Tollgate admin', caller('usr_root', true), 'ok'],
    ['a contributor', caller('usr_contrib'), 'forbidden'],
    ['a viewer', caller('usr_viewer'), 'forbidden'],
    ['a stranger (cannot see the deployment)', caller('usr_stranger'), 'not-found'],
  ])('%s: %s', async (_who, who, code) => {
    const k = setup();
    expect(await codeOf(() => rotate(k, who))).toBe(code);
    expect(await codeOf(() => k.accessKeys.revokeSlot(who, 'dep_1', 'primary', meta()))).toBe(
      code === 'ok' ? 'ok' : code,
    );
  });

  it('answers an unknown deployment with 404, even for an admin, writing nothing', async () => {
    const k = setup();
    expect(await codeOf(() => rotate(k, caller('usr_root', true), 'primary', undefined, 'dep_nope'))).toBe('not-found');
    expect(await k.events()).toEqual([]);
  });

  it('replays a rotation with the same Idempotency-Key (accessKey: null) without rotating again', async () => {
    const k = setup();
    const first = await rotate(k, caller('usr_owner'), 'primary', 'idem-a');
    const again = await rotate(k, caller('usr_owner'), 'primary', 'idem-a');
    expect(again).toEqual({ replayed: true, body: { slot: 'primary', keyId: first.body.keyId, accessKey: null } });
    expect(await k.events()).toHaveLength(1);
    expect(await codeOf(() => rotate(k, caller('usr_owner'), 'secondary', 'idem-a'))).toBe('idempotency-key-reused');
  });

  it('keeps one active key per slot under concurrent rotations', async () => {
    const k = setup();
    const results = await Promise.all(Array.from({ length: 5 }, () => rotate(k)));
    const events = await k.events();
    const created = events.filter((e) => e.type === 'KeyCreated').map((e) => (e.data as { keyId: string }).keyId);
    const revoked = new Set(
      events.filter((e) => e.type === 'KeyRevoked').map((e) => (e.data as { keyId: string }).keyId),
    );
    expect(created).toHaveLength(5);
    expect(created.filter((id) => !revoked.has(id))).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.keyId)).size).toBe(5);
  });

  it('rate-limits creations per deployment', async () => {
    const k = new InMemoryKeys({ limit: 2 });
    k.project('prj_1', 'usr_owner');
    k.deployment('dep_1', 'prj_1');
    await rotate(k);
    await rotate(k, caller('usr_owner'), 'secondary');
    expect(await codeOf(() => rotate(k))).toBe('rate-limited');
  });
});
