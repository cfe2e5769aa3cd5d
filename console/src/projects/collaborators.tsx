import { useState } from 'preact/hooks';
import { api, seg } from '../api';
import { recordAccessReduction } from '../events';
import { type Collaborator, ROLES } from '../types';
import { ConfirmButton, ErrorBox, Section, useAction, useLoad } from '../ui';

/** A project's collaborators and roles: add or change one (PUT), remove one (the last owner stays). */
export function Collaborators({ projectId }: { projectId: string }) {
  const list = useLoad(
    () => api<Collaborator[]>('GET', `/v1/projects/${seg(projectId)}/collaborators`).then((a) => a.data),
    [projectId],
  );
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState<Collaborator['role']>('contributor');
  const action = useAction();
  const path = (user: string) => `/v1/projects/${seg(projectId)}/collaborators/${seg(user)}`;

  const setRoleOf = (user: string, newRole: string, previous?: string) =>
    action.run(async () => {
      const answer = await api('PUT', path(user), { body: { role: newRole } });
      if (previous) recordAccessReduction(`${user}: ${previous} → ${newRole} in ${projectId}`, answer.eventIds);
      list.reload();
    });
  const remove = (user: string) =>
    action.run(async () => {
      const answer = await api('DELETE', path(user));
      recordAccessReduction(`${user} removed from ${projectId}`, answer.eventIds);
      list.reload();
    });

  return (
    <Section title="Collaborators" id="collaborators">
      <ErrorBox error={list.error ?? action.error} />
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Collaborators</caption>
          <thead>
            <tr>
              <th scope="col">User id</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data?.map((c) => (
              <tr key={c.userId}>
                <th scope="row">
                  <code>{c.userId}</code>
                </th>
                <td>
                  <label class="sr-only" for={`role-${c.userId}`}>
                    Role of {c.userId}
                  </label>
                  <select
                    id={`role-${c.userId}`}
                    value={c.role}
                    onChange={(e) => void setRoleOf(c.userId, (e.target as HTMLSelectElement).value, c.role)}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <ConfirmButton
                    label={`Remove ${c.userId}`}
                    question={`Remove ${c.userId} from the project?`}
                    confirmLabel="Yes, remove"
                    onConfirm={() => remove(c.userId)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form
        class="inline-form"
        aria-label="Add a collaborator"
        onSubmit={(e) => {
          e.preventDefault();
          void setRoleOf(userId.trim(), role).then(() => setUserId(''));
        }}
      >
        <div class="field">
          <label for="collab-user">User id</label>
          <input
            id="collab-user"
            required
            placeholder="usr_…"
            value={userId}
            onInput={(e) => setUserId((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="collab-role">Role</label>
          <select
            id="collab-role"
            value={role}
            onChange={(e) => setRole((e.target as HTMLSelectElement).value as Collaborator['role'])}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" disabled={action.busy}>
          Add or change collaborator
        </button>
      </form>
    </Section>
  );
}
