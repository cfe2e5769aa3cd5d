import {
  generateKey,
  generateServiceSigningKey,
  IssuerRegistry,
  ServiceTokenSigner,
  type ServiceSigningKey,
} from '@tollgate/authn';
import { ApiError } from '@tollgate/contracts';
import { SignJWT } from 'jose';
import { AccessModel } from './access-model';
import { AccessModelCallerAuthenticator, createModelTokenVerifier } from './caller-authenticator';
import type { Freshness } from './freshness';
import { ev, iso } from './testing';

const NOW = Date.parse('2026-11-26T08:00:00.000Z');
const HOUR = 3_600_000;
const clock = () => NOW;
const BOOTSTRAP = 'bootstrap-admin-credential-0123456789abcdef';
const ISSUER = 'https://idp.example.com/realms/ml';
const NONE = 'Bearer realm="tollgate"';
const INVALID = 'Bearer realm="tollgate", error="invalid_token"';

const mgmt = generateKey('management');
const mgmtRevoked = generateKey('management');
const mgmtExpired = generateKey('management');
const mgmtOfDeactivated = generateKey('management');
const inference = generateKey('inference');
const access = generateKey('access');

let tollgateKey: ServiceSigningKey;
let retiredKey: ServiceSigningKey;
let idpKey: ServiceSigningKey;

beforeAll(() => {
  tollgateKey = generateServiceSigningKey('tg-1');
  retiredKey = generateServiceSigningKey('tg-old');
  idpKey = generateServiceSigningKey('idp-1');
});

function buildModel(): AccessModel {
  const model = new AccessModel({ now: clock });
  const events = [
    ev.userCreated('usr_admin', 'admin', { admin: true }),
    ev.userCreated('usr_alice', 'alice', { admin: false }),
    ev.userCreated('usr_bob', 'bob'),
    ev.userDeactivated('usr_bob', 2),
    ev.userCreated('usr_ext', 'corp:ext-sub', { kind: 'external', idp: 'corp', externalSubject: 'ext-sub' }),
    ev.userKeyCreated('key_m', 'usr_alice', mgmt, { expiresAt: iso(NOW + HOUR) }),
    ev.userKeyCreated('key_r', 'usr_alice', mgmtRevoked),
    ev.keyRevoked('key_r', 'user'),
    ev.userKeyCreated('key_e', 'usr_alice', mgmtExpired, { expiresAt: iso(NOW - 1) }),
    ev.userKeyCreated('key_b', 'usr_bob', mgmtOfDeactivated, { expiresAt: null }),
    ev.userKeyCreated('key_i', 'usr_alice', inference, { scope: 'inference', expiresAt: null }),
    ev.accessKeyCreated('key_a', 'dep_1', 'primary', access),
    ev.signingKeyPublished(1, 'tg-1', tollgateKey.publicJwk as Record<string, unknown>),
    ev.signingKeyPublished(2, 'tg-old', retiredKey.publicJwk as Record<string, unknown>),
    ev.signingKeyRetired(3, 'tg-old', NOW - 1000),
  ];
  for (const e of events) model.apply(e);
  return model;
}

function fakeFreshness(state: {
  fresh: boolean;
  halted?: boolean;
  onWait?: () => boolean;
}): Freshness & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    maxStalenessMs: 2000,
    isFresh: () => state.fresh && !state.halted,
    watermarkAgeMs: () => (state.fresh ? 10 : 60_000),
    watermark: () => NOW - (state.fresh ? 10 : 60_000),
    halted: () => state.halted ?? false,
    waitForWatermark: async (timestamp) => {
      waits.push(timestamp);
      return state.onWait ? state.onWait() : state.fresh;
    },
  };
}

const LINKED_ISSUER = 'https://corp.example.com';

