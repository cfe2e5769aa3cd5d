import { AccessModel } from '@tollgate/access-model';
import type { RecordedEvent } from '@tollgate/event-store';
import { whoCan, why } from './audit';
import { foldUntil } from './fold';

// A hand-built history at known times: grants, a revocation, a removal, group changes and a policy change.
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-20T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const hash = (c: string) => c.repeat(64).slice(0, 64);

let position = 0;
const versions = new Map<string, number>();
function event(at: number, streamId: string, type: string, data: Record<string, unknown>): RecordedEvent {
  const streamVersion = (versions.get(streamId) ?? 0) + 1;
  versions.set(streamId, streamVersion);
  position += 1;
  return {
    id: `evt_${position}`,
    source: streamId.startsWith('key') ? '/tollgate/keys' : '/tollgate/identity',
    streamId,
    streamVersion,
    position,
    type,
    data,
    metadata: { actor: 'usr_admin', channel: 'rest' },
    recordedAt: new Date(at),
  };
}

const user = (at: number, userId: string, name: string, kind: string) =>
  event(at, `user-${userId}`, 'UserCreated', { userId, name, kind, admin: false, email: null, createdAt: iso(at) });

const history: RecordedEvent[] = [
  user(T0, 'usr_alice', 'alice', 'internal'),
  user(T0, 'usr_bob', 'bob', 'external'),
  user(T0, 'usr_carol', 'carol', 'internal'),
  event(T0, 'project-prj_1', 'ProjectCreated', {
    projectId: 'prj_1',
    name: 'vision',
    ownerId: 'usr_alice',
    createdAt: iso(T0),
  }),
  event(T0, 'project-prj_1', 'CollaboratorSet', { projectId: 'prj_1', userId: 'usr_alice', role: 'owner' }),
  event(T0, 'project-prj_1', 'CollaboratorSet', { projectId: 'prj_1', userId: 'usr_carol', role: 'contributor' }),
  event(T0, 'deployment-dep_1', 'DeploymentCreated', {
    deploymentId: 'dep_1',
    projectId: 'prj_1',
    name: 'resnet',
    hosts: ['resnet.example.com'],
    pathPrefixes: ['/'],
    authentication: true,
    credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
    grantedGroups: ['ml-team'],
    environment: null,
  }),
  event(T0, 'deployment-dep_2', 'DeploymentCreated', {
    deploymentId: 'dep_2',
    projectId: 'prj_1',
    name: 'open',
    hosts: ['open.example.com'],
    pathPrefixes: ['/'],
    authentication: false,
    credentialKinds: ['api-key'],
    grantedGroups: [],
    environment: null,
  }),
  event(T0, 'key-key_access', 'KeyCreated', {
    keyId: 'key_access',
    kind: 'access-key',
    secretHash: hash('a'),
    deploymentId: 'dep_1',
    slot: 'primary',
    expiresAt: null,
    createdAt: iso(T0),
  }),
  event(T0, 'key-key_alice', 'KeyCreated', {
    keyId: 'key_alice',
    kind: 'user-key',
    secretHash: hash('b'),
    userId: 'usr_alice',
    name: 'ci',
    scope: 'inference',
    expiresAt: iso(T0 + 100 * HOUR),
    createdAt: iso(T0),
  }),
  event(T0 + 1 * HOUR, 'user-usr_bob', 'GroupsRefreshed', {
    userId: 'usr_bob',
    groups: ['ml-team'],
    refreshedAt: iso(T0 + 1 * HOUR),
  }),
  event(T0 + 2 * HOUR, 'project-prj_1', 'CollaboratorRemoved', { projectId: 'prj_1', userId: 'usr_carol' }),
  event(T0 + 2 * HOUR, 'external-access-policy', 'ExternalAccessPolicyChanged', {
    requireExternalUserLoginAfterHours: 24,
  }),
  event(T0 + 3 * HOUR, 'key-key_access', 'KeyRevoked', {
    keyId: 'key_access',
    reason: 'admin',
    revokedAt: iso(T0 + 3 * HOUR),
  }),
];

const at = async (time: number) => (await foldUntil([history], time)).model;
const subjects = async (time: number, deployment = 'dep_1') =>
  whoCan(await at(time), deployment, time).subjects.map((s) => `${s.subject}:${s.reason}`);

describe('audit who-can, folded to a point in time', () => {
  it('before the group refresh: the collaborators and the access key', async () => {
    expect(await subjects(T0 + 30 * 60_000)).toEqual([
      'access-key:dep_1:primary:access-key',
      'usr_alice:collaborator',
      'usr_carol:collaborator',
    ]);
  });

  it('after the IdP granted bob ml-team: bob through his group', async () => {
    expect(await subjects(T0 + 1 * HOUR + 60_000)).toContain('usr_bob:group-granted');
  });

  it('after carol was removed from the project: carol no longer', async () => {
    const list = await subjects(T0 + 2 * HOUR + 60_000);
    expect(list).not.toContain('usr_carol:collaborator');
    expect(list).toContain('usr_alice:collaborator');
  });

  it('after the access key was revoked: the access key no longer', async () => {
    expect((await subjects(T0 + 3 * HOUR + 60_000)).some((s) => s.startsWith('access-key:'))).toBe(false);
  });

  it("a day after bob's last sign-in, under a 24 h policy: bob no longer", async () => {
    expect(await subjects(T0 + 26 * HOUR)).toEqual(['usr_alice:collaborator']);
  });

  it('lists the credentials a subject held then', async () => {
    const report = whoCan(await at(T0 + 60_000), 'dep_1', T0 + 60_000);
    expect(report.subjects.find((s) => s.subject === 'usr_alice')?.credentials).toContain('api-key:key_alice');
  });

  it('a deployment without authentication: anyone', async () => {
    expect(await subjects(T0 + 60_000, 'dep_2')).toEqual(['*:public']);
  });

  it('an unknown deployment, or one created later, is not found', async () => {
    await expect(at(T0 - 1).then((m) => whoCan(m, 'dep_1', T0 - 1))).rejects.toThrow(/did not exist/);
  });
});

describe('audit why', () => {
  it('explains an allowed subject with the decision trace', async () => {
    const report = why(await at(T0 + 60_000), 'alice', 'dep_1', T0 + 60_000);
    expect(report.decision).toMatchObject({ allowed: true, status: 200, reason: 'collaborator' });
    expect(report.decision.trace?.at(-1)).toMatchObject({ rule: 'collaborator', outcome: 'allow' });
  });

  it('explains a stale external login', async () => {
    const report = why(await at(T0 + 26 * HOUR), 'usr_bob', 'dep_1', T0 + 26 * HOUR);
    expect(report.decision).toMatchObject({ allowed: false, status: 403, reason: 'external-login-stale' });
  });

  it('explains a revoked access key', async () => {
    const report = why(await at(T0 + 4 * HOUR), 'access-key:dep_1:primary', 'dep_1', T0 + 4 * HOUR);
    expect(report.decision).toMatchObject({ allowed: false, status: 401, reason: 'access-key-invalid' });
  });

  it('refuses a subject that did not exist then', async () => {
    expect(() => why(new AccessModel(), 'nobody', 'dep_2', T0)).toThrow(/did not exist/);
    const model = await at(T0 + 60_000);
    expect(() => why(model, 'nobody', 'dep_1', T0 + 60_000)).toThrow(/no user nobody/);
  });
});
