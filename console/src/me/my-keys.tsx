import { useState } from 'preact/hooks';
import { api, query, seg } from '../api';
import { recordAccessReduction, untilApplied } from '../events';
import { expiresSoon, EXPIRING_SOON_DAYS, when } from '../format';
import type { ApiKey, CreatedKey, Me, RotatedKey } from '../types';
import { ConfirmButton, ErrorBox, MoreButton, Notice, SecretOnce, Section, useAction, usePaged } from '../ui';
import { CreateKeyForm } from './create-key-form';

/** How long the old key keeps working after a rotation (seconds; the API takes 0–604800, default 3600). */
const OVERLAPS: [number, string][] = [
  [0, 'stops at once'],
  [3600, 'works 1 more hour'],
  [86_400, 'works 1 more day'],
  [604_800, 'works 7 more days'],
];

/**
 * Rotate one key: choose how long the old key keeps working, then confirm. The new key's secret is shown once
 * by the caller, like a created key's.
 */
function RotateButton({
  apiKey,
  onRotate,
}: {
  apiKey: ApiKey;
  onRotate: (overlapSeconds: number) => void | Promise<void>;
}) {
  const [asking, setAsking] = useState(false);
  const [overlap, setOverlap] = useState(3600);
  if (!asking)
    return (
      <button type="button" onClick={() => setAsking(true)}>
        Rotate {apiKey.name}
      </button>
    );
  const id = `overlap-${apiKey.keyId}`;
  return (
    <span class="confirm" role="group" aria-label={`Rotate ${apiKey.name}`}>
      <label for={id}>Old key</label>
      <select id={id} value={overlap} onChange={(e) => setOverlap(Number((e.target as HTMLSelectElement).value))}>
        {OVERLAPS.map(([seconds, text]) => (
          <option key={seconds} value={seconds}>
            {text}
          </option>
        ))}
      </select>
      <button
        type="button"
        class="primary"
        onClick={() => {
          setAsking(false);
          void onRotate(overlap);
        }}
      >
        Yes, rotate
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** My API keys: create or rotate (the secret once), revoke one, revoke all; keys expiring soon stand out. */
export function MyKeys({ me }: { me: Me }) {
  const keys = usePaged((cursor) =>
    api<{ keys: ApiKey[]; nextCursor: string | null }>('GET', `/v1/keys${query({ limit: 100, cursor })}`).then((a) => ({
      items: a.data.keys,
      nextCursor: a.data.nextCursor,
    })),
  );
  const [created, setCreated] = useState<CreatedKey | undefined>(undefined);
  const [notice, setNotice] = useState('');
  const action = useAction();

  const revoke = (key: ApiKey) =>
    action.run(async () => {
      const answer = await api('DELETE', `/v1/keys/${seg(key.keyId)}`);
      recordAccessReduction(`key ${key.name} (${key.keyId}) revoked`, answer.eventIds);
      if (!(await untilApplied(answer.eventIds))) return;
      setNotice(`Key ${key.name} revoked.`);
      keys.reload();
    });
  const rotate = (key: ApiKey, overlapSeconds: number) =>
    action.run(async () => {
      const answer = await api<RotatedKey>('POST', `/v1/keys/${seg(key.keyId)}/rotate`, {
        body: { overlapSeconds },
        headers: { 'Idempotency-Key': crypto.randomUUID() },
      });
      // The KeyRotated (the last id) is what takes the old key away; the new key's creation takes nothing.
      recordAccessReduction(`key ${key.name} (${key.keyId}) rotated`, answer.data.eventIds.slice(-1));
      setCreated(answer.data);
      setNotice(`Key ${key.name} rotated: the old key stops working at ${when(answer.data.previousKeyRevokesAt)}.`);
      keys.reload();
    });
  const revokeAll = () =>
    action.run(async () => {
      const answer = await api<{ revoked: number }>('DELETE', `/v1/users/${seg(me.id)}/keys`);
      recordAccessReduction(`all keys of ${me.name} revoked`, answer.eventIds);
      if (!(await untilApplied(answer.eventIds))) return;
      setNotice(`${answer.data.revoked} key(s) revoked.`);
      keys.reload();
    });

  const active = keys.data?.filter((key) => key.status === 'active') ?? [];
  return (
    <Section title="My API keys" id="keys">
      {created?.key && (
        <SecretOnce title={`New key “${created.name}”`} secret={created.key} onDone={() => setCreated(undefined)} />
      )}
      <CreateKeyForm
        onCreated={(key) => {
          setNotice('');
          setCreated(key);
          keys.reload();
        }}
      />
      <ErrorBox error={keys.error ?? action.error} />
      {notice && <Notice>{notice}</Notice>}
      {keys.data && keys.data.length === 0 && <p>You have no keys yet.</p>}
      {keys.data && keys.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">My API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scope</th>
                <th scope="col">Status</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Key id</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => {
                const soon = key.status === 'active' && expiresSoon(key.expiresAt);
                return (
                  <tr key={key.keyId} class={soon ? 'soon' : undefined} data-key-id={key.keyId}>
                    <th scope="row">{key.name}</th>
                    <td>{key.scope}</td>
                    <td>
                      {key.status}
                      {key.status === 'active' && key.successorKeyId && (
                        <span class="badge warn" title={key.revokesAt ?? undefined}>
                          rotated: stops {key.revokesAt ? when(key.revokesAt) : 'soon'}
                        </span>
                      )}
                    </td>
                    <td title={key.expiresAt ?? undefined}>
                      {key.expiresAt ? when(key.expiresAt) : 'never'}
                      {soon && (
                        <span class="badge warn" title={`within ${EXPIRING_SOON_DAYS} days`}>
                          expires soon
                        </span>
                      )}
                    </td>
                    <td class="last-used" title={key.lastUsedAt ?? undefined}>
                      {/* Reported to the minute: the minute, not a relative time that would pretend more. */}
                      {key.lastUsedAt ? when(key.lastUsedAt) : 'never'}
                    </td>
                    <td>
                      <code>{key.keyId}</code>
                    </td>
                    <td class="actions">
                      {/* A rotated key is rotated once: its successor is the one to rotate next (the API answers 409). */}
                      {key.status === 'active' && !key.successorKeyId && (
                        <RotateButton apiKey={key} onRotate={(o) => rotate(key, o)} />
                      )}
                      {key.status === 'active' && (
                        <ConfirmButton
                          label={`Revoke ${key.name}`}
                          question={`Revoke “${key.name}”? Calls with it are refused from now on.`}
                          confirmLabel="Yes, revoke"
                          onConfirm={() => revoke(key)}
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <MoreButton paged={keys} what="keys" />
      {active.length > 0 && (
        <p>
          <ConfirmButton
            label="Revoke all my keys"
            question={`Revoke all ${active.length} active key(s)? If you signed in with one of them, you will be signed out.`}
            confirmLabel="Yes, revoke all"
            onConfirm={revokeAll}
          />
        </p>
      )}
    </Section>
  );
}
