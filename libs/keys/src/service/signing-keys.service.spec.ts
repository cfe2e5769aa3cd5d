import { SIGNING_KEYS_STREAM } from '@tollgate/contracts';
import { InMemoryKeys, T0, TEST_SCHEDULE } from '../testing/in-memory-keys';
import { InMemoryKeySigningPair } from '../testing/signing-key-replicas';

describe('SigningKeysService', () => {
  it('publishes the first key (public half only in the event, private half in the vault), then it signs', async () => {
    const k = new InMemoryKeys();
    expect(await k.signingKeys.maintain()).toEqual(['SigningKeyPublished']);
    const [event] = await k.events();
    expect(event).toMatchObject({
      streamId: SIGNING_KEYS_STREAM,
      type: 'SigningKeyPublished',
      data: { activatesAt: new Date(T0 + 2_000).toISOString() },
    });
    const data = event!.data as { kid: string; publicJwk: Record<string, unknown> };
    expect(Object.keys(data.publicJwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    expect(JSON.stringify(event)).not.toMatch(/PRIVATE KEY|"d":/);
    expect(await k.vault.get(data.kid)).toMatch(/BEGIN PRIVATE KEY/);
    expect(await k.signingKeys.signer()).toBeUndefined();
    k.now += 2_000;
    expect((await k.signingKeys.signer())?.kid).toBe(data.kid);
    expect(await k.signingKeys.maintain()).toEqual([]);
  });

  it('retires a key once its last token has expired, and forgets its private half', async () => {
    const k = new InMemoryKeys();
    await k.signingKeys.maintain();
    const first = (await k.events())[0]!.data as { kid: string };
    const successorAt = T0 + 2_000 + TEST_SCHEDULE.rotationPeriodMs;
    k.now = successorAt - TEST_SCHEDULE.publishLeadMs;
    expect(await k.signingKeys.maintain()).toEqual(['SigningKeyPublished']);
    k.now = successorAt + TEST_SCHEDULE.tokenLifetimeMs + TEST_SCHEDULE.retirementMarginMs - 1;
    expect(await k.signingKeys.maintain()).toEqual([]);
    k.now += 1;
    expect(await k.signingKeys.maintain()).toEqual(['SigningKeyRetired']);
    expect(await k.vault.get(first.kid)).toBeUndefined();
    expect((await k.signingKeys.jwks()).keys.map((j) => j.kid)).not.toContain(first.kid);
  });

  it('publishes one key when several replicas run the schedule at once; the losers drop their private halves', async () => {
    const pair = new InMemoryKeySigningPair();
    const results = await Promise.all([pair.a.maintain(), pair.b.maintain(), pair.a.maintain()]);
    expect(results.flat()).toEqual(['SigningKeyPublished']);
    const events = await pair.store.readAll({ limit: 100 });
    expect(events).toHaveLength(1);
    expect([...pair.vault.keys.keys()]).toEqual([(events[0]!.data as { kid: string }).kid]);
  });
});
