import {
  ALL_CREDENTIAL_KINDS,
  currentGroups,
  decide,
  DECISION_RULES,
  type CredentialOutcome,
  type Decision,
  type DecisionInput,
  type DeploymentFacts,
  type ResolvedCaller,
  type UserFacts,
} from './decide';
import { ALLOWED_REASONS, FORBIDDEN_REASONS, UNAUTHENTICATED_REASONS, type Reason } from './reasons';

const NOW = Date.UTC(2026, 10, 26, 6, 30, 0);
const H = 3_600_000;

const dep = (over: Partial<DeploymentFacts> = {}): DeploymentFacts => ({
  id: 'dep_1',
  projectId: 'prj_1',
  authentication: true,
  credentialKinds: ALL_CREDENTIAL_KINDS,
  grantedGroups: ['ml-team'],
  environment: 'prod',
  ...over,
});

const internal: UserFacts = { id: 'usr_alice', name: 'alice', kind: 'internal', deactivated: false, groups: [] };
const machine: UserFacts = { id: 'usr_ci', name: 'ci-bot', kind: 'machine', deactivated: false, groups: [] };
const admin: UserFacts = { ...internal, id: 'usr_admin', name: 'admin', admin: true };
const external = (over: Partial<UserFacts> = {}): UserFacts => ({
  id: 'usr_ext',
  name: 'corp:123',
  kind: 'external',
  deactivated: false,
  groups: ['ml-team'],
  groupsRefreshedAt: NOW - 2 * H,
  ...over,
});

const ok = (caller: ResolvedCaller): CredentialOutcome => ({ ok: true, caller });
const fail = (
  reason: Extract<CredentialOutcome, { ok: false }>['reason'],
  kind?: ResolvedCaller['kind'],
): CredentialOutcome => (kind === undefined ? { ok: false, reason } : { ok: false, reason, kind });

const apiKey = (user: UserFacts, over: Partial<ResolvedCaller> = {}) =>
  ok({ kind: 'api-key', keyId: 'key_api', scope: 'inference', user, ...over });
const serviceToken = (
  user: UserFacts,
  scope: 'inference' | 'management' | 'any' = 'inference',
  keyId: string | undefined = 'key_api',
) => ok({ kind: 'service-token', keyId, issuer: 'tollgate', scope, user });
const jwt = (over: Partial<ResolvedCaller> = {}) =>
  ok({ kind: 'jwt', issuer: 'https://idp.example.com', subject: 'corp-sub-1', ...over });
const accessKey = (deploymentId = 'dep_1', slot: 'primary' | 'secondary' = 'primary') =>
  ok({ kind: 'access-key', keyId: 'key_ak', accessKeyDeploymentId: deploymentId, accessKeySlot: slot });
const missing = fail('credential-missing');

const input = (over: Partial<DecisionInput> = {}): DecisionInput => ({
  fresh: true,
  deployment: dep(),
  credential: missing,
  policy: { requireExternalUserLoginAfterHours: -1 },
  now: NOW,
  ...over,
});
const policy = (hours: number) => ({ policy: { requireExternalUserLoginAfterHours: hours } });

type Case = [string, DecisionInput, Partial<Decision> & { reason: Reason }];

