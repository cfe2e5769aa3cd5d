import { describe, expect, it } from '@jest/globals';
import type { DeploymentState } from '@tollgate/contracts';
import { fold } from '@tollgate/event-store';
import { ApiError } from '@tollgate/contracts';
import { assertHostsAvailable, type DeploymentEvent, deploymentDecider, deploymentView } from './deployment';
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
  const { deploymentId, ...input } = state;
  const create = (access: typeof manage) => ({
    type: 'CreateDeployment' as const,
    access,
    deploymentId,
    deployment: input,
  });

  it('creates with the project owner, admin or a Tollgate admin', () => {
    given(deploymentDecider).when(create(manage)).then([created]);
  });

  it('gives every field the request does not name its default (CONTRACT section 3)', () => {
    given(deploymentDecider)
      .when({
        type: 'CreateDeployment',
        access: manage,
        deploymentId,
        deployment: { projectId: 'prj_1', name: 'bare' },
      })
      .then([
        {
          type: 'DeploymentCreated',
          data: {
            deploymentId,
            projectId: 'prj_1',
            name: 'bare',
            hosts: [],
            pathPrefixes: ['/'],
            authentication: true,
            credentialKinds: ['api-key', 'access-key', 'jwt', 'service-token'],
            grantedGroups: [],
            environment: null,
          },
        },
      ]);
  });

  it('refuses a collaborator who may not manage (403) and hides the project from others (404)', () => {
    given(deploymentDecider).when(create(seeOnly)).thenThrows('forbidden');
    given(deploymentDecider).when(create(none)).thenThrows('not-found');
  });

  it('refuses a second creation of the same stream', () => {
    given(deploymentDecider, [created]).when(create(manage)).thenThrows('conflict');
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

describe('host ownership: a host belongs to the project whose deployment first named it', () => {
  const refusal = (run: () => void): ApiError | undefined => {
    try {
      run();
    } catch (error) {
      return error as ApiError;
    }
    return undefined;
  };

  it("allows the owning project's own deployments", () => {
    expect(() =>
      assertHostsAvailable('prj_1', [{ host: 'a.example.com', ownerProjectId: 'prj_1', callerManagesOwner: false }]),
    ).not.toThrow();
  });

  it('allows another project when the caller manages the owner (its owner or admin, or a Tollgate admin)', () => {
    expect(() =>
      assertHostsAvailable('prj_2', [{ host: 'a.example.com', ownerProjectId: 'prj_1', callerManagesOwner: true }]),
    ).not.toThrow();
  });

  it('refuses another project otherwise: 409 conflict naming every taken host', () => {
    const error = refusal(() =>
      assertHostsAvailable('prj_2', [
        { host: 'a.example.com', ownerProjectId: 'prj_1', callerManagesOwner: false },
        { host: 'b.example.com', ownerProjectId: 'prj_2', callerManagesOwner: false },
        { host: 'c.example.com', ownerProjectId: 'prj_3', callerManagesOwner: false },
      ]),
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error!.status).toBe(409);
    expect(error!.code).toBe('conflict');
    expect(error!.details).toEqual([
      { field: 'hosts', message: 'a.example.com belongs to another project' },
      { field: 'hosts', message: 'c.example.com belongs to another project' },
    ]);
  });
});
