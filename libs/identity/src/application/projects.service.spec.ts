import { describe, expect, it } from '@jest/globals';
import { ADMIN, errorCode as code, inMemoryDirectory } from '../testing/in-memory-directory';
import type { CommandContext } from './command-context';

/** A directory with the built-in admin and users ann (internal) and ext (external), as REST contexts. */
async function directory() {
  const d = inMemoryDirectory();
  await d.users.ensureBuiltInAdmin();
  const as = (userId: string): CommandContext => ({ actor: { userId, admin: false }, channel: 'rest' });
  const ann = as(
    (await d.users.createUser(ADMIN, { name: 'ann', kind: 'internal', admin: false, email: null })).view.id,
  );
  const bob = as(
    (await d.users.createUser(ADMIN, { name: 'bob', kind: 'machine', admin: false, email: null })).view.id,
  );
  const ext = as((await d.users.ensureExternalUser({ ...ADMIN, idp: 'corp' }, 'corp', 'x')).state.userId);
  return { d, ann, bob, ext };
}

describe('ProjectsService (in-memory stores)', () => {
  it('internal and machine users create projects they own; external and deactivated users do not', async () => {
    const { d, ann, bob, ext } = await directory();
    const project = (await d.projects.createProject(ann, { name: 'fraud' })).view;
    expect(await d.projects.collaborators(ann, project.id)).toEqual({
      collaborators: [{ userId: ann.actor.userId, role: 'owner' }],
      version: 1,
    });
    expect((await d.projects.createProject(bob, { name: 'bots' })).view.name).toBe('bots');
    expect(await code(d.projects.createProject(ext, { name: 'mine' }))).toBe('forbidden');
    await d.users.deactivateUser(ADMIN, bob.actor.userId);
    expect(await code(d.projects.createProject(bob, { name: 'again' }))).toBe('forbidden');
  });

  it('a project is invisible to non-collaborators; a collaborator must be an existing user', async () => {
    const { d, ann, bob } = await directory();
    const project = (await d.projects.createProject(ann, { name: 'fraud' })).view;
    expect(await code(d.projects.getProject(bob, project.id))).toBe('not-found');
    expect(await code(d.projects.setCollaborator(ann, project.id, 'usr_nobody', 'viewer'))).toBe('not-found');
    expect(await code(d.projects.setCollaborator(bob, project.id, bob.actor.userId, 'owner'))).toBe('not-found');
    const set = await d.projects.setCollaborator(ann, project.id, bob.actor.userId, 'viewer', 1);
    expect(set).toEqual({ projectId: project.id, userId: bob.actor.userId, role: 'viewer', version: 2 });
    expect((await d.projects.getProject(bob, project.id)).name).toBe('fraud');
    // A stale If-Match is 412's code.
    expect(await code(d.projects.removeCollaborator(ann, project.id, bob.actor.userId, 1))).toBe('version-conflict');
  });

  it("lists the caller's projects with their role; an admin sees all", async () => {
    const { d, ann, bob } = await directory();
    const a = (await d.projects.createProject(ann, { name: 'a' })).view;
    const b = (await d.projects.createProject(bob, { name: 'b' })).view;
    await d.projects.setCollaborator(bob, b.id, ann.actor.userId, 'contributor');
    const window = { after: 0, limit: 10 };
    expect((await d.projects.listProjects(ann, {}, window)).items.map((p) => [p.id, p.role])).toEqual([
      [a.id, 'owner'],
      [b.id, 'contributor'],
    ]);
    expect((await d.projects.listProjects(bob, {}, window)).items.map((p) => p.id)).toEqual([b.id]);
    expect((await d.projects.listProjects(ADMIN, { q: 'A' }, window)).items.map((p) => [p.id, p.role])).toEqual([
      [a.id, null],
    ]);
  });
});
