import type { KeyRevoked } from '@tollgate/contracts';
import { caller, InMemoryKeys, meta } from '../testing/in-memory-keys';

const rotateOne = async (k: InMemoryKeys, overlapSeconds: number) => {
  const created = await k.userKeys.create(
    caller('usr_alice'),
    'usr_alice',
    { name: 'ci', scope: 'inference', expiresAt: undefined },
    'POST /v1/keys',
    {},
    meta(),
  );
  const rotated = await k.userKeys.rotate(
    caller('usr_alice'),
    created.body.keyId,
    overlapSeconds,
    'POST /v1/keys/:keyId/rotate',
    { overlapSeconds },
    meta(),
  );
  return { old: created.body.keyId, rotated: rotated.body };
};

const revocations = async (k: InMemoryKeys) => (await k.events()).filter((e) => e.type === 'KeyRevoked');

describe('RotationSweeper', () => {
  it('revokes a rotated key once its overlap has passed (reason rotated, actor system, caused by the KeyRotated), not before', async () => {
    const k = new InMemoryKeys();
    const { old, rotated } = await rotateOne(k, 60);
    k.now += 59_999;
    expect(await k.rotations.sweep()).toEqual([]);
    expect((await k.reads.byId(old))?.revokedAt).toBeNull();
    k.now += 1;
    const [eventId] = await k.rotations.sweep();
    const [revocation] = await revocations(k);
    expect(revocation).toMatchObject({
      id: eventId,
      data: { keyId: old, reason: 'rotated' } satisfies Partial<KeyRevoked>,
      metadata: { actor: 'system', channel: 'system', causationId: rotated.eventIds[1] },
    });
    expect((await k.reads.byId(rotated.keyId))?.revokedAt).toBeNull();
  });

  it('is idempotent and safe with two sweepers at once (two keys processes): one KeyRevoked', async () => {
    const k = new InMemoryKeys();
    const { old } = await rotateOne(k, 0);
    // Three sweeps racing on one store, as the active writer and its standby do on one database.
    const results = await Promise.all([k.rotations.sweep(), k.rotations.sweep(), k.rotations.sweep()]);
    expect(results.flat()).toHaveLength(1);
    expect(await k.rotations.sweep()).toEqual([]);
    expect((await revocations(k)).map((e) => (e.data as KeyRevoked).keyId)).toEqual([old]);
  });

  it('leaves a key revoked during its overlap alone', async () => {
    const k = new InMemoryKeys();
    const { old } = await rotateOne(k, 60);
    await k.userKeys.revoke(caller('usr_alice'), old, meta());
    k.now += 120_000;
    expect(await k.rotations.sweep()).toEqual([]);
    expect((await revocations(k)).map((e) => (e.data as KeyRevoked).reason)).toEqual(['user']);
  });

  it('the keys service itself counts the rotated key expired from revokesAt on, before any sweep', async () => {
    const k = new InMemoryKeys();
    const { old, rotated } = await rotateOne(k, 30);
    const revokesAt = Date.parse(rotated.previousKeyRevokesAt);
    expect(await k.reads.byId(old)).toMatchObject({
      successorKeyId: rotated.keyId,
      revokesAt: rotated.previousKeyRevokesAt,
      version: 2,
    });
    k.now = revokesAt - 1;
    expect((await k.userKeys.get(caller('usr_alice'), old)).status).toBe('active');
    k.now = revokesAt;
    expect((await k.userKeys.get(caller('usr_alice'), old)).status).toBe('expired');
  });
});
