import { useState } from 'preact/hooks';
import { api, ApiFailure, session } from '../api';
import type { Decision, Deployment, ProbeAnswer } from '../types';
import { ErrorBox, Section, useAction } from '../ui';
import { type ProbeOutcome, probeSentence } from './probe';

type CredentialChoice = 'session' | 'pasted' | 'none';

/** What to send for a pasted credential: an access key as `accessKey`, anything else as a Bearer header. */
export function credentialFields(
  choice: CredentialChoice,
  pasted: string,
): { authorization?: string; accessKey?: string } {
  if (choice === 'none') return {};
  const value = choice === 'session' ? (session.credential ?? '') : pasted.trim();
  if (value.startsWith('tga_')) return { accessKey: value };
  return { authorization: /^(bearer|apikey)\s/i.test(value) ? value : `Bearer ${value}` };
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/**
 * The Test button: sends a credential of the user's choice through the authorizer (`POST /v1/authorize
 * ?explain=true`) and shows the decision, its reason, the rule trace, and the replica that answered with its
 * watermark age; then sends the same request through the operator's gateway (`POST /v1/deployments/{id}/probe`)
 * and shows the model's status code, or why there is none (no gateway configured, gateway unreachable).
 */
export function TestPanel({ deployment }: { deployment: Deployment }) {
  const [choice, setChoice] = useState<CredentialChoice>('pasted');
  const [pasted, setPasted] = useState('');
  const [path, setPath] = useState(deployment.pathPrefixes[0] ?? '/');
  const [method, setMethod] = useState<(typeof METHODS)[number]>('POST');
  const [decision, setDecision] = useState<Decision | undefined>(undefined);
  const [probe, setProbe] = useState<ProbeOutcome | undefined>(undefined);
  const { busy, error, run } = useAction();

  const test = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      setDecision(undefined);
      setProbe(undefined);
      const credential = credentialFields(choice, pasted);
      const { data } = await api<Decision>('POST', '/v1/authorize?explain=true', {
        body: { deployment: deployment.id, path, method, ...credential },
      });
      setDecision(data);
      setProbe(await probeThroughGateway(deployment.id, { path, method, ...credential }));
    });
  };
  const choices: [CredentialChoice, string][] = [
    ['pasted', 'A credential I paste (API key, access key, JWT or token)'],
    ['session', 'The credential I signed in with'],
    ['none', 'No credential'],
  ];
  return (
    <Section title="Test" id="test">
      <form class="stack-form" onSubmit={test}>
        <fieldset>
          <legend>Send as the caller</legend>
          {choices.map(([value, label]) => (
            <span class="checkbox" key={value}>
              <input
                type="radio"
                name="test-credential"
                id={`test-${value}`}
                value={value}
                checked={choice === value}
                onChange={() => setChoice(value)}
              />
              <label for={`test-${value}`}>{label}</label>
            </span>
          ))}
        </fieldset>
        {choice === 'pasted' && (
          <div class="field">
            <label for="test-credential">Credential to test</label>
            <input
              id="test-credential"
              type="password"
              autocomplete="off"
              value={pasted}
              onInput={(e) => setPasted((e.target as HTMLInputElement).value)}
            />
          </div>
        )}
        <div class="field">
          <label for="test-method">Request method</label>
          <select
            id="test-method"
            value={method}
            onChange={(e) => setMethod((e.target as HTMLSelectElement).value as (typeof METHODS)[number])}
          >
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="test-path">Request path</label>
          <input id="test-path" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          Test
        </button>
      </form>
      <ErrorBox error={error} />
      {decision && <DecisionView decision={decision} />}
      {decision && busy && !probe && <p class="muted">Asking the model through the gateway…</p>}
      {decision && probe && (
        <p
          class={probe.kind === 'failed' ? 'error' : probe.kind === 'answered' ? 'notice' : 'muted'}
          role="status"
          data-testid="probe"
        >
          {probeSentence(probe, decision)}
        </p>
      )}
    </Section>
  );
}

/** The same request through the operator's gateway; a failure is an outcome to show, not the panel's error. */
async function probeThroughGateway(
  deploymentId: string,
  body: { path: string; method: string; authorization?: string; accessKey?: string },
): Promise<ProbeOutcome> {
  try {
    const { data } = await api<ProbeAnswer>('POST', `/v1/deployments/${encodeURIComponent(deploymentId)}/probe`, {
      body,
    });
    return { kind: 'answered', answer: data };
  } catch (err) {
    if (!(err instanceof ApiFailure)) throw err;
    return { kind: err.code === 'probe-not-configured' ? 'not-configured' : 'failed', message: err.message };
  }
}

function DecisionView({ decision }: { decision: Decision }) {
  return (
    <div class={`decision ${decision.allowed ? 'allowed' : 'refused'}`} role="status" data-testid="decision">
      <p class="verdict">
        <strong>{decision.allowed ? 'Allowed' : 'Refused'}</strong> · status {decision.status} · reason{' '}
        <code data-testid="decision-reason">{decision.reason}</code>
      </p>
      <dl class="facts">
        {decision.subject && (
          <>
            <dt>Caller</dt>
            <dd>
              <code>{decision.subject}</code>
            </dd>
          </>
        )}
        {decision.keyId && (
          <>
            <dt>Key id</dt>
            <dd>
              <code>{decision.keyId}</code>
            </dd>
          </>
        )}
        {decision.replica && (
          <>
            <dt>Replica</dt>
            <dd>
              <code data-testid="decision-replica">{decision.replica.replicaId}</code>
            </dd>
            <dt>Watermark age</dt>
            <dd>
              {decision.replica.watermarkAgeMs === null ? 'no watermark yet' : `${decision.replica.watermarkAgeMs} ms`}
            </dd>
          </>
        )}
      </dl>
      {decision.trace && (
        <div class="table-wrap">
          <table>
            <caption>Rule trace</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Outcome</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {decision.trace.map((step, i) => (
                <tr key={i} class={`outcome-${step.outcome}`}>
                  <th scope="row">{step.rule}</th>
                  <td>{step.outcome}</td>
                  <td>{step.detail ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
