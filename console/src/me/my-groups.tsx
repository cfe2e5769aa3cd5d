import { api } from '../api';
import { ago, when } from '../format';
import type { ExternalAccessPolicy, Me } from '../types';
import { ErrorBox, Section, useLoad } from '../ui';

/** What the login-age policy means for me, in words. */
function policyText(hours: number, me: Me): string {
  if (hours === -1) return 'No login-age limit: group grants do not lapse with time.';
  if (hours === 0) return 'External access is disabled everywhere: group grants give no access.';
  const who = me.kind === 'external' ? 'your' : 'an external user’s';
  return `Group grants count only while ${who} groups were refreshed within the last ${hours} h (sign in again to refresh them).`;
}

/** My groups with when each was last refreshed, and the external-access (login-age) policy. */
export function MyGroups({ me, onRefresh }: { me: Me; onRefresh: () => void }) {
  const policy = useLoad(() => api<ExternalAccessPolicy>('GET', '/v1/external-access-policy').then((a) => a.data));
  return (
    <Section title="My groups" id="groups">
      {me.groups.length === 0 ? (
        <p>You are in no groups.</p>
      ) : (
        <ul class="plain groups">
          {me.groups.map((group) => (
            <li key={group.name}>
              <strong>{group.name}</strong>{' '}
              <span class="muted" title={group.refreshedAt ?? undefined}>
                {group.refreshedAt
                  ? `refreshed ${ago(group.refreshedAt)} (${when(group.refreshedAt)})`
                  : 'provisioned by SCIM, never refreshed by a sign-in'}
              </span>
            </li>
          ))}
        </ul>
      )}
      {policy.data && (
        <p>
          <strong>Login-age policy:</strong> {policyText(policy.data.requireExternalUserLoginAfterHours, me)}
        </p>
      )}
      <ErrorBox error={policy.error} />
      <button type="button" onClick={onRefresh}>
        Reload my groups
      </button>
    </Section>
  );
}
