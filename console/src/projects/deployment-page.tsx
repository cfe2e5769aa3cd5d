import { useState } from 'preact/hooks';
import { api, seg } from '../api';
import { recordAccessReduction } from '../events';
import { href } from '../router';
import type { Deployment } from '../types';
import { ErrorBox, Notice, Section, useLoad } from '../ui';
import { AccessKeys } from './access-keys';
import { DeploymentForm } from './deployment-form';
import { TestPanel } from './test-panel';

/** One deployment: its settings (PATCH with If-Match), its access-key slots and the Test panel. */
export function DeploymentPage({ deploymentId }: { deploymentId: string }) {
  const deployment = useLoad(
    () => api<Deployment>('GET', `/v1/deployments/${seg(deploymentId)}`).then((a) => a.data),
    [deploymentId],
  );
  const [saved, setSaved] = useState('');
  const d = deployment.data;
  return (
    <>
      {d && (
        <p>
          <a href={href('projects', d.projectId)}>← Project</a>
        </p>
      )}
      <h1>{d?.name ?? 'Deployment'}</h1>
      <ErrorBox error={deployment.error} />
      {d && (
        <>
          <p class="lede">
            <code>{d.id}</code> · {d.authentication ? 'authentication on' : 'public (no authentication)'} ·{' '}
            {d.credentialKinds.join(', ')}
          </p>
          <Section title="Settings" id="settings">
            {saved && <Notice>{saved}</Notice>}
            <DeploymentForm
              key={d.version}
              idPrefix="dep"
              initial={d}
              submitLabel="Save changes"
              onSubmit={async (fields) => {
                const answer = await api<Deployment>('PATCH', `/v1/deployments/${seg(d.id)}`, {
                  body: fields,
                  headers: { 'If-Match': `"${d.version}"` },
                });
                recordAccessReduction(`deployment ${d.name} changed`, answer.eventIds);
                setSaved(`Saved (version ${answer.data.version}).`);
                deployment.reload();
              }}
            />
          </Section>
          <AccessKeys deploymentId={d.id} />
          <TestPanel key={d.version} deployment={d} />
        </>
      )}
    </>
  );
}
