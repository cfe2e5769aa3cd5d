import { describe, expect, it } from '@jest/globals';
import { fold } from '@tollgate/event-store';
import { given } from './given-when-then';
import { canSeeProject, collaboratorsView, type ProjectCreator, type ProjectEvent, projectDecider } from './project';

const owner = { userId: 'usr_owner', admin: false };
const viewer = { userId: 'usr_viewer', admin: false };
const stranger = { userId: 'usr_stranger', admin: false };
const tollgateAdmin = { userId: 'usr_admin', admin: true };

const created: ProjectEvent = {
  type: 'ProjectCreated',
  data: { projectId: 'prj_1', name: 'fraud', ownerId: 'usr_owner', createdAt: '2026-11-26T06:00:00.000Z' },
};
const set = (userId: string, role: 'owner' | 'admin' | 'contributor' | 'viewer'): ProjectEvent => ({
  type: 'CollaboratorSet',
  data: { projectId: 'prj_1', userId, role },
});
const removed = (userId: string): ProjectEvent => ({
  type: 'CollaboratorRemoved',
  data: { projectId: 'prj_1', userId },
});

describe('project decider', () => {
  describe('CreateProject', () => {
    const creator: ProjectCreator = { userId: 'usr_owner', exists: true, deactivated: false, kind: 'internal' };
    const create = (who: ProjectCreator) =>
      ({ type: 'CreateProject', projectId: 'prj_1', name: 'fraud', creator: who, at: created.data.createdAt }) as const;
    it('an internal or machine user creates a project and becomes its owner', () => {
      given(projectDecider).when(create(creator)).then([created]);
      given(projectDecider)
        .when(create({ ...creator, kind: 'machine' }))
        .then([created]);
    });
    it('refuses external, deactivated and unknown users (403)', () => {
      given(projectDecider)
        .when(create({ ...creator, kind: 'external' }))
        .thenThrows('forbidden');
      given(projectDecider)
        .when(create({ ...creator, deactivated: true }))
        .thenThrows('forbidden');
      given(projectDecider)
        .when(create({ ...creator, exists: false }))
        .thenThrows('forbidden');
    });
    it('refuses a second creation of the same stream', () => {
      given(projectDecider, [created]).when(create(creator)).thenThrows('conflict');
    });
  });

  it('the creator is the owner from the first event on', () => {
    const state = fold(projectDecider, [created]);
    expect(collaboratorsView(state)).toEqual([{ userId: 'usr_owner', role: 'owner' }]);
  });

  it('the owner sets a collaborator', () => {
    given(projectDecider, [created])
      .when({ type: 'SetCollaborator', by: owner, userId: 'usr_viewer', role: 'viewer' })
      .then([set('usr_viewer', 'viewer')]);
  });

  it('a Tollgate admin who is no collaborator may manage it', () => {
    given(projectDecider, [created])
      .when({ type: 'SetCollaborator', by: tollgateAdmin, userId: 'usr_x', role: 'contributor' })
      .then([set('usr_x', 'contributor')]);
  });

  it('a project admin may manage it', () => {
    given(projectDecider, [created, set('usr_padmin', 'admin')])
      .when({ type: 'SetCollaborator', by: { userId: 'usr_padmin', admin: false }, userId: 'usr_x', role: 'viewer' })
      .then([set('usr_x', 'viewer')]);
  });

  it('a viewer may see but not manage: 403', () => {
    given(projectDecider, [created, set('usr_viewer', 'viewer')])
      .when({ type: 'SetCollaborator', by: viewer, userId: 'usr_viewer', role: 'owner' })
      .thenThrows('forbidden');
  });

  it('a stranger gets 404: the project is not revealed', () => {
    given(projectDecider, [created])
      .when({ type: 'SetCollaborator', by: stranger, userId: 'usr_stranger', role: 'owner' })
      .thenThrows('not-found');
    expect(canSeeProject(fold(projectDecider, [created]), stranger)).toBe(false);
  });

  it('setting the same role again changes nothing', () => {
    given(projectDecider, [created, set('usr_viewer', 'viewer')])
      .when({ type: 'SetCollaborator', by: owner, userId: 'usr_viewer', role: 'viewer' })
      .then([]);
  });

  it('the last owner can neither be demoted nor removed', () => {
    given(projectDecider, [created])
      .when({ type: 'SetCollaborator', by: owner, userId: 'usr_owner', role: 'viewer' })
      .thenThrows('conflict');
    given(projectDecider, [created])
      .when({ type: 'RemoveCollaborator', by: owner, userId: 'usr_owner' })
      .thenThrows('conflict');
  });

  it('an owner can leave once there is another owner', () => {
    given(projectDecider, [created, set('usr_two', 'owner')])
      .when({ type: 'RemoveCollaborator', by: owner, userId: 'usr_owner' })
      .then([removed('usr_owner')]);
  });

  it('removing someone who is no collaborator is not-found', () => {
    given(projectDecider, [created])
      .when({ type: 'RemoveCollaborator', by: owner, userId: 'usr_nobody' })
      .thenThrows('not-found');
  });

  describe('ownership is given and taken only by an owner or a Tollgate admin', () => {
    const projectAdmin = { userId: 'usr_padmin', admin: false };
    const withAdmin = [created, set('usr_padmin', 'admin')];
    const withTwoOwners = [created, set('usr_padmin', 'admin'), set('usr_two', 'owner')];

    it('a project admin may not make itself owner', () => {
      given(projectDecider, withAdmin)
        .when({ type: 'SetCollaborator', by: projectAdmin, userId: 'usr_padmin', role: 'owner' })
        .thenThrows('forbidden');
    });

    it('a project admin may not make anyone else owner', () => {
      given(projectDecider, withAdmin)
        .when({ type: 'SetCollaborator', by: projectAdmin, userId: 'usr_x', role: 'owner' })
        .thenThrows('forbidden');
    });

    it('a project admin may neither demote nor remove an owner, even one of several', () => {
      given(projectDecider, withTwoOwners)
        .when({ type: 'SetCollaborator', by: projectAdmin, userId: 'usr_owner', role: 'viewer' })
        .thenThrows('forbidden');
      given(projectDecider, withTwoOwners)
        .when({ type: 'RemoveCollaborator', by: projectAdmin, userId: 'usr_owner' })
        .thenThrows('forbidden');
    });

    it('a project admin still manages every other role', () => {
      given(projectDecider, withAdmin)
        .when({ type: 'SetCollaborator', by: projectAdmin, userId: 'usr_x', role: 'admin' })
        .then([set('usr_x', 'admin')]);
      given(projectDecider, [...withAdmin, set('usr_x', 'contributor')])
        .when({ type: 'RemoveCollaborator', by: projectAdmin, userId: 'usr_x' })
        .then([removed('usr_x')]);
    });

    it('an owner grants owner, and demotes or removes another owner', () => {
      given(projectDecider, withAdmin)
        .when({ type: 'SetCollaborator', by: owner, userId: 'usr_padmin', role: 'owner' })
        .then([set('usr_padmin', 'owner')]);
      given(projectDecider, withTwoOwners)
        .when({ type: 'SetCollaborator', by: owner, userId: 'usr_two', role: 'contributor' })
        .then([set('usr_two', 'contributor')]);
      given(projectDecider, withTwoOwners)
        .when({ type: 'RemoveCollaborator', by: owner, userId: 'usr_two' })
        .then([removed('usr_two')]);
    });

    it('a Tollgate admin who is no collaborator does all of it', () => {
      given(projectDecider, withAdmin)
        .when({ type: 'SetCollaborator', by: tollgateAdmin, userId: 'usr_padmin', role: 'owner' })
        .then([set('usr_padmin', 'owner')]);
      given(projectDecider, withTwoOwners)
        .when({ type: 'RemoveCollaborator', by: tollgateAdmin, userId: 'usr_owner' })
        .then([removed('usr_owner')]);
    });
  });

  it('a stale If-Match is a version conflict', () => {
    given(projectDecider, [created, set('usr_viewer', 'viewer')])
      .when({ type: 'SetCollaborator', by: owner, userId: 'usr_x', role: 'viewer', ifMatch: 1 })
      .thenThrows('version-conflict');
    given(projectDecider, [created, set('usr_viewer', 'viewer')])
      .when({ type: 'SetCollaborator', by: owner, userId: 'usr_x', role: 'viewer', ifMatch: 2 })
      .then([set('usr_x', 'viewer')]);
  });
});
