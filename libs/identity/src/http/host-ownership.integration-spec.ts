import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '../../../../test/support';
import { ADMIN_KEY, type IdentityTestApp, startIdentityApp } from '../testing/identity-app';

// A host belongs to the project whose deployment first named it (CONTRACT.md section 3). The finding this
// guards against: any internal user with a project of their own put a deployment with a longer prefix and
// `authentication: false` on another project's host, and longest-prefix routing answered `public` for the
// victim's traffic.
describe('host ownership (real PostgreSQL, identity and authorizer)', () => {
  let app: IdentityTestApp;
  let victim: { id: string; key: string; projectId: string };
  let attacker: { id: string; key: string; projectId: string };

  const owner = async (name: string) => {
    const user = await app.call('POST', '/v1/users', { auth: ADMIN_KEY, body: { name, kind: 'internal' } });
    const key = await app.managementKey(user.body.id);
    const project = await app.call('POST', '/v1/projects', { auth: key, body: { name: `${name}-models` } });
    expect(project.status).toBe(201);
    return { id: user.body.id as string, key, projectId: project.body.id as string };
  };
  const create = (auth: string, body: Record<string, unknown>) =>
    app.call('POST', '/v1/deployments', { auth, body: { name: 'd', ...body } });
  const ownerOf = async (host: string) =>
    (await app.sql<{ project_id: string }>('SELECT project_id FROM identity.host_owners WHERE host = $1', [host]))[0]
      ?.project_id;

  beforeAll(async () => {
    app = await startIdentityApp({ authz: true });
    victim = await owner('victim');
    attacker = await owner('attacker');
    const r = await create(victim.key, { projectId: victim.projectId, hosts: ['llm.victim.example'] });
    expect(r.status).toBe(201);
  });

  afterAll(async () => {
    await app?.close();
  });

  it("refuses a deployment of another project on the victim's host (409), in any case and with a port-free host", async () => {
    for (const host of ['llm.victim.example', 'LLM.Victim.Example', 'llm.victim.example.']) {
      const r = await create(attacker.key, {
        projectId: attacker.projectId,
        hosts: [host],
        pathPrefixes: ['/v1/chat'],
        authentication: false,
      });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('conflict');
      expect(r.body.error.details).toEqual([
        { field: 'hosts', message: 'llm.victim.example belongs to another project' },
      ]);
    }
    // The victim's traffic still reaches the victim's (protected) deployment.
    const decision = await eventually(async () => {
      const d = await app.call('POST', '/v1/authorize', {
        body: { host: 'llm.victim.example', path: '/v1/chat/completions' },
      });
      expect(d.body.reason).toBe('credential-missing');
      return d.body;
    });
    expect(decision).toMatchObject({ allowed: false, status: 401 });
  });

  it('refuses moving a deployment onto the host by PATCH (409), and leaves it unchanged', async () => {
    const own = await create(attacker.key, { projectId: attacker.projectId, hosts: ['attacker.example'] });
    expect(own.status).toBe(201);
    const moved = await app.call('PATCH', `/v1/deployments/${own.body.id}`, {
      auth: attacker.key,
      body: { hosts: ['attacker.example', 'llm.victim.example'], pathPrefixes: ['/v1'], authentication: false },
    });
    expect(moved.status).toBe(409);
    const after = await app.call('GET', `/v1/deployments/${own.body.id}`, { auth: attacker.key });
    expect(after.body).toMatchObject({ hosts: ['attacker.example'], pathPrefixes: ['/'], authentication: true });
  });

  it('lets a Tollgate admin, or someone who manages both projects, share the host', async () => {
    const byAdmin = await create(ADMIN_KEY, {
      projectId: attacker.projectId,
      hosts: ['llm.victim.example'],
      pathPrefixes: ['/shared-by-admin'],
    });
    expect(byAdmin.status).toBe(201);
    // An admin of the victim's project who also owns another project may put that project's deployment on it.
    const both = await owner('both');
    await app.call('PUT', `/v1/projects/${victim.projectId}/collaborators/${both.id}`, {
      auth: victim.key,
      body: { role: 'admin' },
    });
    const shared = await create(both.key, {
      projectId: both.projectId,
      hosts: ['llm.victim.example'],
      pathPrefixes: ['/shared-by-both'],
    });
    expect(shared.status).toBe(201);
    // The host stays the victim project's: neither sharing moves it.
    expect(await ownerOf('llm.victim.example')).toBe(victim.projectId);
  });

  it("a deployment placed on the host by an admin may not widen its routes there without the owner's consent", async () => {
    const placed = await create(ADMIN_KEY, {
      projectId: attacker.projectId,
      hosts: ['llm.victim.example'],
      pathPrefixes: ['/placed'],
    });
    expect(placed.status).toBe(201);
    const widened = await app.call('PATCH', `/v1/deployments/${placed.body.id}`, {
      auth: attacker.key,
      body: { pathPrefixes: ['/placed', '/v1/chat'] },
    });
    expect(widened.status).toBe(409);
    // Changes that add no route on the host remain the attacker project's own business.
    const renamed = await app.call('PATCH', `/v1/deployments/${placed.body.id}`, {
      auth: attacker.key,
      body: { name: 'renamed' },
    });
    expect(renamed.status).toBe(200);
  });

  it('a host its project stopped using stays that project’s', async () => {
    const first = await create(victim.key, { projectId: victim.projectId, hosts: ['moving.victim.example'] });
    expect(first.status).toBe(201);
    const left = await app.call('PATCH', `/v1/deployments/${first.body.id}`, {
      auth: victim.key,
      body: { hosts: ['new.victim.example'] },
    });
    expect(left.status).toBe(200);
    const grab = await create(attacker.key, { projectId: attacker.projectId, hosts: ['moving.victim.example'] });
    expect(grab.status).toBe(409);
    // The owner comes back to it whenever it likes.
    const back = await create(victim.key, { projectId: victim.projectId, hosts: ['moving.victim.example'] });
    expect(back.status).toBe(201);
  });

  it('two projects racing for a fresh host: exactly one project gets it, whatever the prefixes', async () => {
    const racers = await Promise.all(Array.from({ length: 6 }, (_, i) => owner(`racer-${i}`)));
    for (let round = 0; round < 3; round++) {
      const host = `race-${round}.example`;
      const results = await Promise.all(
        racers.map((r, i) =>
          create(r.key, {
            projectId: r.projectId,
            hosts: [host, `own-${round}-${i}.example`],
            pathPrefixes: [`/p${i}`],
          }),
        ),
      );
      const won = results.flatMap((r, i) => (r.status === 201 ? [racers[i]!] : []));
      expect(won).toHaveLength(1);
      expect(results.filter((r) => r.status === 409)).toHaveLength(racers.length - 1);
      expect(await ownerOf(host)).toBe(won[0]!.projectId);
      // A refused creation claims nothing, not even its other, fresh host.
      const loser = racers.findIndex((r) => r !== won[0]);
      expect(await ownerOf(`own-${round}-${loser}.example`)).toBeUndefined();
      const winner = racers.indexOf(won[0]!);
      expect(await ownerOf(`own-${round}-${winner}.example`)).toBe(won[0]!.projectId);
    }
  });
});
