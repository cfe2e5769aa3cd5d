import { describe, expect, it } from '@jest/globals';
import { ADMIN, errorCode as code, inMemoryDirectory } from '../testing/in-memory-directory';
import type { CommandContext } from './command-context';

/** Two teams: ann owns project a, bob owns project b. */
async function teams() {
  const d = inMemoryDirectory();
  const as = (userId: string): CommandContext => ({ actor: { userId, admin: false }, channel: 'rest' });
  const user = async (name: string) =>
    as((await d.users.createUser(ADMIN, { name, kind: 'internal', admin: false, email: null })).view.id);
  const ann = await user('ann');
  const bob = await user('bob');
  const a = (await d.projects.createProject(ann, { name: 'a' })).view.id;
  const b = (await d.projects.createProject(bob, { name: 'b' })).view.id;
  return { d, ann, bob, a, b };
}

describe('DeploymentsService (in-memory stores)', () => {
  it('creates with the defaults; only managers of the project may, and others do not see it', async () => {
    const { d, ann, bob, a } = await teams();
    const created = await d.deployments.createDeployment(ann, { projectId: a, name: 'fraud' });
    expect(created.view).toMatchObject({ projectId: a, name: 'fraud', hosts: [], pathPrefixes: ['/'], version: 1 });
    expect(await code(d.deployments.createDeployment(bob, { projectId: a, name: 'x' }))).toBe('not-found');
    await d.projects.setCollaborator(ann, a, bob.actor.userId, 'viewer');
    expect(await code(d.deployments.createDeployment(bob, { projectId: a, name: 'x' }))).toBe('forbidden');
    expect((await d.deployments.getDeployment(bob, created.view.id)).name).toBe('fraud');
  });

  it("a host belongs to the project that first named it: another team's deployment on it is 409", async () => {
    const { d, ann, bob, a, b } = await teams();
    await d.deployments.createDeployment(ann, { projectId: a, name: 'fraud', hosts: ['models.example.com'] });
    expect(
      await code(
        d.deployments.createDeployment(bob, {
          projectId: b,
          name: 'x',
          hosts: ['models.example.com'],
          pathPrefixes: ['/b'],
        }),
      ),
    ).toBe('conflict');
    // A Tollgate admin may put a deployment of another project there, on a free prefix.
    const placed = await d.deployments.createDeployment(ADMIN, {
      projectId: b,
      name: 'y',
      hosts: ['MODELS.example.com.'],
      pathPrefixes: ['/b'],
    });
    expect(placed.view.name).toBe('y');
  });

  it('a host and path prefix route to one deployment; a refused creation or update keeps no reservation', async () => {
    const { d, ann, a } = await teams();
    const one = await d.deployments.createDeployment(ann, { projectId: a, name: 'one', hosts: ['m.example.com'] });
    expect(
      await code(d.deployments.createDeployment(ann, { projectId: a, name: 'two', hosts: ['m.example.com'] })),
    ).toBe('conflict');
    const two = await d.deployments.createDeployment(ann, {
      projectId: a,
      name: 'two',
      hosts: ['m.example.com'],
      pathPrefixes: ['/v2'],
    });
    expect(await code(d.deployments.updateDeployment(ann, two.view.id, { pathPrefixes: ['/'] }))).toBe('conflict');
    // Moving one away frees its route for two.
    await d.deployments.updateDeployment(ann, one.view.id, { pathPrefixes: ['/v1'] });
    const moved = await d.deployments.updateDeployment(ann, two.view.id, { pathPrefixes: ['/'] }, 1);
    expect(moved).toMatchObject({ pathPrefixes: ['/'], version: 2 });
    expect(await code(d.deployments.updateDeployment(ann, two.view.id, { name: 'late' }, 1))).toBe('version-conflict');
  });

  it("lists the deployments of the caller's projects", async () => {
    const { d, ann, bob, a, b } = await teams();
    const mine = await d.deployments.createDeployment(ann, { projectId: a, name: 'fraud' });
    const theirs = await d.deployments.createDeployment(bob, { projectId: b, name: 'search' });
    const window = { after: 0, limit: 10 };
    expect((await d.deployments.listDeployments(ann, {}, window)).items.map((x) => x.id)).toEqual([mine.view.id]);
    expect((await d.deployments.listDeployments(ADMIN, { q: 'SEA' }, window)).items.map((x) => x.id)).toEqual([
      theirs.view.id,
    ]);
  });
});