const cases: Case[] = [
  // 503 and 404 come first.
  ['stale authorizer', input({ fresh: false }), { status: 503, allowed: false, reason: 'authorizer-stale' }],
  [
    'stale beats an unknown deployment',
    input({ fresh: false, deployment: undefined }),
    { status: 503, reason: 'authorizer-stale' },
  ],
  [
    'stale beats a public deployment',
    input({ fresh: false, deployment: dep({ authentication: false }) }),
    { reason: 'authorizer-stale' },
  ],
  ['unknown deployment', input({ deployment: undefined }), { status: 404, reason: 'deployment-unknown' }],
  [
    'unknown deployment beats a missing credential',
    input({ deployment: undefined, credential: missing }),
    { reason: 'deployment-unknown' },
  ],

  // Authentication off.
  [
    'public, nothing sent',
    input({ deployment: dep({ authentication: false }) }),
    { status: 200, allowed: true, reason: 'public', deployment: 'dep_1' },
  ],
  [
    'public, even with a bad credential',
    input({ deployment: dep({ authentication: false }), credential: fail('token-invalid') }),
    { reason: 'public' },
  ],
  [
    'public, even with a management key',
    input({ deployment: dep({ authentication: false }), credential: apiKey(internal, { scope: 'management' }) }),
    { reason: 'public' },
  ],
  [
    'public, even with another deployment access key',
    input({ deployment: dep({ authentication: false }), credential: accessKey('dep_2') }),
    { reason: 'public' },
  ],
  [
    'public, even for a deactivated user',
    input({ deployment: dep({ authentication: false }), credential: apiKey({ ...internal, deactivated: true }) }),
    { reason: 'public' },
  ],

  // 401: the credential itself.
  ['nothing sent', input(), { status: 401, reason: 'credential-missing', deployment: 'dep_1' }],
  ...(
    [
      'credential-malformed',
      'key-unknown',
      'key-revoked',
      'key-expired',
      'token-invalid',
      'token-expired',
      'issuer-untrusted',
      'audience-mismatch',
    ] as const
  ).map((r): Case => [
    `credential failure ${r}`,
    input({ credential: fail(r), role: 'owner' }),
    { status: 401, reason: r },
  ]),
  [
    'unknown access key alone',
    input({ credential: fail('key-unknown', 'access-key') }),
    { status: 401, reason: 'access-key-invalid' },
  ],
  [
    'revoked access key alone',
    input({ credential: fail('key-revoked', 'access-key') }),
    { reason: 'access-key-invalid' },
  ],
  [
    'malformed access key alone stays malformed',
    input({ credential: fail('credential-malformed', 'access-key') }),
    { reason: 'credential-malformed' },
  ],
  [
    'access key alone given in the accessKey field',
    input({ credential: missing, accessKey: fail('key-unknown') }),
    { reason: 'access-key-invalid' },
  ],
  [
    'access key of another deployment',
    input({ credential: accessKey('dep_2') }),
    { status: 401, reason: 'access-key-invalid' },
  ],
  [
    'access key without a deployment fails closed',
    input({ credential: ok({ kind: 'access-key', keyId: 'key_ak' }) }),
    { reason: 'access-key-invalid' },
  ],
  [
    'management API key for inference',
    input({ credential: apiKey(internal, { scope: 'management' }), role: 'owner' }),
    { status: 401, reason: 'key-scope-invalid', keyId: 'key_api' },
  ],
  [
    'service token of a management key for inference',
    input({ credential: serviceToken(internal, 'management'), role: 'owner' }),
    { reason: 'key-scope-invalid' },
  ],
  [
    'sign-in service token (scope any) for inference',
    input({ credential: serviceToken(internal, 'any', undefined), role: 'owner' }),
    { reason: 'collaborator', issuer: 'tollgate' },
  ],
  [
    'JWT on a deployment not accepting JWTs',
    input({ credential: jwt({ user: internal }), role: 'owner', deployment: dep({ credentialKinds: ['api-key'] }) }),
    { status: 401, reason: 'auth-mode-not-allowed' },
  ],
  [
    'API key on a deployment accepting only JWTs',
    input({ credential: apiKey(internal), role: 'owner', deployment: dep({ credentialKinds: ['jwt'] }) }),
    { reason: 'auth-mode-not-allowed' },
  ],
  [
    'service token on a deployment not accepting them',
    input({
      credential: serviceToken(internal),
      role: 'owner',
      deployment: dep({ credentialKinds: ['api-key', 'jwt'] }),
    }),
    { reason: 'auth-mode-not-allowed' },
  ],
  [
    'access key on a deployment not accepting them',
    input({ credential: accessKey(), deployment: dep({ credentialKinds: ['api-key'] }) }),
    { reason: 'auth-mode-not-allowed' },
  ],
  [
    'a deployment accepting nothing',
    input({ credential: apiKey(internal), role: 'owner', deployment: dep({ credentialKinds: [] }) }),
    { reason: 'auth-mode-not-allowed' },
  ],
  [
    'issuer restricted to another environment',
    input({ credential: jwt({ user: internal, issuerEnvironment: 'staging' }), role: 'owner' }),
    { status: 401, reason: 'issuer-untrusted', issuer: 'https://idp.example.com' },
  ],
  [
    'issuer restricted to an environment, deployment without one',
    input({
      credential: jwt({ user: internal, issuerEnvironment: 'prod' }),
      role: 'owner',
      deployment: dep({ environment: undefined }),
    }),
    { reason: 'issuer-untrusted' },
  ],
  [
    'issuer restricted to the same environment',
    input({ credential: jwt({ user: internal, issuerEnvironment: 'prod' }), role: 'owner' }),
    { reason: 'collaborator' },
  ],

  // Precedence among the 401s.
  [
    'a credential failure beats kind-not-allowed',
    input({ credential: fail('token-expired'), deployment: dep({ credentialKinds: ['api-key'] }) }),
    { reason: 'token-expired' },
  ],
  [
    'key-scope-invalid beats auth-mode-not-allowed',
    input({ credential: apiKey(internal, { scope: 'management' }), deployment: dep({ credentialKinds: ['jwt'] }) }),
    { reason: 'key-scope-invalid' },
  ],
  [
    'auth-mode-not-allowed beats access-key-invalid',
    input({ credential: accessKey('dep_2'), deployment: dep({ credentialKinds: ['jwt'] }) }),
    { reason: 'auth-mode-not-allowed' },
  ],
  [
    'issuer environment beats auth-mode-not-allowed',
    input({ credential: jwt({ issuerEnvironment: 'dev' }), deployment: dep({ credentialKinds: ['api-key'] }) }),
    { reason: 'issuer-untrusted' },
  ],

  // Access key alone.
  [
    'access key of this deployment (primary)',
    input({ credential: accessKey() }),
    {
      status: 200,
      allowed: true,
      reason: 'access-key',
      subject: 'access-key:dep_1:primary',
      keyId: 'key_ak',
      deployment: 'dep_1',
    },
  ],
  [
    'access key of this deployment (secondary)',
    input({ credential: accessKey('dep_1', 'secondary') }),
    { reason: 'access-key', subject: 'access-key:dep_1:secondary' },
  ],
  [
    'access key passed as the accessKey field with nothing else',
    input({ credential: missing, accessKey: accessKey() }),
    { reason: 'access-key', subject: 'access-key:dep_1:primary' },
  ],

  // Access key and user credential together: both valid, the user credential decides.
  [
    'both: owner and valid access key',
    input({ credential: apiKey(internal), accessKey: accessKey(), role: 'owner' }),
    { reason: 'collaborator', subject: 'usr_alice', keyId: 'key_api' },
  ],
  [
    'both: valid access key does not let a non-collaborator in',
    input({ credential: apiKey(internal), accessKey: accessKey() }),
    { status: 403, reason: 'not-collaborator' },
  ],
  [
    'both: unknown access key refuses even an owner',
    input({ credential: apiKey(internal), accessKey: fail('key-unknown'), role: 'owner' }),
    { status: 401, reason: 'access-key-invalid' },
  ],
  [
    'both: malformed access key',
    input({ credential: apiKey(internal), accessKey: fail('credential-malformed'), role: 'owner' }),
    { reason: 'credential-malformed' },
  ],
  [
    'both: access key of another deployment refuses an owner',
    input({ credential: apiKey(internal), accessKey: accessKey('dep_2'), role: 'owner' }),
    { reason: 'access-key-invalid' },
  ],
  [
    'both: a non-access key in the access key slot',
    input({ credential: apiKey(internal), accessKey: apiKey(internal), role: 'owner' }),
    { reason: 'access-key-invalid' },
  ],
  [
    'both: bad user credential with a good access key',
    input({ credential: fail('key-revoked'), accessKey: accessKey() }),
    { reason: 'key-revoked' },
  ],
  [
    'both: access keys not accepted here',
    input({
      credential: apiKey(internal),
      accessKey: accessKey(),
      role: 'owner',
      deployment: dep({ credentialKinds: ['api-key'] }),
    }),
    { reason: 'auth-mode-not-allowed' },
  ],
  [
    'both: deactivated user with a valid access key',
    input({
      credential: serviceToken({ ...internal, deactivated: true }, 'any', undefined),
      accessKey: accessKey(),
      role: 'owner',
    }),
    { reason: 'user-deactivated' },
  ],

  // 403 and collaborators.
  [
    'deactivated owner',
    input({ credential: jwt({ user: { ...internal, deactivated: true } }), role: 'owner' }),
    { status: 403, reason: 'user-deactivated', subject: 'usr_alice' },
  ],
  [
    'deactivated external user in a granted group',
    input({ credential: serviceToken(external({ deactivated: true }), 'any', undefined) }),
    { reason: 'user-deactivated' },
  ],
  [
    'owner',
    input({ credential: apiKey(internal), role: 'owner' }),
    { status: 200, allowed: true, reason: 'collaborator', subject: 'usr_alice', keyId: 'key_api', deployment: 'dep_1' },
  ],
  ['admin', input({ credential: apiKey(internal), role: 'admin' }), { reason: 'collaborator' }],
  [
    'contributor',
    input({ credential: apiKey(machine), role: 'contributor' }),
    { reason: 'collaborator', subject: 'usr_ci' },
  ],
  [
    'viewer may not invoke',
    input({ credential: apiKey(internal), role: 'viewer' }),
    { status: 403, reason: 'not-collaborator', subject: 'usr_alice' },
  ],
  ['no role', input({ credential: apiKey(internal) }), { reason: 'not-collaborator' }],
  ['machine user without role', input({ credential: apiKey(machine) }), { reason: 'not-collaborator' }],
  [
    'Tollgate admin has no implicit right',
    input({ credential: apiKey(admin) }),
    { reason: 'not-collaborator', subject: 'usr_admin' },
  ],
  [
    'JWT, no matching user, no groups claim',
    input({ credential: jwt() }),
    { reason: 'not-collaborator', subject: 'corp-sub-1', issuer: 'https://idp.example.com' },
  ],
  [
    'JWT naming a collaborator',
    input({ credential: jwt({ user: internal }), role: 'contributor' }),
    { reason: 'collaborator', subject: 'usr_alice', issuer: 'https://idp.example.com' },
  ],
  [
    'collaborator wins even with external access disabled',
    input({ credential: apiKey(external()), role: 'contributor', ...policy(0) }),
    { reason: 'collaborator' },
  ],
  [
    'collaborator wins over a stale group refresh',
    input({ credential: apiKey(external({ groupsRefreshedAt: NOW - 100 * H })), role: 'owner', ...policy(1) }),
    { reason: 'collaborator' },
  ],

  // Groups.
  [
    'external user in a granted group, no limit',
    input({ credential: serviceToken(external(), 'any', undefined) }),
    { status: 200, reason: 'group-granted', groups: ['ml-team'], subject: 'usr_ext' },
  ],
  [
    'granted group, policy -1, never refreshed',
    input({ credential: apiKey(external({ groupsRefreshedAt: undefined })) }),
    { reason: 'group-granted' },
  ],
  [
    'granted group refreshed within the limit',
    input({ credential: apiKey(external()), ...policy(3) }),
    { reason: 'group-granted' },
  ],
  [
    'granted group refreshed exactly at the limit',
    input({ credential: apiKey(external({ groupsRefreshedAt: NOW - 2 * H })), ...policy(2) }),
    { reason: 'group-granted' },
  ],
  [
    'granted group refreshed just past the limit',
    input({ credential: apiKey(external({ groupsRefreshedAt: NOW - 2 * H - 1 })), ...policy(2) }),
    { status: 403, reason: 'external-login-stale' },
  ],
  [
    'a recent SCIM edit does not make an old login fresh',
    input({
      credential: apiKey(external({ groupsRefreshedAt: NOW - 5 * H, groupsChangedAt: NOW - 60_000 })),
      ...policy(2),
    }),
    { status: 403, reason: 'external-login-stale' },
  ],
  [
    'granted group never refreshed, with a limit',
    input({ credential: apiKey(external({ groupsRefreshedAt: undefined })), ...policy(24) }),
    { reason: 'external-login-stale' },
  ],
  [
    'external access disabled',
    input({ credential: apiKey(external()), ...policy(0) }),
    { status: 403, reason: 'external-access-disabled' },
  ],
  [
    'an invalid policy value fails closed',
    input({ credential: apiKey(external()), ...policy(-2) }),
    { reason: 'external-access-disabled' },
  ],
  [
    'policy 0 does not change a refusal without granted groups',
    input({ credential: apiKey(external({ groups: ['other'] })), ...policy(0) }),
    { reason: 'group-not-granted' },
  ],
  [
    'external user, no granted group',
    input({ credential: apiKey(external({ groups: ['other'] })) }),
    { status: 403, reason: 'group-not-granted' },
  ],
  [
    'external user, no groups at all',
    input({ credential: apiKey(external({ groups: [] })) }),
    { reason: 'group-not-granted' },
  ],
  [
    'external viewer without a granted group',
    input({ credential: apiKey(external({ groups: [] })), role: 'viewer' }),
    { reason: 'group-not-granted' },
  ],
  [
    'group names are case-sensitive',
    input({ credential: apiKey(external({ groups: ['ML-team', 'ml-team '] })) }),
    { reason: 'group-not-granted' },
  ],
  [
    'deployment without granted groups',
    input({ credential: apiKey(external()), deployment: dep({ grantedGroups: [] }) }),
    { reason: 'group-not-granted' },
  ],
  [
    'internal user in a granted group gets in by the group',
    input({ credential: apiKey({ ...internal, groups: ['ml-team'], groupsRefreshedAt: NOW }) }),
    { reason: 'group-granted' },
  ],
  [
    'internal user, groups not granted: not-collaborator',
    input({ credential: apiKey({ ...internal, groups: ['x'], groupsRefreshedAt: NOW }) }),
    { reason: 'not-collaborator' },
  ],
  [
    'JWT groups claim, no user, granted',
    input({ credential: jwt({ jwtGroups: { groups: ['ml-team', 'b'], refreshedAt: NOW - 60_000 } }), ...policy(1) }),
    { reason: 'group-granted', groups: ['ml-team'], subject: 'corp-sub-1' },
  ],
  [
    'JWT groups claim, no user, not granted',
    input({ credential: jwt({ jwtGroups: { groups: ['b'], refreshedAt: NOW } }) }),
    { reason: 'group-not-granted' },
  ],
  [
    'JWT with an empty groups claim is an external caller',
    input({ credential: jwt({ jwtGroups: { groups: [], refreshedAt: NOW } }) }),
    { reason: 'group-not-granted' },
  ],
  [
    'JWT groups claim older than the limit',
    input({ credential: jwt({ jwtGroups: { groups: ['ml-team'], refreshedAt: NOW - 5 * H } }), ...policy(4) }),
    { reason: 'external-login-stale' },
  ],
  [
    'JWT groups newer than the IdP sync count',
    input({
      credential: jwt({
        user: external({ groups: [], groupsRefreshedAt: NOW - H }),
        jwtGroups: { groups: ['ml-team'], refreshedAt: NOW - 60_000 },
      }),
    }),
    { reason: 'group-granted' },
  ],
  [
    'a newer IdP sync supersedes the JWT groups (removed from the group)',
    input({
      credential: jwt({
        user: external({ groups: [], groupsRefreshedAt: NOW - 60_000 }),
        jwtGroups: { groups: ['ml-team'], refreshedAt: NOW - H },
      }),
    }),
    { reason: 'group-not-granted' },
  ],
  [
    'a newer IdP sync supersedes the JWT groups (added to the group)',
    input({
      credential: jwt({
        user: external({ groups: ['ml-team'], groupsRefreshedAt: NOW - 60_000 }),
        jwtGroups: { groups: [], refreshedAt: NOW - H },
      }),
    }),
    { reason: 'group-granted' },
  ],
  [
    'the newer set decides freshness too (old JWT, fresh sync)',
    input({
      credential: jwt({
        user: external({ groupsRefreshedAt: NOW - 60_000 }),
        jwtGroups: { groups: ['ml-team'], refreshedAt: NOW - 10 * H },
      }),
      ...policy(1),
    }),
    { reason: 'group-granted' },
  ],
  [
    'the JWT groups count when the user was never synced',
    input({
      credential: jwt({
        user: external({ groups: [], groupsRefreshedAt: undefined }),
        jwtGroups: { groups: ['ml-team'], refreshedAt: NOW },
      }),
    }),
    { reason: 'group-granted' },
  ],
];

