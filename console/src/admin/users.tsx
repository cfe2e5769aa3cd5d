import { useState } from 'preact/hooks';
import { api, query, seg } from '../api';
import { recordAccessReduction } from '../events';
import type { User, UserKind } from '../types';
import { ConfirmButton, ErrorBox, MoreButton, Notice, Section, useAction, useLoad, usePaged } from '../ui';
import { NewUserForm } from './new-user-form';

interface Filters {
  q: string;
  kind: '' | UserKind;
  admin: '' | 'true' | 'false';
  status: '' | 'active' | 'deactivated';
}

const NO_FILTER: Filters = { q: '', kind: '', admin: '', status: '' };

/** Active key counts of every user (all pages: only users with keys are listed). */
async function allKeyCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const { data } = await api<{ counts: { userId: string; active: number }[]; nextCursor: string | null }>(
      'GET',
      `/v1/key-counts${query({ limit: 200, cursor })}`,
    );
    for (const c of data.counts) counts.set(c.userId, c.active);
    cursor = data.nextCursor ?? undefined;
  } while (cursor);
  return counts;
}

/** Users (search by name or email, filter by kind), their active key counts, and deactivation. */
export function Users() {
  const [draft, setDraft] = useState<Filters>(NO_FILTER);
  const [filters, setFilters] = useState<Filters>(NO_FILTER);
  const users = usePaged(
    (cursor) =>
      api<{ users: User[]; nextCursor: string | null }>(
        'GET',
        `/v1/users${query({ limit: 100, ...filters, cursor })}`,
      ).then((a) => ({ items: a.data.users, nextCursor: a.data.nextCursor })),
    [filters.q, filters.kind, filters.admin, filters.status],
  );
  const counts = useLoad(() => allKeyCounts());
  const [notice, setNotice] = useState('');
  const action = useAction();
  const deactivate = (user: User) =>
    action.run(async () => {
      const answer = await api<User>('DELETE', `/v1/users/${seg(user.id)}`);
      recordAccessReduction(`user ${user.name} deactivated`, answer.eventIds);
      setNotice(`${user.name} is deactivated: denied everywhere, their keys revoked.`);
      users.reload();
      // The keys service revokes their keys in reaction to the deactivation: count again once it had time to.
      setTimeout(counts.reload, 2000);
    });

  return (
    <Section title="Users" id="users">
      <form
        class="inline-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ ...draft, q: draft.q.trim() });
        }}
      >
        <div class="field">
          <label for="user-search">Search name or email</label>
          <input
            id="user-search"
            type="search"
            value={draft.q}
            onInput={(e) => setDraft({ ...draft, q: (e.target as HTMLInputElement).value })}
          />
        </div>
        <div class="field">
          <label for="user-kind">Kind</label>
          <select
            id="user-kind"
            value={draft.kind}
            onChange={(e) => setDraft({ ...draft, kind: (e.target as HTMLSelectElement).value as Filters['kind'] })}
          >
            <option value="">any</option>
            <option value="internal">internal</option>
            <option value="external">external</option>
            <option value="machine">machine</option>
          </select>
        </div>
        <div class="field">
          <label for="user-admin">Admins</label>
          <select
            id="user-admin"
            value={draft.admin}
            onChange={(e) => setDraft({ ...draft, admin: (e.target as HTMLSelectElement).value as Filters['admin'] })}
          >
            <option value="">any</option>
            <option value="true">admins</option>
            <option value="false">not admins</option>
          </select>
        </div>
        <div class="field">
          <label for="user-status">Status</label>
          <select
            id="user-status"
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: (e.target as HTMLSelectElement).value as Filters['status'] })}
          >
            <option value="">any</option>
            <option value="active">active</option>
            <option value="deactivated">deactivated</option>
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={users.error ?? counts.error ?? action.error} />
      {notice && <Notice>{notice}</Notice>}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Users</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Admin</th>
              <th scope="col">Email</th>
              <th scope="col">Active keys</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.data?.map((user) => (
              <tr key={user.id} data-user-id={user.id}>
                <th scope="row">
                  {user.name}
                  <br />
                  <code class="muted">{user.id}</code>
                </th>
                <td>{user.kind}</td>
                <td>{user.admin ? 'yes' : 'no'}</td>
                <td>{user.email ?? '—'}</td>
                <td>{counts.data?.get(user.id) ?? 0}</td>
                <td>{user.deactivatedAt ? 'deactivated' : 'active'}</td>
                <td>
                  {!user.deactivatedAt && user.id !== 'usr_admin' && (
                    <ConfirmButton
                      label={`Deactivate ${user.name}`}
                      question={`Deactivate ${user.name}? They are denied everywhere and all their keys are revoked.`}
                      confirmLabel="Yes, deactivate"
                      onConfirm={() => deactivate(user)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {users.data?.length === 0 && <p>No user matches.</p>}
      <MoreButton paged={users} what="users" />
      <NewUserForm onCreated={() => users.reload()} />
    </Section>
  );
}
