import { describe, expect, it } from '@jest/globals';
import { ADMIN, errorCode as code, inMemoryDirectory } from '../testing/in-memory-directory';
import type { CommandContext } from './command-context';

const corp: CommandContext = { actor: { userId: 'idp:corp', admin: false }, channel: 'scim', idp: 'corp' };
const ada = { name: 'ada', kind: 'internal' as const, admin: false, email: null };

describe('UsersService (in-memory stores)', () => {
  it('creates the built-in admin once, however often the service starts', async () => {
    const d = inMemoryDirectory();
    await d.users.ensureBuiltInAdmin();
    await d.users.ensureBuiltInAdmin();
    const { state, events } = await d.users.loadUser('usr_admin');
    expect(events).toHaveLength(1);
    expect(state).toMatchObject({ name: 'admin', admin: true, kind: 'internal' });
    expect(await code(d.users.deactivateUser(ADMIN, 'usr_admin'))).toBe('forbidden');
  });

  it('a user name is taken once; only an admin creates users', async () => {
    const d = inMemoryDirectory();
    const first = await d.users.createUser(ADMIN, ada);
    expect(first).toMatchObject({ replayed: false, view: { name: 'ada', version: 1 } });
    expect(await code(d.users.createUser(ADMIN, { ...ada, kind: 'machine' }))).toBe('conflict');
    const someone: CommandContext = { actor: { userId: first.view.id, admin: false }, channel: 'rest' };
    expect(await code(d.users.createUser(someone, { ...ada, name: 'bea' }))).toBe('forbidden');
    // The refused creations left no reservation behind.
    expect(await d.stores.reservations.reserveUserName('bea', 'usr_other')).toEqual({ ok: true });
  });

  it('replays a creation under the same Idempotency-Key, and refuses the key for another body', async () => {
    const d = inMemoryDirectory();
    const first = await d.users.createUser(ADMIN, ada, 'key-1');
    const again = await d.users.createUser(ADMIN, ada, 'key-1');
    expect(again).toEqual({ view: first.view, replayed: true });
    expect(await code(d.users.createUser(ADMIN, { ...ada, name: 'bea' }, 'key-1'))).toBe('idempotency-key-reused');
  });

  it('takes over a name orphaned by a crash between reservation and append, once it is old', async () => {
    const d = inMemoryDirectory();
    await d.stores.reservations.reserveUserName('ada', 'usr_crashed');
    expect(await code(d.users.createUser(ADMIN, ada))).toBe('conflict');
    d.advance(61_000);
    expect((await d.users.createUser(ADMIN, ada)).view.name).toBe('ada');
  });

  it('concurrent first sign-ins of one subject end with one external user, named <idp>:<subject>', async () => {
    const d = inMemoryDirectory();
    const results = await Promise.all([1, 2, 3].map(() => d.users.ensureExternalUser(corp, 'corp', '00u1', null)));
    expect(new Set(results.map((r) => r.state.userId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results[0]!.state).toMatchObject({ name: 'corp:00u1', kind: 'external', admin: false, idp: 'corp' });
    expect((await d.users.linkedUser('corp', '00u1'))?.userId).toBe(results[0]!.state.userId);
    expect(await d.users.linkedUser('other', '00u1')).toBeUndefined();
  });

  it("a group's members follow each change as soon as it is written, and a rename rewrites every member", async () => {
    const d = inMemoryDirectory();
    const { state: one } = await d.users.ensureExternalUser(corp, 'corp', 'u1');
    const { state: two } = await d.users.ensureExternalUser(corp, 'corp', 'u2');
    const at = '2026-11-26T07:00:00.000Z';
    await d.users.userCommand(corp, one.userId, { type: 'EditGroups', add: ['ml'], remove: [], at, refresh: false });
    await d.users.userCommand(corp, two.userId, { type: 'ReplaceGroups', groups: ['ml', 'ops'], refreshedAt: at });
    expect(await d.users.membersOf('corp', 'ml')).toEqual([one.userId, two.userId].sort());
    await d.users.rewriteGroup(corp, 'corp', 'ml', 'ml-readers', { refresh: false });
    expect(await d.users.membersOf('corp', 'ml')).toEqual([]);
    expect(await d.users.membersOf('corp', 'ml-readers')).toEqual([one.userId, two.userId].sort());
    expect((await d.users.loadUser(two.userId)).state.groups).toEqual(['ops', 'ml-readers']);
  });

  it('lists users to admins only, in creation order, a page at a time', async () => {
    const d = inMemoryDirectory();
    for (const name of ['ada', 'bea', 'cy']) await d.users.createUser(ADMIN, { ...ada, name });
    const first = await d.users.listUsers(ADMIN, {}, { after: 0, limit: 2 });
    expect(first.items.map((u) => u.name)).toEqual(['ada', 'bea']);
    const second = await d.users.listUsers(ADMIN, {}, { after: first.next!, limit: 2 });
    expect(second).toMatchObject({ items: [{ name: 'cy' }], next: undefined });
    const someone: CommandContext = { actor: { userId: first.items[0]!.id, admin: false }, channel: 'rest' };
    expect(await code(d.users.listUsers(someone, {}, { after: 0, limit: 2 }))).toBe('forbidden');
  });
});
