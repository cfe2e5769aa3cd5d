import { useState } from 'preact/hooks';
import { listOf } from '../format';
import { CREDENTIAL_KINDS, type CredentialKind, type Deployment } from '../types';
import { ErrorBox, useAction } from '../ui';

export type DeploymentFields = Pick<
  Deployment,
  'name' | 'hosts' | 'pathPrefixes' | 'authentication' | 'credentialKinds' | 'grantedGroups' | 'environment'
>;

/** Name, hosts, path prefixes, authentication, accepted credential kinds, granted groups and environment. */
export function DeploymentForm({
  initial,
  submitLabel,
  onSubmit,
  idPrefix,
}: {
  initial?: Deployment;
  submitLabel: string;
  onSubmit: (fields: DeploymentFields) => Promise<void>;
  idPrefix: string;
}) {
  const [name, setName] = useState(initial?.name ?? '');
  const [hosts, setHosts] = useState(initial?.hosts.join(', ') ?? '');
  const [prefixes, setPrefixes] = useState(initial?.pathPrefixes.join(', ') ?? '/');
  const [authentication, setAuthentication] = useState(initial?.authentication ?? true);
  const [kinds, setKinds] = useState<CredentialKind[]>(initial?.credentialKinds ?? [...CREDENTIAL_KINDS]);
  const [groups, setGroups] = useState(initial?.grantedGroups.join(', ') ?? '');
  const [environment, setEnvironment] = useState(initial?.environment ?? '');
  const { busy, error, run } = useAction();
  const id = (field: string) => `${idPrefix}-${field}`;
  const text = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);

  const submit = (event: Event) => {
    event.preventDefault();
    void run(() =>
      onSubmit({
        name: name.trim(),
        hosts: listOf(hosts),
        pathPrefixes: listOf(prefixes),
        authentication,
        credentialKinds: kinds,
        grantedGroups: listOf(groups),
        environment: environment.trim() || null,
      }),
    );
  };
  return (
    <form class="stack-form" onSubmit={submit}>
      <div class="field">
        <label for={id('name')}>Deployment name</label>
        <input id={id('name')} required value={name} onInput={text(setName)} />
      </div>
      <div class="field">
        <label for={id('hosts')}>Hosts (comma-separated)</label>
        <input id={id('hosts')} value={hosts} onInput={text(setHosts)} placeholder="llama.models.example.com" />
      </div>
      <div class="field">
        <label for={id('prefixes')}>Path prefixes (comma-separated)</label>
        <input id={id('prefixes')} required value={prefixes} onInput={text(setPrefixes)} />
      </div>
      <div class="field checkbox">
        <input
          id={id('auth')}
          type="checkbox"
          checked={authentication}
          onChange={(e) => setAuthentication((e.target as HTMLInputElement).checked)}
        />
        <label for={id('auth')}>Authentication required (off: anyone may call it)</label>
      </div>
      <fieldset>
        <legend>Accepted credentials</legend>
        {CREDENTIAL_KINDS.map((kind) => (
          <span class="checkbox" key={kind}>
            <input
              id={id(`kind-${kind}`)}
              type="checkbox"
              checked={kinds.includes(kind)}
              onChange={(e) =>
                setKinds((now) =>
                  (e.target as HTMLInputElement).checked ? [...now, kind] : now.filter((k) => k !== kind),
                )
              }
            />
            <label for={id(`kind-${kind}`)}>{kind}</label>
          </span>
        ))}
      </fieldset>
      <div class="field">
        <label for={id('groups')}>Granted groups (comma-separated)</label>
        <input id={id('groups')} value={groups} onInput={text(setGroups)} />
      </div>
      <div class="field">
        <label for={id('env')}>Environment (optional)</label>
        <input id={id('env')} value={environment} onInput={text(setEnvironment)} />
      </div>
      <button type="submit" class="primary" disabled={busy}>
        {submitLabel}
      </button>
      <ErrorBox error={error} />
    </form>
  );
}