describe('decide', () => {
  it.each(cases)('%s', (_name, inp, expected) => {
    expect(decide(inp)).toMatchObject(expected);
  });

  it('every reason of the contract is covered by the table', () => {
    const seen = new Set(cases.map(([, , e]) => e.reason));
    for (const r of [
      ...UNAUTHENTICATED_REASONS,
      ...FORBIDDEN_REASONS,
      ...ALLOWED_REASONS,
      'deployment-unknown',
      'authorizer-stale',
    ] as const) {
      expect([r, seen.has(r)]).toEqual([r, true]);
    }
  });

  it('status and allowed follow the reason', () => {
    for (const [, inp] of cases) {
      const d = decide(inp);
      expect(d.allowed).toBe(d.status === 200);
      if ((ALLOWED_REASONS as readonly string[]).includes(d.reason)) expect(d.status).toBe(200);
      if ((UNAUTHENTICATED_REASONS as readonly string[]).includes(d.reason)) expect(d.status).toBe(401);
      if ((FORBIDDEN_REASONS as readonly string[]).includes(d.reason)) expect(d.status).toBe(403);
    }
  });

  it('explain never changes the decision, and the trace lists the rules in order ending with the deciding one', () => {
    const order = new Map(DECISION_RULES.map((r, i) => [r, i]));
    for (const [name, inp] of cases) {
      const plain = decide(inp);
      const explained = decide(inp, { explain: true });
      const { trace, ...rest } = explained;
      expect([name, rest]).toEqual([name, plain]);
      expect(plain.trace).toBeUndefined();
      expect(trace!.length).toBeGreaterThan(0);
      const idx = trace!.map((s) => order.get(s.rule)!);
      expect(idx).toEqual([...idx].sort((a, b) => a - b));
      expect(new Set(idx).size).toBe(idx.length);
      // Every rule before the last was evaluated: the trace is a prefix of the rule list.
      expect(idx).toEqual(idx.map((_, i) => i));
      const last = trace!.at(-1)!;
      expect([name, last.outcome]).toEqual([name, plain.allowed ? 'allow' : 'deny']);
      expect(trace!.slice(0, -1).every((s) => s.outcome !== 'allow' && s.outcome !== 'deny')).toBe(true);
    }
  });

  it('a full trace, for an external caller refused', () => {
    const d = decide(input({ credential: apiKey(external({ groups: ['other'] })) }), { explain: true });
    expect(d.trace).toEqual([
      { rule: 'freshness', outcome: 'pass' },
      { rule: 'deployment-known', outcome: 'pass', detail: 'dep_1' },
      { rule: 'authentication-required', outcome: 'pass' },
      { rule: 'credential-valid', outcome: 'pass', detail: 'api-key' },
      { rule: 'access-key-companion-valid', outcome: 'skip' },
      { rule: 'issuer-environment', outcome: 'skip' },
      { rule: 'key-scope', outcome: 'pass', detail: 'inference' },
      { rule: 'credential-kind-accepted', outcome: 'pass', detail: 'api-key' },
      { rule: 'access-key-deployment', outcome: 'skip' },
      { rule: 'access-key', outcome: 'skip' },
      { rule: 'user-active', outcome: 'pass' },
      { rule: 'collaborator', outcome: 'no-match', detail: 'no role' },
      { rule: 'group-grant', outcome: 'no-match', detail: 'no granted group' },
      { rule: 'no-access', outcome: 'deny', detail: 'external caller' },
    ]);
  });

  it('does not report groups or a subject it should not', () => {
    expect(decide(input({ deployment: dep({ authentication: false }), credential: apiKey(internal) }))).toEqual({
      allowed: true,
      status: 200,
      reason: 'public',
      deployment: 'dep_1',
    });
    expect(decide(input({ credential: fail('token-invalid') }))).toEqual({
      allowed: false,
      status: 401,
      reason: 'token-invalid',
      deployment: 'dep_1',
    });
    expect(decide(input({ credential: apiKey(internal), role: 'owner' })).groups).toBeUndefined();
  });

  it('a JWT reports its issuer and no key id; an API key its key id and no issuer', () => {
    expect(decide(input({ credential: jwt({ user: internal, keyId: 'x' }), role: 'owner' }))).toEqual({
      allowed: true,
      status: 200,
      reason: 'collaborator',
      subject: 'usr_alice',
      issuer: 'https://idp.example.com',
      deployment: 'dep_1',
    });
    expect(decide(input({ credential: apiKey(internal, { issuer: 'x' }), role: 'owner' }))).toEqual({
      allowed: true,
      status: 200,
      reason: 'collaborator',
      subject: 'usr_alice',
      keyId: 'key_api',
      deployment: 'dep_1',
    });
    expect(decide(input({ credential: serviceToken(internal), role: 'owner' }))).toMatchObject({
      keyId: 'key_api',
      issuer: 'tollgate',
    });
  });

  it('is pure: the same input gives the same decision, and the input is not modified', () => {
    const inp = input({ credential: jwt({ user: external(), jwtGroups: { groups: ['ml-team'], refreshedAt: NOW } }) });
    const copy = structuredClone(inp);
    expect(decide(inp)).toEqual(decide(inp));
    expect(inp).toEqual(copy);
  });
});

