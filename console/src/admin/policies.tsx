import { useState } from 'preact/hooks';
import { api } from '../api';
import { recordAccessReduction } from '../events';
import type { ExternalAccessPolicy, KeyPolicy } from '../types';
import { ErrorBox, Notice, Section, useAction, useLoad } from '../ui';

/** The key policy and the external-access (login-age) policy, each saved with If-Match. */
export function Policies() {
  const keyPolicy = useLoad(() => api<KeyPolicy>('GET', '/v1/key-policy').then((a) => a.data));
  const external = useLoad(() => api<ExternalAccessPolicy>('GET', '/v1/external-access-policy').then((a) => a.data));
  return (
    <Section title="Policies" id="policies">
      <ErrorBox error={keyPolicy.error ?? external.error} />
      {keyPolicy.data && (
        <KeyPolicyForm key={keyPolicy.data.version} policy={keyPolicy.data} onSaved={keyPolicy.reload} />
      )}
      {external.data && <ExternalForm key={external.data.version} policy={external.data} onSaved={external.reload} />}
    </Section>
  );
}

function KeyPolicyForm({ policy, onSaved }: { policy: KeyPolicy; onSaved: () => void }) {
  const [defaultDays, setDefaultDays] = useState(String(policy.defaultLifetimeDays));
  const [maxDays, setMaxDays] = useState(policy.maxLifetimeDays === null ? '' : String(policy.maxLifetimeDays));
  const [tokenSeconds, setTokenSeconds] = useState(String(policy.maxServiceTokenLifetimeSeconds ?? 3600));
  const [saved, setSaved] = useState('');
  const { busy, error, run } = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      await api('PUT', '/v1/key-policy', {
        body: {
          defaultLifetimeDays: Number(defaultDays),
          maxLifetimeDays: maxDays === '' ? null : Number(maxDays),
          maxServiceTokenLifetimeSeconds: Number(tokenSeconds),
        },
        headers: { 'If-Match': `"${policy.version}"` },
      });
      setSaved('Key policy saved.');
      onSaved();
    });
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby="key-policy-heading">
      <h3 id="key-policy-heading">Key policy</h3>
      <div class="field">
        <label for="policy-default">Default lifetime (days)</label>
        <input
          id="policy-default"
          type="number"
          min={1}
          required
          value={defaultDays}
          onInput={(e) => setDefaultDays((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="policy-max">Maximum lifetime (days, empty: none)</label>
        <input
          id="policy-max"
          type="number"
          min={1}
          value={maxDays}
          onInput={(e) => setMaxDays((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="policy-token-seconds">Machine users' longest service token (seconds)</label>
        <input
          id="policy-token-seconds"
          type="number"
          min={3600}
          max={86400}
          required
          value={tokenSeconds}
          aria-describedby="policy-token-seconds-hint"
          onInput={(e) => setTokenSeconds((e.target as HTMLInputElement).value)}
        />
        <span id="policy-token-seconds-hint" class="hint">
          3600–86400; other users always get at most 3600.
        </span>
      </div>
      <button type="submit" disabled={busy}>
        Save key policy
      </button>
      {saved && <Notice>{saved}</Notice>}
      <ErrorBox error={error} />
    </form>
  );
}

function ExternalForm({ policy, onSaved }: { policy: ExternalAccessPolicy; onSaved: () => void }) {
  const [hours, setHours] = useState(String(policy.requireExternalUserLoginAfterHours));
  const [saved, setSaved] = useState('');
  const { busy, error, run } = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const answer = await api('PUT', '/v1/external-access-policy', {
        body: { requireExternalUserLoginAfterHours: Number(hours) },
        headers: { 'If-Match': `"${policy.version}"` },
      });
      recordAccessReduction('external-access policy changed', answer.eventIds);
      setSaved('External-access policy saved.');
      onSaved();
    });
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby="external-policy-heading">
      <h3 id="external-policy-heading">External access</h3>
      <div class="field">
        <label for="policy-hours">External users must have signed in within (hours)</label>
        <input
          id="policy-hours"
          type="number"
          min={-1}
          max={87600}
          required
          value={hours}
          aria-describedby="policy-hours-hint"
          onInput={(e) => setHours((e.target as HTMLInputElement).value)}
        />
        <span id="policy-hours-hint" class="hint">
          -1: no limit; 0: external access disabled everywhere.
        </span>
      </div>
      <button type="submit" disabled={busy}>
        Save external-access policy
      </button>
      {saved && <Notice>{saved}</Notice>}
      <ErrorBox error={error} />
    </form>
  );
}
