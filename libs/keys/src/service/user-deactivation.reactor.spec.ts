import type { KeyRevoked } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import { caller, InMemoryKeys, meta } from '../testing/in-memory-keys';

const keyFor = async (k: InMemoryKeys, userId: string) =>
  (
    await k.userKeys.create(
      caller(userId),
      userId,
      { name: 'k', scope: 'inference', expiresAt: undefined },
      'POST /v1/keys',
      {},
      meta(),
    )
  ).body.keyId;

describe('UserDeactivationReactor', () => {
  it('revokes every unrevoked key of the deactivated user (reason user-deactivated, actor system, caused by the identity event)', async () => {
    const k = new InMemoryKeys();
    const a = await keyFor(k, 'usr_alice');
    const b = await keyFor(k, 'usr_alice');
    const bobs = await keyFor(k, 'usr_bob');
    await k.userKeys.revoke(caller('usr_alice'), a, meta());
    k.user('usr_alice');
    const deactivated = k.deactivate('usr_alice');
    await k.reactor.apply(deactivated);
    const revocations = (await k.events()).filter((e) => e.type === 'KeyRevoked');
    expect(revocations).toHaveLength(2);
    expect(revocations[1]).toMatchObject({
      data: { keyId: b, reason: 'user-deactivated' } satisfies Partial<KeyRevoked>,
      metadata: { actor: 'system', channel: 'system', causationId: deactivated.id },
    });
    expect((await k.reads.byId(bobs))?.revokedAt).toBeNull();
  });

  it('is idempotent: a redelivered event revokes nothing twice', async () => {
    const k = new InMemoryKeys();
    await keyFor(k, 'usr_alice');
    k.user('usr_alice');
    const deactivated = k.deactivate('usr_alice');
    await k.reactor.apply(deactivated);
    const count = (await k.events()).length;
    await k.reactor.apply(deactivated);
    await k.reactor.apply({ ...deactivated, id: 'evt_redelivered' });
    expect(await k.events()).toHaveLength(count);
  });

  it('ignores other identity events', async () => {
    const k = new InMemoryKeys();
    await keyFor(k, 'usr_alice');
    await k.reactor.apply({
      ...k.deactivate('usr_alice'),
      type: 'GroupsRefreshed',
      data: { userId: 'usr_alice', groups: [], refreshedAt: new Date().toISOString() },
    });
    expect((await k.events()).map((e) => e.type)).toEqual(['KeyCreated']);
  });

  it('retries when the store fails instead of halting the runner', async () => {
    const k = new InMemoryKeys();
    await keyFor(k, 'usr_alice');
    const deactivated: RecordedEvent = k.deactivate('usr_alice');
    const append = k.store.append.bind(k.store);
    let failures = 2;
    k.store.append = (...args) => (failures-- > 0 ? Promise.reject(new Error('connection reset')) : append(...args));
    await k.reactor.apply(deactivated);
    expect((await k.events()).map((e) => e.type)).toEqual(['KeyCreated', 'KeyRevoked']);
    expect(k.logs.filter((l) => l.level === 'warn')).toHaveLength(2);
  });
});
