import { api, query, seg } from '../api';
import { href } from '../router';
import type { Deployment, Project } from '../types';
import { ErrorBox, Section, useLoad } from '../ui';
import { Collaborators } from './collaborators';
import { DeploymentForm } from './deployment-form';

/** One project: its deployments (and a new one) and its collaborators. */
export function ProjectPage({ projectId }: { projectId: string }) {
  const project = useLoad(() => api<Project>('GET', `/v1/projects/${seg(projectId)}`).then((a) => a.data), [projectId]);
  const deployments = useLoad(
    () =>
      api<{ deployments: Deployment[] }>('GET', `/v1/deployments${query({ projectId, limit: 200 })}`).then(
        (a) => a.data.deployments,
      ),
    [projectId],
  );
  return (
    <>
      <p>
        <a href={href('projects')}>← All projects</a>
      </p>
      <h1>{project.data?.name ?? 'Project'}</h1>
      <ErrorBox error={project.error} />
      {project.data && (
        <p class="lede">
          <code>{project.data.id}</code>
        </p>
      )}
      <Section title="Deployments" id="deployments">
        <ErrorBox error={deployments.error} />
        {deployments.data?.length === 0 && <p>No deployments yet.</p>}
        <ul class="plain list">
          {deployments.data?.map((d) => (
            <li key={d.id}>
              <a href={href('deployments', d.id)}>{d.name}</a>{' '}
              <span class="muted">
                {d.hosts.join(', ') || 'no host'} · {d.pathPrefixes.join(', ')} ·{' '}
                {d.authentication ? 'authentication on' : 'public'}
              </span>
            </li>
          ))}
        </ul>
        <details>
          <summary>New deployment</summary>
          <DeploymentForm
            idPrefix="new-dep"
            submitLabel="Create deployment"
            onSubmit={async (fields) => {
              const { data } = await api<Deployment>('POST', '/v1/deployments', {
                body: { projectId, ...fields },
                headers: { 'Idempotency-Key': crypto.randomUUID() },
              });
              location.hash = href('deployments', data.id);
            }}
          />
        </details>
      </Section>
      <Collaborators projectId={projectId} />
    </>
  );
}
