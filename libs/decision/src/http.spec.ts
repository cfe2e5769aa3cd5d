import { decide, type Decision } from './decide';
import { decisionHeaders, decisionMessage, headerValue, statusForDoor } from './http';

const d = (over: Partial<Decision> & Pick<Decision, 'reason' | 'status'>): Decision => ({
  allowed: over.status === 200,
  ...over,
});

describe('decisionHeaders', () => {
  it('200 for an API key: subject, deployment, key id', () => {
    expect(
      decisionHeaders(
        d({ status: 200, reason: 'collaborator', subject: 'usr_a', deployment: 'dep_1', keyId: 'key_1' }),
      ),
    ).toEqual({
      'X-Auth-Subject': 'usr_a',
      'X-Auth-Deployment': 'dep_1',
      'X-Auth-Key-Id': 'key_1',
    });
  });

  it('200 for a JWT: subject, deployment, issuer', () => {
    expect(
      decisionHeaders(
        d({ status: 200, reason: 'group-granted', subject: 'alice', deployment: 'dep_1', issuer: 'https://idp' }),
      ),
    ).toEqual({
      'X-Auth-Subject': 'alice',
      'X-Auth-Deployment': 'dep_1',
      'X-Auth-Issuer': 'https://idp',
    });
  });

  it('200 for a service token: key id and issuer tollgate', () => {
    expect(
      decisionHeaders(
        d({
          status: 200,
          reason: 'collaborator',
          subject: 'usr_a',
          deployment: 'dep_1',
          keyId: 'key_1',
          issuer: 'tollgate',
        }),
      ),
    ).toMatchObject({ 'X-Auth-Key-Id': 'key_1', 'X-Auth-Issuer': 'tollgate' });
  });

  it('200 public: the deployment only', () => {
    expect(decisionHeaders(d({ status: 200, reason: 'public', deployment: 'dep_1' }))).toEqual({
      'X-Auth-Deployment': 'dep_1',
    });
  });

  it('401 without a credential: WWW-Authenticate without error', () => {
    expect(decisionHeaders(d({ status: 401, reason: 'credential-missing', deployment: 'dep_1' }))).toEqual({
      'WWW-Authenticate': 'Bearer realm="tollgate"',
      'X-Ext-Auth-Reason': 'credential-missing',
    });
  });

  it.each([
    'credential-malformed',
    'key-revoked',
    'token-expired',
    'auth-mode-not-allowed',
    'key-scope-invalid',
  ] as const)('401 %s: WWW-Authenticate with error="invalid_token"', (reason) => {
    expect(decisionHeaders(d({ status: 401, reason }))).toEqual({
      'WWW-Authenticate': 'Bearer realm="tollgate", error="invalid_token"',
      'X-Ext-Auth-Reason': reason,
    });
  });

  it('403: the reason only, no identity headers', () => {
    expect(
      decisionHeaders(d({ status: 403, reason: 'not-collaborator', subject: 'usr_a', deployment: 'dep_1' })),
    ).toEqual({
      'X-Ext-Auth-Reason': 'not-collaborator',
    });
  });

  it('404: deployment-unknown', () => {
    expect(decisionHeaders(d({ status: 404, reason: 'deployment-unknown' }))).toEqual({
      'X-Ext-Auth-Reason': 'deployment-unknown',
    });
  });

  it('503: authorizer-stale with Retry-After', () => {
    expect(decisionHeaders(d({ status: 503, reason: 'authorizer-stale' }))).toEqual({
      'X-Ext-Auth-Reason': 'authorizer-stale',
      'Retry-After': '1',
    });
    expect(
      decisionHeaders(d({ status: 503, reason: 'authorizer-stale' }), { retryAfterSeconds: 2.5 })['Retry-After'],
    ).toBe('3');
  });

  it('never lets a subject inject a header', () => {
    const h = decisionHeaders(
      d({ status: 200, reason: 'group-granted', subject: 'eve\r\nX-Admin: yes', deployment: 'dep_1' }),
    );
    expect(h['X-Auth-Subject']).toBe('eve%0D%0AX-Admin:%20yes');
  });
});

describe('headerValue', () => {
  it.each([
    ['usr_abc', 'usr_abc'],
    ['access-key:dep_1:primary', 'access-key:dep_1:primary'],
    ['https://idp.example.com/realms/ml', 'https://idp.example.com/realms/ml'],
    ['a b', 'a%20b'],
    ['100%', '100%25'],
    ['José', 'Jos%C3%A9'],
    ['\u0000', '%00'],
    ['', ''],
  ])('%j -> %j', (input, out) => {
    expect(headerValue(input)).toBe(out);
  });
});

describe('decisionMessage', () => {
  it.each([
    'not-collaborator',
    'group-not-granted',
    'external-login-stale',
    'external-access-disabled',
    'user-deactivated',
  ] as const)('403 %s says "not authorized to access model" and what to check', (reason) => {
    const m = decisionMessage(d({ status: 403, reason, deployment: 'dep_1' }));
    expect(m).toContain('not authorized to access model dep_1');
    expect(m).toContain(reason);
    expect(m.length).toBeGreaterThan('not authorized to access model dep_1: '.length + 20);
  });

  it('has a message for every status', () => {
    expect(decisionMessage(d({ status: 200, reason: 'collaborator', deployment: 'dep_1' }))).toContain('authorized');
    expect(decisionMessage(d({ status: 200, reason: 'public', deployment: 'dep_1' }))).toContain('public');
    expect(decisionMessage(d({ status: 401, reason: 'credential-missing' }))).toContain('authentication required');
    expect(decisionMessage(d({ status: 401, reason: 'key-scope-invalid' }))).toContain('management key');
    expect(decisionMessage(d({ status: 404, reason: 'deployment-unknown' }))).toContain('deployment-unknown');
    expect(decisionMessage(d({ status: 503, reason: 'authorizer-stale' }))).toContain('retry');
  });
});

describe('statusForDoor', () => {
  const unknown = decide({
    fresh: true,
    credential: { ok: false, reason: 'credential-missing' },
    policy: { requireExternalUserLoginAfterHours: -1 },
    now: 0,
  });
  it('forward-auth answers an unknown deployment with 403; REST and gRPC with 404', () => {
    expect(statusForDoor(unknown, 'forward-auth')).toBe(403);
    expect(statusForDoor(unknown, 'authorize')).toBe(404);
    expect(statusForDoor(unknown, 'ext-authz')).toBe(404);
  });
  it('other statuses are the same through every door', () => {
    const stale = { ...unknown, status: 503 as const, reason: 'authorizer-stale' as const };
    expect(statusForDoor(stale, 'forward-auth')).toBe(503);
  });
});
