import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deploymentStream, projectStream, userStream } from '@tollgate/contracts';
import type { EventStore, NewEvent } from '@tollgate/event-store';
import type { DirectoryListing } from './directory-listing';

export interface DirectoryListingFixture {
  store: EventStore;
  listing: DirectoryListing;
  close(): Promise<void>;
}

const meta = { metadata: { actor: 'usr_test', channel: 'rest' } };
const T0 = '2026-11-26T06:00:00.000Z';

/**
 * The list queries' contract, run unchanged against every implementation (in memory in unit tests, SQL
 * over `identity.events` in integration tests). Each setup gives a fresh log.
 */
export function describeDirectoryListingContract(name: string, setup: () => Promise<DirectoryListingFixture>): void {
  describe(`DirectoryListing contract: ${name}`, () => {
    let f: DirectoryListingFixture;
    const all = { after: 0, take: 100 };
    const ids = (rows: { streamId: string }[]) => rows.map((r) => r.streamId);
    const admin = { userId: 'usr_root', admin: true };
    const ann = { userId: 'usr_ann', admin: false };
    const bob = { userId: 'usr_bob', admin: false };
    const append = (stream: string, version: number, ...events: NewEvent[]) =>
      f.store.append(stream, version, events, meta);
    const user = (userId: string, name: string, kind: string, email: string | null) =>
      append(userStream(userId), 0, {
        type: 'UserCreated',
        data: { userId, name, kind, admin: false, email, createdAt: T0 },
      });
    const deployment = (deploymentId: string, projectId: string, name: string, hosts: string[]) => ({
      deploymentId,
      projectId,
      name,
      hosts,
      pathPrefixes: ['/'],
      authentication: true,
      credentialKinds: ['api-key'],
      grantedGroups: [],
      environment: null,
    });

    beforeAll(async () => {
      f = await setup();
      await user('usr_ann', 'Ann', 'internal', 'ann@Example.com');
      await user('usr_bob', 'bob', 'machine', null);
      await user('usr_cat', 'corp:cat', 'external', 'cat@corp.example');
      await append(userStream('usr_dee'), 0, {
        type: 'UserCreated',
        data: { userId: 'usr_dee', name: 'dee', kind: 'internal', admin: true, email: null, createdAt: T0 },
      });
      // Bob was deactivated; cat was deactivated and reactivated.
      await append(userStream('usr_bob'), 1, {
        type: 'UserDeactivated',
        data: { userId: 'usr_bob', deactivatedAt: T0 },
      });
      await append(
        userStream('usr_cat'),
        1,
        { type: 'UserDeactivated', data: { userId: 'usr_cat', deactivatedAt: T0 } },
        { type: 'UserReactivated', data: { userId: 'usr_cat', reactivatedAt: T0 } },
      );
      for (const [projectId, ownerId, name] of [
        ['prj_a', 'usr_ann', 'Fraud models'],
        ['prj_b', 'usr_bob', 'Search'],
        ['prj_c', 'usr_bob', 'Fraud archive'],
      ] as const) {
        await append(projectStream(projectId), 0, {
          type: 'ProjectCreated',
          data: { projectId, name, ownerId, createdAt: T0 },
        });
      }
      // Ann joins prj_b, and joins then leaves prj_c.
      await append(projectStream('prj_b'), 1, {
        type: 'CollaboratorSet',
        data: { projectId: 'prj_b', userId: 'usr_ann', role: 'viewer' },
      });
      await append(
        projectStream('prj_c'),
        1,
        { type: 'CollaboratorSet', data: { projectId: 'prj_c', userId: 'usr_ann', role: 'admin' } },
        { type: 'CollaboratorRemoved', data: { projectId: 'prj_c', userId: 'usr_ann' } },
      );
      await append(deploymentStream('dep_1'), 0, {
        type: 'DeploymentCreated',
        data: deployment('dep_1', 'prj_a', 'fraud-v1', ['fraud.models.example.com']),
      });
      await append(deploymentStream('dep_2'), 0, {
        type: 'DeploymentCreated',
        data: deployment('dep_2', 'prj_b', 'search-v1', ['search.example.com']),
      });
      await append(deploymentStream('dep_3'), 0, {
        type: 'DeploymentCreated',
        data: deployment('dep_3', 'prj_c', 'fraud-old', []),
      });
      await append(deploymentStream('dep_1'), 1, {
        type: 'DeploymentUpdated',
        data: deployment('dep_1', 'prj_a', 'risk-v2', ['risk.models.example.com']),
      });
    });
    afterAll(() => f?.close());

    it('users in creation order, by a case-insensitive substring of the name or email, and by kind', async () => {
      expect(ids(await f.listing.users({}, all))).toEqual([
        'user-usr_ann',
        'user-usr_bob',
        'user-usr_cat',
        'user-usr_dee',
      ]);
      expect(ids(await f.listing.users({ q: 'EXAMPLE' }, all))).toEqual(['user-usr_ann', 'user-usr_cat']);
      expect(ids(await f.listing.users({ q: 'bo' }, all))).toEqual(['user-usr_bob']);
      expect(ids(await f.listing.users({ kind: 'external' }, all))).toEqual(['user-usr_cat']);
      expect(ids(await f.listing.users({ q: '%' }, all))).toEqual([]);
    });

    it('users by admin flag and by status now (a reactivated user is active), combined with AND', async () => {
      expect(ids(await f.listing.users({ admin: true }, all))).toEqual(['user-usr_dee']);
      expect(ids(await f.listing.users({ status: 'deactivated' }, all))).toEqual(['user-usr_bob']);
      expect(ids(await f.listing.users({ status: 'active', admin: false }, all))).toEqual([
        'user-usr_ann',
        'user-usr_cat',
      ]);
      expect(ids(await f.listing.users({ status: 'active', kind: 'machine' }, all))).toEqual([]);
    });

    it('pages by creation position: after the last one seen, at most take', async () => {
      const first = await f.listing.users({}, { after: 0, take: 2 });
      expect(ids(first)).toEqual(['user-usr_ann', 'user-usr_bob']);
      expect(first[0]!.position).toBeLessThan(first[1]!.position);
      expect(ids(await f.listing.users({}, { after: first[1]!.position, take: 2 }))).toEqual([
        'user-usr_cat',
        'user-usr_dee',
      ]);
    });

    it('projects the lister collaborates on now (every one for an admin), by name', async () => {
      expect(ids(await f.listing.projects(admin, {}, all))).toEqual([
        'project-prj_a',
        'project-prj_b',
        'project-prj_c',
      ]);
      expect(ids(await f.listing.projects(ann, {}, all))).toEqual(['project-prj_a', 'project-prj_b']);
      expect(ids(await f.listing.projects(bob, { q: 'fraud' }, all))).toEqual(['project-prj_c']);
      expect(ids(await f.listing.projects({ userId: 'usr_cat', admin: false }, {}, all))).toEqual([]);
    });

    it("deployments of the lister's projects, by project and by the current name or a current host", async () => {
      expect(ids(await f.listing.deployments(admin, {}, all))).toEqual([
        'deployment-dep_1',
        'deployment-dep_2',
        'deployment-dep_3',
      ]);
      expect(ids(await f.listing.deployments(ann, {}, all))).toEqual(['deployment-dep_1', 'deployment-dep_2']);
      expect(ids(await f.listing.deployments(ann, { projectId: 'prj_b' }, all))).toEqual(['deployment-dep_2']);
      expect(ids(await f.listing.deployments(ann, { projectId: 'prj_c' }, all))).toEqual([]);
      expect(ids(await f.listing.deployments(admin, { q: 'RISK' }, all))).toEqual(['deployment-dep_1']);
      expect(ids(await f.listing.deployments(admin, { q: 'fraud' }, all))).toEqual(['deployment-dep_3']);
      expect(ids(await f.listing.deployments(admin, { q: 'search.example' }, all))).toEqual(['deployment-dep_2']);
    });
  });
}
