import { describe, expect, it } from '@jest/globals';
import { ApiError, IDENTITY_SIGNING_KEYS_STREAM } from '@tollgate/contracts';
import { InMemoryEventStore } from '@tollgate/event-store';
import { InMemorySigningKeyVault, type SigningKeySchedule, SigningKeysService } from '@tollgate/signing-keys';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { SignInTokenSigner } from './sign-in-token-signer';

// The sign-in key runs the keys service's rotation design (`@tollgate/signing-keys`, whose decider tests
// cover both signers) on the identity log's `identity-signing-keys` stream. What is specific to sign-in:
// the stream, the token lifetime tied to the schedule, the wait for the first key, and two identity
// processes (a standby writer) on one store.

const T0 = Date.parse('2026-12-05T08:00:00.000Z');
const DAY = 86_400_000;
const schedule: SigningKeySchedule = {
  rotationPeriodMs: 7 * DAY,
  publishLeadMs: 3_600_000,
  firstKeyLeadMs: 2_000,
  tokenLifetimeMs: 3_600_000,
  retirementMarginMs: 300_000,
};
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function identityProcesses(count: number, options: { schedule?: SigningKeySchedule } = {}) {
  const store = new InMemoryEventStore();
  const vault = new InMemorySigningKeyVault();
  const clock = { now: T0 };
  const services = Array.from(
    { length: count },
    () =>
      new SigningKeysService({
        stream: IDENTITY_SIGNING_KEYS_STREAM,
        name: 'identity',
        store,
        vault,
        schedule: options.schedule ?? schedule,
        clock: () => clock.now,
        logger: silent,
        signerRefreshMs: 0,
      }),
  );
  const stream = async () => (await store.readStream(IDENTITY_SIGNING_KEYS_STREAM)).events;
  return { store, vault, clock, services, stream };
}

describe('sign-in token signer (identity-signing-keys stream)', () => {
  it('publishes the first key on the identity stream before it signs; a sign-in in between gets 503, later the key', async () => {
    const { clock, services, stream } = identityProcesses(1);
    const keys = services[0]!;
    expect(await keys.maintain()).toEqual(['SigningKeyPublished']);
    const [published] = await stream();
    expect(published).toMatchObject({
      streamId: IDENTITY_SIGNING_KEYS_STREAM,
      type: 'SigningKeyPublished',
      data: { activatesAt: new Date(T0 + 2_000).toISOString() },
      metadata: { actor: 'system', channel: 'system' },
    });
    // A fake clock does not move while the signer waits: with no wait allowed it answers 503, retry shortly.
    const impatient = new SignInTokenSigner(keys, 0);
    await expect(impatient.sign('usr_1')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(impatient.sign('usr_1')).rejects.toBeInstanceOf(ApiError);
    clock.now += 2_000;
    const signed = await new SignInTokenSigner(keys).sign('usr_1');
    expect(signed.kid).toBe((published!.data as { kid: string }).kid);
    expect(decodeProtectedHeader(signed.token)).toMatchObject({ alg: 'EdDSA', kid: signed.kid });
    expect(decodeJwt(signed.token)).toMatchObject({ sub: 'usr_1', scope: 'any', src: 'sign-in' });
  });

  it("a token lives the schedule's token lifetime (1 h), never longer than its key is kept after it stops signing", async () => {
    for (const [lifetimeMs, seconds] of [
      [3_600_000, 3_600],
      [10_000, 10],
      [7_200_000, 3_600],
    ] as const) {
      const { clock, services } = identityProcesses(1, { schedule: { ...schedule, tokenLifetimeMs: lifetimeMs } });
      await services[0]!.maintain();
      clock.now += 2_000;
      const claims = decodeJwt((await new SignInTokenSigner(services[0]!).sign('usr_1')).token);
      expect(claims.exp! - claims.iat!).toBe(seconds);
    }
  });

  it('signs with the successor from its activation on; the old key stays published until its last token expired', async () => {
    const { clock, services, vault } = identityProcesses(1);
    const keys = services[0]!;
    await keys.maintain();
    clock.now += 2_000;
    const signer = new SignInTokenSigner(keys);
    const first = (await signer.sign('usr_1')).kid;
    const rotated = await keys.rotate(120_000);
    expect(rotated).toMatchObject({ published: true, retired: [] });
    expect((await keys.jwks()).keys.map((k) => k.kid)).toEqual([first, rotated.kid]);
    expect((await signer.sign('usr_1')).kid).toBe(first);
    clock.now = Date.parse(rotated.activatesAt!);
    expect((await signer.sign('usr_1')).kid).toBe(rotated.kid);
    clock.now += schedule.tokenLifetimeMs + schedule.retirementMarginMs - 1;
    expect(await keys.maintain()).toEqual([]);
    clock.now += 1;
    expect(await keys.maintain()).toEqual(['SigningKeyRetired']);
    expect((await keys.jwks()).keys.map((k) => k.kid)).toEqual([rotated.kid]);
    expect(await vault.get(first)).toBeUndefined();
  });

  it('two identity processes (active and standby writer) publish one key, rotate once, and sign with the same key', async () => {
    const { clock, services, stream, vault } = identityProcesses(2);
    const [a, b] = services as [SigningKeysService, SigningKeysService];
    expect((await Promise.all([a.maintain(), b.maintain(), a.maintain(), b.maintain()])).flat()).toEqual([
      'SigningKeyPublished',
    ]);
    expect([...vault.keys.keys()]).toEqual([((await stream())[0]!.data as { kid: string }).kid]);
    clock.now += 2_000;
    // Both run the schedule at the rotation time: one successor, and the losers' private halves are dropped.
    clock.now = T0 + 2_000 + schedule.rotationPeriodMs - schedule.publishLeadMs;
    expect((await Promise.all([a.maintain(), b.maintain()])).flat()).toEqual(['SigningKeyPublished']);
    expect(vault.keys.size).toBe(2);
    // Two on-demand rotations at once (a CLI racing a CLI): one new key; the other sees a successor sooner.
    const [r1, r2] = await Promise.all([a.rotate(60_000), b.rotate(60_000)]);
    expect([r1.published, r2.published].sort()).toEqual([false, true]);
    expect(r1.kid).toBe(r2.kid);
    expect((await stream()).filter((e) => e.type === 'SigningKeyPublished')).toHaveLength(3);
    clock.now = Date.parse(r1.activatesAt!);
    const [sa, sb] = await Promise.all([new SignInTokenSigner(a).sign('u'), new SignInTokenSigner(b).sign('u')]);
    expect(sa.kid).toBe(r1.kid);
    expect(sb.kid).toBe(r1.kid);
  });
});
