import { useState } from 'preact/hooks';
import { api, seg } from '../api';
import { recordAccessReduction } from '../events';
import { ConfirmButton, ErrorBox, Notice, SecretOnce, Section, useAction } from '../ui';

const SLOTS = ['primary', 'secondary'] as const;
type Slot = (typeof SLOTS)[number];

/**
 * A deployment's two access-key slots (Azure's primary and secondary keys): regenerating a slot revokes the
 * key that was in it and shows the new secret once; rotate one slot while clients use the other.
 */
export function AccessKeys({ deploymentId }: { deploymentId: string }) {
  const [secret, setSecret] = useState<{ slot: Slot; accessKey: string } | undefined>(undefined);
  const [notice, setNotice] = useState('');
  const action = useAction();
  const path = (slot: Slot) => `/v1/deployments/${seg(deploymentId)}/access-keys/${slot}`;

  const regenerate = (slot: Slot) =>
    action.run(async () => {
      const answer = await api<{ slot: Slot; keyId: string; accessKey: string }>('POST', path(slot), {
        headers: { 'Idempotency-Key': crypto.randomUUID() },
      });
      recordAccessReduction(`${slot} access key of ${deploymentId} regenerated`, answer.eventIds);
      setNotice('');
      setSecret({ slot, accessKey: answer.data.accessKey });
    });
  const revoke = (slot: Slot) =>
    action.run(async () => {
      const answer = await api('DELETE', path(slot));
      recordAccessReduction(`${slot} access key of ${deploymentId} revoked`, answer.eventIds);
      setSecret(undefined);
      setNotice(`The ${slot} access key is revoked.`);
    });

  return (
    <Section title="Access keys" id="access-keys">
      <p class="hint">
        Clients send an access key as <code>X-Model-Access-Key</code>. Regenerating a slot revokes the key it held.
      </p>
      {secret && (
        <SecretOnce
          title={`New ${secret.slot} access key`}
          secret={secret.accessKey}
          onDone={() => setSecret(undefined)}
        />
      )}
      {notice && <Notice>{notice}</Notice>}
      <ErrorBox error={action.error} />
      <ul class="plain slots">
        {SLOTS.map((slot) => (
          <li key={slot} class="row">
            <strong class="slot-name">{slot}</strong>
            <ConfirmButton
              label={`Regenerate ${slot}`}
              question={`Regenerate the ${slot} key? The key it holds stops working now.`}
              confirmLabel={`Yes, regenerate ${slot}`}
              onConfirm={() => regenerate(slot)}
              disabled={action.busy}
            />
            <ConfirmButton
              label={`Revoke ${slot}`}
              question={`Revoke the ${slot} key?`}
              confirmLabel={`Yes, revoke ${slot}`}
              onConfirm={() => revoke(slot)}
              disabled={action.busy}
            />
          </li>
        ))}
      </ul>
    </Section>
  );
}
