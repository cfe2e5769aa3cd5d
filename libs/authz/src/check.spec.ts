import { beforeAll, describe, expect, it } from '@jest/globals';
import { AccessModel, createModelTokenVerifier } from '@tollgate/access-model';
import { type IssuerConfig, IssuerRegistry } from '@tollgate/authn';
import { type Decision, decisionMessage } from '@tollgate/decision';
import { AuthzChecker } from './check';
import { type AuthzFixture, buildAuthzFixture } from './testing/fixture';
import type { CheckInput } from './types';

describe('AuthzChecker (one check behind the three doors)', () => {
  let fixture: AuthzFixture;
  let model: AccessModel;
  let fresh = true;
  let checker: AuthzChecker;

  const build = () =>
    new AuthzChecker({
      model,
      freshness: { isFresh: () => fresh, maxStalenessMs: 2000 },
      verifier: createModelTokenVerifier(model, {
        issuers: new IssuerRegistry(fixture.trustedIssuers as IssuerConfig[]),
      }),
    });

  beforeAll(async () => {
    fixture = await buildAuthzFixture();
    model = new AccessModel();
    for (const event of fixture.recorded()) model.apply(event);
    checker = build();
  });

  const inputOf = (c: AuthzFixture['cases'][number]): CheckInput => ({
    host: c.host,
    path: c.path,
    ...(c.authorization !== undefined ? { authorization: c.authorization } : {}),
    ...(c.accessKey !== undefined ? { accessKey: c.accessKey } : {}),
  });

  it('answers every case of the table with its status, reason and subject', async () => {
    const got = [];
    const want = [];
    for (const c of fixture.cases) {
      const d = await checker.check(inputOf(c));
      got.push({ name: c.name, status: d.status, reason: d.reason, ...(c.subject ? { subject: d.subject } : {}) });
      want.push({ name: c.name, status: c.status, reason: c.reason, ...(c.subject ? { subject: c.subject } : {}) });
    }
    expect(got).toEqual(want);
  });

  it('decides API keys and access keys synchronously, and a JWT only awaits on a cache miss', async () => {
    const key = fixture.cases.find((c) => c.name === 'inference key of a contributor')!;
    expect(checker.check(inputOf(key))).not.toBeInstanceOf(Promise);
    const jwt = fixture.cases.find((c) => c.name === 'trusted JWT naming a collaborator')!;
    const fresh = build();
    const first = fresh.check(inputOf(jwt));
    expect(first).toBeInstanceOf(Promise);
    expect((await first).reason).toBe('collaborator');
    const second = fresh.check(inputOf(jwt));
    expect(second).not.toBeInstanceOf(Promise);
    expect((second as Decision).reason).toBe('collaborator');
  });

  it('names the key, the issuer and the deployment of an allowed decision', async () => {
    const d = (await checker.check({
      host: fixture.host,
      path: '/v1/main',
      authorization: `Bearer ${fixture.keys.aliceInference.secret}`,
    })) as Decision;
    expect(d).toMatchObject({
      allowed: true,
      subject: fixture.ids.alice,
      keyId: fixture.keys.aliceInference.keyId,
      deployment: fixture.ids.main,
    });
    expect(checker.headers(d)).toEqual({
      'X-Auth-Subject': fixture.ids.alice,
      'X-Auth-Deployment': fixture.ids.main,
      'X-Auth-Key-Id': fixture.keys.aliceInference.keyId,
    });
    const token = fixture.cases.find((c) => c.name === 'service token of an inference key')!;
    const t = await checker.check(inputOf(token));
    expect(t).toMatchObject({ keyId: fixture.keys.aliceInference.keyId, issuer: 'tollgate' });
  });

  it('finds a deployment by id, which wins over host and path', async () => {
    const d = await checker.check({ deployment: fixture.ids.public, host: 'nowhere.example.test', path: '/x' });
    expect(d).toMatchObject({ status: 200, reason: 'public', deployment: fixture.ids.public });
    expect((await checker.check({ deployment: 'dep_nope' })).reason).toBe('deployment-unknown');
  });

  it('adds the trace with explain, without changing any decision', async () => {
    for (const c of fixture.cases) {
      const plain = await checker.check(inputOf(c));
      const explained = await checker.check({ ...inputOf(c), explain: true });
      const { trace, ...rest } = explained;
      expect(rest).toEqual(plain);
      expect(trace?.length).toBeGreaterThan(0);
    }
  });

  it('fails closed when the model is not fresh: 503 authorizer-stale with Retry-After, for every case', async () => {
    fresh = false;
    try {
      for (const c of fixture.cases) {
        const d = await checker.check(inputOf(c));
        expect({ name: c.name, status: d.status, reason: d.reason }).toEqual({
          name: c.name,
          status: 503,
          reason: 'authorizer-stale',
        });
        expect(checker.headers(d)).toEqual({ 'X-Ext-Auth-Reason': 'authorizer-stale', 'Retry-After': '2' });
      }
    } finally {
      fresh = true;
    }
  });

  it('sees a revocation as soon as the model applies it', async () => {
    const input = { host: fixture.host, path: '/v1/main', authorization: `Bearer ${fixture.keys.bob.secret}` };
    expect((await checker.check(input)).reason).toBe('not-collaborator');
    model.apply({
      id: `evt_revoke_${fixture.suffix}`,
      source: '/tollgate/keys',
      streamId: `key-${fixture.keys.bob.keyId}`,
      streamVersion: 2,
      position: 10_000,
      type: 'KeyRevoked',
      data: { keyId: fixture.keys.bob.keyId, reason: 'leaked', revokedAt: new Date().toISOString() },
      metadata: { actor: 'system', channel: 'system' },
      recordedAt: new Date(),
    });
    expect(await checker.check(input)).toMatchObject({ status: 401, reason: 'key-revoked' });
  });

  it('gives every decision the message decisionMessage gives it, however often a reason and deployment repeat', async () => {
    // The checker keeps messages per reason and deployment: every case twice, the same reason and deployment
    // with another status, and more deployments than it keeps, then the first ones again.
    const decisions: Decision[] = [];
    for (const c of fixture.cases) decisions.push(await checker.check(inputOf(c)));
    decisions.push(...decisions);
    decisions.push(
      { allowed: false, status: 403, reason: 'deployment-unknown', deployment: 'dep_x' },
      { allowed: false, status: 404, reason: 'deployment-unknown', deployment: 'dep_x' },
      ...Array.from({ length: 5000 }, (_, i): Decision => ({
        allowed: false,
        status: 403,
        reason: 'group-not-granted',
        deployment: `dep_${i}`,
      })),
    );
    decisions.push(...decisions.slice(0, 10));
    const kept = build();
    expect(decisions.map((d) => kept.message(d))).toEqual(decisions.map((d) => decisionMessage(d)));
  });
});
