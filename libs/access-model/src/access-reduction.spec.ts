import { describe, expect, it } from '@jest/globals';
import type { CredentialKind, DomainEvent } from '@tollgate/contracts';
import { reducesAccess, type PriorFacts } from './access-reduction';

const deployment = {
  deploymentId: 'dep_1',
  projectId: 'prj_1',
  name: 'llama',
  hosts: ['Llama.example.com'],
  pathPrefixes: ['/v1'],
  authentication: true,
  credentialKinds: ['api-key', 'jwt'] as CredentialKind[],
  grantedGroups: ['ml', 'research'],
  environment: null,
};
const prior: PriorFacts['deployment'] = {
  authentication: true,
  credentialKinds: new Set<CredentialKind>(['api-key', 'jwt']),
  grantedGroups: new Set(['ml', 'research']),
  hosts: ['llama.example.com'],
  pathPrefixes: ['/v1'],
};
const updated = (change: Partial<typeof deployment>): DomainEvent =>
  ({ type: 'DeploymentUpdated', data: { ...deployment, ...change } }) as DomainEvent;
const event = (type: string, data: object): DomainEvent => ({ type, data }) as DomainEvent;
const groups = (names: string[]): DomainEvent =>
  event('GroupsRefreshed', { userId: 'usr_1', groups: names, refreshedAt: '2026-11-26T06:30:00.000Z' });
const role = (r: string): DomainEvent => event('CollaboratorSet', { projectId: 'prj_1', userId: 'usr_1', role: r });
const policy = (hours: number): DomainEvent =>
  event('ExternalAccessPolicyChanged', { requireExternalUserLoginAfterHours: hours });

describe('reducesAccess', () => {
  it.each<[string, DomainEvent, PriorFacts, boolean]>([
    ['a key revoked', event('KeyRevoked', { keyId: 'k', reason: 'user', revokedAt: 'x' }), {}, true],
    [
      'a key rotated (it ends at revokesAt)',
      event('KeyRotated', { keyId: 'k', successorKeyId: 'k2', rotatedAt: 'x', revokesAt: 'y' }),
      {},
      true,
    ],
    ['a key created', event('KeyCreated', { keyId: 'k' }), {}, false],
    ['a user deactivated', event('UserDeactivated', { userId: 'usr_1', deactivatedAt: 'x' }), {}, true],
    ['a user created', event('UserCreated', { userId: 'usr_1' }), {}, false],
    ['a collaborator removed', event('CollaboratorRemoved', { projectId: 'prj_1', userId: 'usr_1' }), {}, true],
    ['owner → viewer', role('viewer'), { role: 'owner' }, true],
    ['contributor → viewer', role('contributor'), { role: 'contributor' }, false],
    ['admin → contributor', role('contributor'), { role: 'admin' }, true],
    ['viewer → contributor', role('contributor'), { role: 'viewer' }, false],
    ['a new collaborator', role('viewer'), {}, false],
    ['groups shrunk', groups(['ml']), { groups: new Set(['ml', 'research']) }, true],
    ['groups replaced', groups(['ops']), { groups: new Set(['ml']) }, true],
    ['groups grown', groups(['ml', 'ops']), { groups: new Set(['ml']) }, false],
    ['groups refreshed unchanged', groups(['ml']), { groups: new Set(['ml']) }, false],
    ['first groups of a user', groups(['ml']), {}, false],
    ['authentication turned on', updated({}), { deployment: { ...prior!, authentication: false } }, true],
    ['authentication turned off', updated({ authentication: false }), { deployment: prior }, false],
    ['a credential kind dropped', updated({ credentialKinds: ['jwt'] }), { deployment: prior }, true],
    [
      'a credential kind added',
      updated({ credentialKinds: ['jwt', 'api-key', 'access-key'] }),
      { deployment: prior },
      false,
    ],
    ['a granted group dropped', updated({ grantedGroups: ['research'] }), { deployment: prior }, true],
    ['a granted group added', updated({ grantedGroups: ['ml', 'research', 'ops'] }), { deployment: prior }, false],
    ['a host added', updated({ hosts: ['llama.example.com', 'b.example.com'] }), { deployment: prior }, true],
    ['hosts differing only in case', updated({ hosts: ['LLAMA.example.com'] }), { deployment: prior }, false],
    ['a prefix changed', updated({ pathPrefixes: ['/v2'] }), { deployment: prior }, true],
    ['a prefix changing case', updated({ pathPrefixes: ['/V1'] }), { deployment: prior }, true],
    ['only the name changed', updated({ name: 'llama-3' }), { deployment: prior }, false],
    ['an update before its deployment', updated({}), {}, true],
    ['a deployment created', event('DeploymentCreated', deployment), {}, false],
    ['no limit → 24 h', policy(24), { requireExternalUserLoginAfterHours: -1 }, true],
    ['24 h → 12 h', policy(12), { requireExternalUserLoginAfterHours: 24 }, true],
    ['24 h → disabled', policy(0), { requireExternalUserLoginAfterHours: 24 }, true],
    ['disabled → 24 h', policy(24), { requireExternalUserLoginAfterHours: 0 }, false],
    ['24 h → no limit', policy(-1), { requireExternalUserLoginAfterHours: 24 }, false],
    ['the default → no limit', policy(-1), {}, false],
    ['the key policy changed', event('KeyPolicyChanged', { defaultLifetimeDays: 1, maxLifetimeDays: 1 }), {}, false],
  ])('%s', (_name, e, facts, expected) => {
    expect(reducesAccess(e, facts)).toBe(expected);
  });
});
