import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, session } from './api';
import type { Me } from './types';
import { ErrorBox, useAction, useLoad } from './ui';

interface SignInOptions {
  idps: { id: string; name: string }[];
}

/** Why the IdP sign-in came back without a session (the callback's `?signin-error=` codes), in words. */
const IDP_ERRORS: Record<string, string> = {
  'state-mismatch': 'The sign-in could not be matched to this browser (expired or started elsewhere). Start again.',
  'idp-refused': 'The identity provider did not sign you in.',
  'idp-unavailable': 'The identity provider could not be reached. Try again later.',
  'token-exchange-failed': 'Tollgate could not redeem the sign-in with the identity provider. Try again.',
  'sign-in-refused': 'Tollgate refused the identity provider’s answer for this account.',
  'session-unavailable': 'The sign-in finished but its session could not be picked up. Start again.',
};

/**
 * Sign-in: paste a management key (checked with `GET /v1/me` before it is kept, in memory only), or go to an
 * IdP connector's OIDC sign-in, which comes back to `/console/?signin=idp` with a one-time session cookie that
 * `POST /v1/console/session` trades for the service token.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const { busy, error, run, setError } = useAction();
  const options = useLoad(() =>
    api<SignInOptions>('GET', '/v1/console/sign-in-options', { credential: null }).then(
      (a) => a.data,
      () => ({ idps: [] }),
    ),
  );

  useEffect(() => {
    const params = new URLSearchParams(location.search);
    const failure = params.get('signin-error');
    if (params.has('signin') || failure) history.replaceState(null, '', `/console/${location.hash}`);
    if (failure) setError(new Error(IDP_ERRORS[failure] ?? 'The sign-in failed. Start again.'));
    else if (params.get('signin') === 'idp')
      void run(async () => {
        const { data } = await api<{ token: string }>('POST', '/v1/console/session', {
          credential: null,
          headers: { 'X-Tollgate-Console': '1' },
        });
        await finish(data.token);
      });
    // Once, on the page load the IdP callback redirected to.
  }, []);

  const finish = async (credential: string) => {
    const { data } = await api<Me>('GET', '/v1/me', { credential });
    session.signIn(credential);
    onSignedIn(data);
  };

  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const value = key.trim();
      if (!value) throw new ApiFailure(400, 'empty', 'Paste a management key (it starts with tgm_).');
      await finish(value);
      setKey('');
    });
  };

  return (
    <main id="main" class="signin">
      <h1>Sign in to Tollgate</h1>
      {options.data && options.data.idps.length > 0 && (
        <section aria-labelledby="idp-heading" class="card">
          <h2 id="idp-heading">With your identity provider</h2>
          <ul class="plain">
            {options.data.idps.map((idp) => (
              <li key={idp.id}>
                <a class="button primary" href={`/v1/idp/${encodeURIComponent(idp.id)}/console/login`}>
                  Sign in with {idp.name}
                </a>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="key-heading" class="card">
        <h2 id="key-heading">With a management key</h2>
        <form onSubmit={submit}>
          <label for="signin-key">Management key</label>
          <input
            id="signin-key"
            type="password"
            autocomplete="off"
            spellcheck={false}
            placeholder="tgm_…"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
          <p class="hint">
            Kept in this tab’s memory only: reloading the page or signing out forgets it. Create one with{' '}
            <code>POST /v1/keys</code> and scope <code>management</code>.
          </p>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </section>
      <ErrorBox error={error ?? (session.endedBecause ? new Error(session.endedBecause) : undefined)} />
    </main>
  );
}
