import { describe, expect, it } from '@jest/globals';
import type { DeploymentState } from '@tollgate/contracts';
import { fold } from '@tollgate/event-store';
import { type DeploymentEvent, deploymentDecider, deploymentView } from './deployment';
import { given } from './given-when-then';

const manage = { canSee: true, canManage: true };
const seeOnly = { canSee: true, canManage: false };
const none = { canSee: false, canManage: false };

const state: DeploymentState = {
  deploymentId: 'dep_1',
  projectId: 'prj_1',
  name: 'fraud-v1',
  hosts: ['models.example.com'],
  pathPrefixes: ['/v1/fraud'],
  authentication: true,
  credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
  grantedGroups: [],
  environment: null,
};
const created: DeploymentEvent = { type: 'DeploymentCreated', data: state };

describe('deployment decider', () => {
  it('creates with the project owner, admin or a Tollgate admin', () => {
    given(deploymentDecider).when({ type: 'CreateDeployment', access: manage, deployment: state }).then([created]);
  });

  it('refuses a collaborator who may not manage (403) and hides the project from others (404)', () => {
    given(deploymentDecider)
      .when({ type: 'CreateDeployment', access: seeOnly, deployment: state })
      .thenThrows('forbidden');
    given(deploymentDecider)
      .when({ type: 'CreateDeployment', access: none, deployment: state })
      .thenThrows('not-found');
  });

  it('an update carries the full new state', () => {
    given(deploymentDecider, [created])
      .when({
        type: 'UpdateDeployment',
        access: manage,
        changes: { grantedGroups: ['ml-readers'], authentication: false },
      })
      .then([{ type: 'DeploymentUpdated', data: { ...state, grantedGroups: ['ml-readers'], authentication: false } }]);
  });

  it('an update that changes nothing appends nothing', () => {
    given(deploymentDecider, [created])
      .when({ type: 'UpdateDeployment', access: manage, changes: { name: 'fraud-v1' } })
      .then([]);
  });

  it('a stale If-Match is 412 version-conflict', () => {
    const updated: DeploymentEvent = { type: 'DeploymentUpdated', data: { ...state, name: 'x' } };
    given(deploymentDecider, [created, updated])
      .when({ type: 'UpdateDeployment', access: manage, changes: { name: 'y' }, ifMatch: 1 })
      .thenThrows('version-conflict');
  });

  it('updating an unknown deployment is not-found', () => {
    given(deploymentDecider)
      .when({ type: 'UpdateDeployment', access: manage, changes: { name: 'y' } })
      .thenThrows('not-found');
  });

  it('the view has the id, the times and the version', () => {
    const s = fold(deploymentDecider, [created]);
    expect(deploymentView(s, { createdAt: 'c', updatedAt: 'u' })).toEqual({
      id: 'dep_1',
      projectId: 'prj_1',
      name: 'fraud-v1',
      hosts: ['models.example.com'],
      pathPrefixes: ['/v1/fraud'],
      authentication: true,
      credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
      grantedGroups: [],
      environment: null,
      createdAt: 'c',
      updatedAt: 'u',
      version: 1,
    });
  });
});