function authenticator(model = buildModel(), freshness?: Freshness, bootstrapAdminKey: string | null = BOOTSTRAP) {
  const issuers = new IssuerRegistry(
    [
      { issuer: ISSUER, jwks: { keys: [idpKey.publicJwk] }, audiences: ['tollgate'], algorithms: ['EdDSA'] },
      {
        issuer: LINKED_ISSUER,
        jwks: { keys: [idpKey.publicJwk] },
        audiences: ['tollgate'],
        algorithms: ['EdDSA'],
        idpConnector: 'corp',
      },
    ],
    { now: clock },
  );
  return new AccessModelCallerAuthenticator({
    model,
    verifier: createModelTokenVerifier(model, { issuers, now: clock }),
    bootstrapAdminKey: bootstrapAdminKey ?? undefined,
    freshness,
    now: clock,
  });
}

async function refused(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected the credential to be refused');
}

async function expect401(
  promise: Promise<unknown>,
  reason: string,
  header = INVALID,
  code = 'unauthenticated',
): Promise<void> {
  const error = await refused(promise);
  expect({
    code: error.code,
    status: error.status,
    reason: error.details?.[0]?.message,
    header: error.headers?.['WWW-Authenticate'],
  }).toEqual({
    code,
    status: 401,
    reason,
    header,
  });
  expect(error.message).toContain(reason);
}

function serviceToken(
  scope: 'inference' | 'management' | 'any',
  source: string,
  subject = 'usr_alice',
  key = tollgateKey,
  now = clock,
) {
  return new ServiceTokenSigner(key, { now })
    .sign({ subject, scope, source, expiresInSeconds: 600 })
    .then((t) => t.token);
}

function idpToken(claims: Record<string, unknown>, key = idpKey): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .setIssuer(typeof claims.iss === 'string' ? claims.iss : ISSUER)
    .setAudience('tollgate')
    .setIssuedAt(Math.floor(NOW / 1000))
    .setExpirationTime(Math.floor(NOW / 1000) + 300)
    .sign(key.privateKey);
}

