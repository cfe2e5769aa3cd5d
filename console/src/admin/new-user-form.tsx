import { useState } from 'preact/hooks';
import { api } from '../api';
import type { User, UserKind } from '../types';
import { ErrorBox, Notice, useAction } from '../ui';

export function NewUserForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<UserKind>('internal');
  const [email, setEmail] = useState('');
  const [admin, setAdmin] = useState(false);
  const [created, setCreated] = useState('');
  const { busy, error, run } = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const { data } = await api<User>('POST', '/v1/users', {
        body: { name: name.trim(), kind, admin, ...(email.trim() ? { email: email.trim() } : {}) },
        headers: { 'Idempotency-Key': crypto.randomUUID() },
      });
      setCreated(`Created ${data.name} (${data.id}).`);
      setName('');
      setEmail('');
      onCreated();
    });
  };
  return (
    <details>
      <summary>New user</summary>
      <form class="inline-form" onSubmit={submit}>
        <div class="field">
          <label for="new-user-name">Name</label>
          <input
            id="new-user-name"
            required
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="new-user-kind">Kind</label>
          <select
            id="new-user-kind"
            value={kind}
            onChange={(e) => setKind((e.target as HTMLSelectElement).value as UserKind)}
          >
            <option value="internal">internal</option>
            <option value="external">external</option>
            <option value="machine">machine</option>
          </select>
        </div>
        <div class="field">
          <label for="new-user-email">Email (optional)</label>
          <input
            id="new-user-email"
            type="email"
            value={email}
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field checkbox">
          <input
            id="new-user-admin"
            type="checkbox"
            checked={admin}
            onChange={(e) => setAdmin((e.target as HTMLInputElement).checked)}
          />
          <label for="new-user-admin">Tollgate admin</label>
        </div>
        <button type="submit" disabled={busy}>
          Create user
        </button>
      </form>
      {created && <Notice>{created}</Notice>}
      <ErrorBox error={error} />
    </details>
  );
}
