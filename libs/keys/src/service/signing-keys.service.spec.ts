import { SIGNING_KEYS_STREAM } from '@tollgate/contracts';
import { caller, InMemoryKeys, meta, T0, TEST_SCHEDULE } from '../testing/in-memory-keys';
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

describe('SigningKeysService with machine users allowed longer tokens', () => {
  it('keeps a replaced key published until the longest token the key policy ever allowed has expired', async () => {
    const k = new InMemoryKeys();
    await k.signingKeys.maintain();
    const first = (await k.signingKeys.refresh()).keys[0]!;
    await k.policy.set(
      caller('usr_admin', true),
      { defaultLifetimeDays: 365, maxLifetimeDays: 365, maxServiceTokenLifetimeSeconds: 86_400 },
      undefined,
      meta(),
    );
    // Lowered again: tokens of up to 24 h may already exist, so the retirement still waits for them.
    await k.policy.set(
      caller('usr_admin', true),
      { defaultLifetimeDays: 365, maxLifetimeDays: 365, maxServiceTokenLifetimeSeconds: 3600 },
      undefined,
      meta(),
    );
    expect(await k.policy.longestServiceTokenLifetimeEver()).toBe(86_400);
    const successorAt = first.activatesAt + TEST_SCHEDULE.rotationPeriodMs;
    k.now = successorAt - TEST_SCHEDULE.publishLeadMs;
    await k.signingKeys.maintain();
    k.now = successorAt + TEST_SCHEDULE.tokenLifetimeMs + TEST_SCHEDULE.retirementMarginMs;
    await k.signingKeys.maintain();
    expect((await k.signingKeys.refresh()).keys.find((key) => key.kid === first.kid)?.retiredAt).toBeNull();
    k.now = successorAt + 86_400_000 + TEST_SCHEDULE.retirementMarginMs;
    await k.signingKeys.maintain();
    expect((await k.signingKeys.refresh()).keys.find((key) => key.kid === first.kid)?.retiredAt).not.toBeNull();
  });
});