describe('AccessModelCallerAuthenticator', () => {
  describe('nothing or something unreadable', () => {
    it('no Authorization header: 401 without error attribute', async () => {
      await expect401(authenticator().authenticate(undefined), 'credential-missing', NONE);
      await expect401(authenticator().authenticate('   '), 'credential-missing', NONE);
    });

    it('an unknown scheme or a malformed key: 401 invalid_token', async () => {
      await expect401(
        authenticator().authenticate(`Basic ${Buffer.from('a:b').toString('base64')}`),
        'credential-malformed',
      );
      await expect401(
        authenticator().authenticate(`Bearer ${mgmt.slice(0, -1)}${mgmt.endsWith('x') ? 'y' : 'x'}`),
        'credential-malformed',
      );
      await expect401(authenticator().authenticate('Bearer'), 'credential-malformed');
      await expect401(authenticator().authenticate('Bearer not-a-key-and-not-a-jwt'), 'credential-malformed');
    });
  });

  describe('bootstrap admin credential', () => {
    it('acts as usr_admin under Bearer or ApiKey, scheme case-insensitive', async () => {
      for (const scheme of ['Bearer', 'ApiKey', 'bearer', 'APIKEY', 'bEaReR']) {
        await expect(authenticator().authenticate(`${scheme} ${BOOTSTRAP}`)).resolves.toEqual({
          userId: 'usr_admin',
          name: 'admin',
          admin: true,
          via: 'bootstrap',
        });
      }
    });

    it('is exact, and refused when not configured', async () => {
      await expect401(authenticator().authenticate(`Bearer ${BOOTSTRAP}x`), 'credential-malformed');
      await expect401(authenticator().authenticate(`Bearer ${BOOTSTRAP.toUpperCase()}`), 'credential-malformed');
      await expect401(
        authenticator(buildModel(), undefined, null).authenticate(`Bearer ${BOOTSTRAP}`),
        'credential-malformed',
      );
    });

    it('works even when the model is stale (it does not depend on it)', async () => {
      const stale = fakeFreshness({ fresh: false });
      await expect(authenticator(buildModel(), stale).authenticate(`Bearer ${BOOTSTRAP}`)).resolves.toMatchObject({
        via: 'bootstrap',
      });
    });
  });

  describe('management keys', () => {
    it('a valid tgm_ key is its owner', async () => {
      for (const header of [`Bearer ${mgmt}`, `ApiKey ${mgmt}`, `apikey ${mgmt}`]) {
        await expect(authenticator().authenticate(header)).resolves.toEqual({
          userId: 'usr_alice',
          name: 'alice',
          admin: false,
          via: 'management-key',
          keyId: 'key_m',
        });
      }
    });

    it('an unknown key: 401 key-unknown', async () => {
      await expect401(authenticator().authenticate(`Bearer ${generateKey('management')}`), 'key-unknown');
    });

    it('a revoked key: 401 key-revoked', async () => {
      await expect401(authenticator().authenticate(`Bearer ${mgmtRevoked}`), 'key-revoked');
    });

    it('an expired key: 401 key-expired', async () => {
      await expect401(authenticator().authenticate(`Bearer ${mgmtExpired}`), 'key-expired');
    });

    it("a deactivated owner's key: 401 key-revoked (deactivation revokes every key, CONTRACT section 2)", async () => {
      await expect401(authenticator().authenticate(`Bearer ${mgmtOfDeactivated}`), 'key-revoked');
    });

    it('an inference or access key: 401 key-scope-invalid', async () => {
      await expect401(
        authenticator().authenticate(`Bearer ${inference}`),
        'key-scope-invalid',
        INVALID,
        'key-scope-invalid',
      );
      await expect401(
        authenticator().authenticate(`ApiKey ${access}`),
        'key-scope-invalid',
        INVALID,
        'key-scope-invalid',
      );
      // even one Tollgate never issued: the prefix says it is not for this API
      await expect401(
        authenticator().authenticate(`Bearer ${generateKey('inference')}`),
        'key-scope-invalid',
        INVALID,
        'key-scope-invalid',
      );
    });
  });

  describe('key usage ("last used")', () => {
    it('counts the key of a management key or a token exchanged for one, not refusals, bootstrap or sign-in', async () => {
      const model = buildModel();
      const used: string[] = [];
      const auth = new AccessModelCallerAuthenticator({
        model,
        verifier: createModelTokenVerifier(model, { now: clock }),
        bootstrapAdminKey: BOOTSTRAP,
        now: clock,
        onKeyUsed: (keyId) => used.push(keyId),
      });
      await auth.authenticate(`Bearer ${mgmt}`);
      await auth.authenticate(`Bearer ${await serviceToken('management', 'key_m')}`);
      await auth.authenticate(`Bearer ${BOOTSTRAP}`);
      await auth.authenticate(`Bearer ${await serviceToken('any', 'sign-in', 'usr_ext')}`);
      await refused(auth.authenticate(`Bearer ${mgmtRevoked}`));
      await refused(auth.authenticate(`Bearer ${inference}`));
      expect(used).toEqual(['key_m', 'key_m']);
    });
  });

  describe('service tokens', () => {
    it('scope management: its subject, with the key it was exchanged for', async () => {
      const token = await serviceToken('management', 'key_m');
      await expect(authenticator().authenticate(`Bearer ${token}`)).resolves.toEqual({
        userId: 'usr_alice',
        name: 'alice',
        admin: false,
        via: 'service-token',
        keyId: 'key_m',
      });
    });

    it('scope any (a sign-in token): its subject, no key', async () => {
      const token = await serviceToken('any', 'sign-in', 'usr_ext');
      await expect(authenticator().authenticate(`Bearer ${token}`)).resolves.toEqual({
        userId: 'usr_ext',
        name: 'corp:ext-sub',
        admin: false,
        via: 'service-token',
      });
    });

    it('scope inference: 401 key-scope-invalid', async () => {
      await expect401(
        authenticator().authenticate(`Bearer ${await serviceToken('inference', 'key_i')}`),
        'key-scope-invalid',
        INVALID,
        'key-scope-invalid',
      );
    });

    it('dies with its source key: revoked, expired or unknown', async () => {
      await expect401(
        authenticator().authenticate(`Bearer ${await serviceToken('management', 'key_r')}`),
        'key-revoked',
      );
      await expect401(
        authenticator().authenticate(`Bearer ${await serviceToken('management', 'key_e')}`),
        'key-expired',
      );
      await expect401(
        authenticator().authenticate(`Bearer ${await serviceToken('management', 'key_nope')}`),
        'key-unknown',
      );
    });

    it("an expired token of a revoked or expired key answers with the key's reason, else token-expired", async () => {
      const expiredToken = (source: string) =>
        serviceToken('management', source, 'usr_alice', tollgateKey, () => NOW - 2 * HOUR);
      await expect401(authenticator().authenticate(`Bearer ${await expiredToken('key_e')}`), 'key-expired');
      await expect401(authenticator().authenticate(`Bearer ${await expiredToken('key_r')}`), 'key-revoked');
      await expect401(authenticator().authenticate(`Bearer ${await expiredToken('key_m')}`), 'token-expired');
    });

    it('refuses a source key of another user, and a deactivated subject', async () => {
      await expect401(
        authenticator().authenticate(`Bearer ${await serviceToken('management', 'key_m', 'usr_admin')}`),
        'token-invalid',
      );
      await expect401(
        authenticator().authenticate(`Bearer ${await serviceToken('any', 'sign-in', 'usr_bob')}`),
        'user-deactivated',
      );
      await expect401(
        authenticator().authenticate(`Bearer ${await serviceToken('any', 'sign-in', 'usr_ghost')}`),
        'user-unknown',
      );
    });

    it('refuses a key the model does not publish, a retired key, and an expired token', async () => {
      await expect401(
        authenticator().authenticate(
          `Bearer ${await serviceToken('any', 'sign-in', 'usr_alice', generateServiceSigningKey('tg-x'))}`,
        ),
        'token-invalid',
      );
      await expect401(
        authenticator().authenticate(`Bearer ${await serviceToken('any', 'sign-in', 'usr_alice', retiredKey)}`),
        'token-invalid',
      );
      await expect401(
        authenticator().authenticate(
          `Bearer ${await serviceToken('any', 'sign-in', 'usr_alice', tollgateKey, () => NOW - 2 * HOUR)}`,
        ),
        'token-expired',
      );
    });

    it('a bad signature: 401 token-invalid', async () => {
      // alice's signature over a payload naming the admin
      const [header, , signature] = (await serviceToken('any', 'sign-in')).split('.');
      const [, adminPayload] = (await serviceToken('any', 'sign-in', 'usr_admin')).split('.');
      await expect401(authenticator().authenticate(`Bearer ${header}.${adminPayload}.${signature}`), 'token-invalid');
    });
  });

  describe("trusted issuers' JWTs", () => {
    it('the user whose name is the subject claim', async () => {
      const token = await idpToken({ sub: 'alice', groups: ['ml'] });
      await expect(authenticator().authenticate(`Bearer ${token}`)).resolves.toEqual({
        userId: 'usr_alice',
        name: 'alice',
        admin: false,
        via: 'jwt',
      });
    });

    it('never the built-in admin, nor an IdP-created user by name: 401 user-unknown', async () => {
      await expect401(authenticator().authenticate(`Bearer ${await idpToken({ sub: 'admin' })}`), 'user-unknown');
      await expect401(
        authenticator().authenticate(`Bearer ${await idpToken({ sub: 'corp:ext-sub' })}`),
        'user-unknown',
      );
    });

    it("an issuer linked to a connector names that connector's user by IdP subject, and nobody by name", async () => {
      const linked = (sub: string) => idpToken({ sub, iss: LINKED_ISSUER });
      await expect(authenticator().authenticate(`Bearer ${await linked('ext-sub')}`)).resolves.toEqual({
        userId: 'usr_ext',
        name: 'corp:ext-sub',
        admin: false,
        via: 'jwt',
      });
      await expect401(authenticator().authenticate(`Bearer ${await linked('alice')}`), 'user-unknown');
      await expect401(authenticator().authenticate(`Bearer ${await linked('admin')}`), 'user-unknown');
    });

    it('no user of that name: 401; a deactivated one: 401', async () => {
      await expect401(authenticator().authenticate(`Bearer ${await idpToken({ sub: 'mallory' })}`), 'user-unknown');
      await expect401(authenticator().authenticate(`Bearer ${await idpToken({ sub: 'bob' })}`), 'user-deactivated');
    });

    it('wrong audience, untrusted issuer, or a key not in the issuer JWKS: 401', async () => {
      const wrongAudience = await new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'EdDSA', kid: idpKey.kid })
        .setIssuer(ISSUER)
        .setAudience('someone-else')
        .setExpirationTime(Math.floor(NOW / 1000) + 300)
        .sign(idpKey.privateKey);
      await expect401(authenticator().authenticate(`Bearer ${wrongAudience}`), 'audience-mismatch');
      const untrusted = await new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'EdDSA', kid: idpKey.kid })
        .setIssuer('https://evil.example.com')
        .setAudience('tollgate')
        .setExpirationTime(Math.floor(NOW / 1000) + 300)
        .sign(idpKey.privateKey);
      await expect401(authenticator().authenticate(`Bearer ${untrusted}`), 'issuer-untrusted');
      await expect401(
        authenticator().authenticate(`Bearer ${await idpToken({ sub: 'alice' }, tollgateKey)}`),
        'token-invalid',
      );
    });
  });

  describe('freshness', () => {
    it('a stale model refuses with 503 unavailable and Retry-After (fail closed)', async () => {
      const stale = fakeFreshness({ fresh: false });
      const error = await refused(authenticator(buildModel(), stale).authenticate(`Bearer ${mgmt}`));
      expect({ code: error.code, status: error.status, retryAfter: error.headers?.['Retry-After'] }).toEqual({
        code: 'unavailable',
        status: 503,
        retryAfter: '1',
      });
      expect(stale.waits).toEqual([NOW]);
    });

    it('a halted model refuses at once', async () => {
      const halted = fakeFreshness({ fresh: true, halted: true });
      const error = await refused(authenticator(buildModel(), halted).authenticate(`Bearer ${mgmt}`));
      expect(error.code).toBe('unavailable');
      expect(halted.waits).toEqual([]);
    });

    it('a model that catches up within the bound answers', async () => {
      const state = { fresh: false, onWait: () => ((state.fresh = true), true) };
      await expect(
        authenticator(buildModel(), fakeFreshness(state)).authenticate(`Bearer ${mgmt}`),
      ).resolves.toMatchObject({ userId: 'usr_alice' });
    });

    it('an unknown key is looked up again once the watermark passed the request (read-your-writes)', async () => {
      const model = buildModel();
      const fresh = generateKey('management');
      const freshness = fakeFreshness({
        fresh: true,
        onWait: () => {
          model.apply(ev.userKeyCreated('key_new', 'usr_admin', fresh, { expiresAt: null }));
          return true;
        },
      });
      await expect(authenticator(model, freshness).authenticate(`Bearer ${fresh}`)).resolves.toMatchObject({
        userId: 'usr_admin',
        admin: true,
        keyId: 'key_new',
      });
      expect(freshness.waits).toEqual([NOW]);
    });

    it('a known but refused key is final: no wait', async () => {
      const freshness = fakeFreshness({ fresh: true });
      await expect401(authenticator(buildModel(), freshness).authenticate(`Bearer ${mgmtRevoked}`), 'key-revoked');
      expect(freshness.waits).toEqual([]);
    });

    it('an unknown key stays 401 when the watermark does not pass the request in time', async () => {
      const freshness = fakeFreshness({ fresh: true, onWait: () => false });
      await expect401(
        authenticator(buildModel(), freshness).authenticate(`Bearer ${generateKey('management')}`),
        'key-unknown',
      );
      expect(freshness.waits).toHaveLength(1);
    });
  });
});