describe('currentGroups', () => {
  it('picks the later refresh; a tie keeps the JWT', () => {
    const u = external({ groups: ['u'], groupsRefreshedAt: 100 });
    expect(currentGroups({ kind: 'jwt', user: u, jwtGroups: { groups: ['j'], refreshedAt: 100 } })).toEqual({
      groups: ['j'],
      refreshedAt: 100,
    });
    expect(currentGroups({ kind: 'jwt', user: u, jwtGroups: { groups: ['j'], refreshedAt: 99 } })).toEqual({
      groups: ['u'],
      refreshedAt: 100,
    });
    expect(currentGroups({ kind: 'jwt' })).toBeUndefined();
    expect(currentGroups({ kind: 'api-key', user: u })).toEqual({ groups: ['u'], refreshedAt: 100 });
  });

  it('a SCIM edit newer than the JWT supersedes its groups; the login clock is the later login', () => {
    const u = external({ groups: ['u'], groupsRefreshedAt: 50, groupsChangedAt: 200 });
    expect(currentGroups({ kind: 'jwt', user: u, jwtGroups: { groups: ['j'], refreshedAt: 100 } })).toEqual({
      groups: ['u'],
      refreshedAt: 100,
    });
    expect(currentGroups({ kind: 'jwt', user: u, jwtGroups: { groups: ['j'], refreshedAt: 200 } })).toEqual({
      groups: ['j'],
      refreshedAt: 200,
    });
    const never = external({ groups: ['u'], groupsRefreshedAt: undefined, groupsChangedAt: 200 });
    expect(currentGroups({ kind: 'jwt', user: never, jwtGroups: { groups: [], refreshedAt: 100 } })).toEqual({
      groups: ['u'],
      refreshedAt: 100,
    });
    expect(currentGroups({ kind: 'api-key', user: u })).toEqual({ groups: ['u'], refreshedAt: 50 });
  });
});
