import { describe, expect, it } from '@jest/globals';
import { InMemoryKeys, T0, TEST_SCHEDULE } from '../testing/in-memory-keys';
import { JwksService } from './jwks.service';

const jwk = (kid: string) => ({ kty: 'OKP', crv: 'Ed25519', x: `x-${kid}`, kid });

describe('JwksService (GET /.well-known/jwks.json)', () => {
  it("lists this service's keys from its own stream, then the sign-in keys the access model learned", async () => {
    const k = new InMemoryKeys();
    await k.signingKeys.maintain();
    const own = (await k.signingKeys.jwks()).keys.map((j) => j.kid as string);
    const model = {
      signingKeys: () => [
        { kid: 'signin-2', publicJwk: jwk('signin-2'), activatesAt: T0 + 10 },
        { kid: own[0]!, publicJwk: jwk(own[0]!), activatesAt: T0 },
        { kid: 'signin-1', publicJwk: jwk('signin-1'), activatesAt: T0 - 10 },
      ],
    };
    const jwks = await new JwksService(k.signingKeys, model).jwks();
    expect(jwks.keys.map((j) => j.kid)).toEqual([...own, 'signin-1', 'signin-2']);
  });

  it('drops its own retired key at once, even while the access model still holds it', async () => {
    const k = new InMemoryKeys();
    await k.signingKeys.maintain();
    const [first] = (await k.signingKeys.jwks()).keys.map((j) => j.kid as string);
    const successorAt = T0 + 2_000 + TEST_SCHEDULE.rotationPeriodMs;
    k.now = successorAt - TEST_SCHEDULE.publishLeadMs;
    await k.signingKeys.maintain();
    k.now = successorAt + TEST_SCHEDULE.tokenLifetimeMs + TEST_SCHEDULE.retirementMarginMs;
    expect(await k.signingKeys.maintain()).toEqual(['SigningKeyRetired']);
    const stale = { signingKeys: () => [{ kid: first!, publicJwk: jwk(first!), activatesAt: T0 }] };
    const kids = (await new JwksService(k.signingKeys, stale).jwks()).keys.map((j) => j.kid);
    expect(kids).toHaveLength(1);
    expect(kids).not.toContain(first);
  });
});
