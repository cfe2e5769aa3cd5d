import { useState } from 'preact/hooks';
import { api } from '../api';
import { daysFromNow } from '../format';
import type { CreatedKey, KeyPolicy, KeyScope } from '../types';
import { ErrorBox, useAction, useLoad } from '../ui';

/** Create a key with a name, a scope and a lifetime within the key policy (the server enforces it too). */
export function CreateKeyForm({ onCreated }: { onCreated: (key: CreatedKey) => void }) {
  const policy = useLoad(() => api<KeyPolicy>('GET', '/v1/key-policy').then((a) => a.data));
  const [name, setName] = useState('');
  const [scope, setScope] = useState<KeyScope>('inference');
  const [days, setDays] = useState<string>('');
  const [never, setNever] = useState(false);
  const { busy, error, run } = useAction();
  const max = policy.data?.maxLifetimeDays ?? undefined;
  const lifetime = days || String(policy.data?.defaultLifetimeDays ?? 30);

  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const expiresAt = never ? null : daysFromNow(Number(lifetime));
      const { data } = await api<CreatedKey>('POST', '/v1/keys', {
        body: { name: name.trim(), scope, expiresAt },
        headers: { 'Idempotency-Key': crypto.randomUUID() },
      });
      setName('');
      onCreated(data);
    });
  };

  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create a key">
      <div class="field">
        <label for="key-name">Key name</label>
        <input
          id="key-name"
          required
          maxLength={200}
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="key-scope">Scope</label>
        <select
          id="key-scope"
          value={scope}
          onChange={(e) => setScope((e.target as HTMLSelectElement).value as KeyScope)}
        >
          <option value="inference">inference (call models)</option>
          <option value="management">management (this API, CLI)</option>
        </select>
      </div>
      <div class="field">
        <label for="key-days">Expires in (days)</label>
        <input
          id="key-days"
          type="number"
          min={1}
          max={max}
          required={!never}
          disabled={never}
          value={lifetime}
          aria-describedby="key-days-hint"
          onInput={(e) => setDays((e.target as HTMLInputElement).value)}
        />
        <span id="key-days-hint" class="hint">
          {policy.data
            ? max === undefined
              ? `Default ${policy.data.defaultLifetimeDays}; no maximum.`
              : `Default ${policy.data.defaultLifetimeDays}, at most ${max} (key policy).`
            : ''}
        </span>
      </div>
      {policy.data && policy.data.maxLifetimeDays === null && (
        <div class="field checkbox">
          <input
            id="key-never"
            type="checkbox"
            checked={never}
            onChange={(e) => setNever((e.target as HTMLInputElement).checked)}
          />
          <label for="key-never">Never expires</label>
        </div>
      )}
      <button type="submit" class="primary" disabled={busy}>
        Create key
      </button>
      <ErrorBox error={error ?? policy.error} />
    </form>
  );
}
