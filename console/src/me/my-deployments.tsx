import { api, seg } from '../api';
import type { Deployment, Me } from '../types';
import { CopyButton, Section, useLoad } from '../ui';
import { snippets } from './snippets';

type Invokable = Me['deployments'][number];

/** Hosts and prefixes from `/v1/me` when it names them, else from the deployment (visible to collaborators). */
async function withRoutes(deployment: Invokable): Promise<Invokable> {
  if (deployment.hosts) return deployment;
  try {
    const { data } = await api<Deployment>('GET', `/v1/deployments/${seg(deployment.id)}`);
    return { ...deployment, hosts: data.hosts, pathPrefixes: data.pathPrefixes };
  } catch {
    return deployment;
  }
}

/** The deployments I may invoke now, each with its host, path prefix and client snippets. */
export function MyDeployments({ me }: { me: Me }) {
  const routed = useLoad(() => Promise.all(me.deployments.map(withRoutes)), [me]);
  const list = routed.data ?? me.deployments;
  return (
    <Section title="Deployments I may invoke" id="invokable">
      {list.length === 0 && <p>No deployment lets you in yet: ask a project owner, or a group grant.</p>}
      {list.map((deployment) => {
        const host = deployment.hosts?.[0];
        const prefix = deployment.pathPrefixes?.[0] ?? '/';
        return (
          <article key={deployment.id} class="deployment-card" aria-labelledby={`inv-${deployment.id}`}>
            <h3 id={`inv-${deployment.id}`}>{deployment.name}</h3>
            <dl class="facts">
              <dt>Host</dt>
              <dd>
                {deployment.hosts?.length ? deployment.hosts.join(', ') : <span class="muted">not visible to you</span>}
              </dd>
              <dt>Path prefix</dt>
              <dd>{deployment.pathPrefixes?.join(', ') ?? <span class="muted">not visible to you</span>}</dd>
              <dt>Deployment id</dt>
              <dd>
                <code>{deployment.id}</code>
              </dd>
            </dl>
            {host && (
              <details>
                <summary>Client snippets</summary>
                {snippets({ host, pathPrefix: prefix, model: deployment.name }).map((snippet) => (
                  <div key={snippet.label} class="snippet">
                    <div class="row">
                      <strong>{snippet.label}</strong>
                      <CopyButton text={snippet.code} label={`Copy ${snippet.label}`} />
                    </div>
                    <pre>
                      <code>{snippet.code}</code>
                    </pre>
                  </div>
                ))}
                <p class="hint">
                  Set <code>TOLLGATE_KEY</code> to one of your inference keys (<code>tgi_…</code>).
                </p>
              </details>
            )}
          </article>
        );
      })}
    </Section>
  );
}
