import { ApiError } from '@tollgate/contracts';
import type { CommandContext } from '../../application/command-context';
import { idpActor } from '../../application/command-context';
import type { UsersService } from '../../application/users.service';
import { characterCount, MAX_GROUP_NAME_LENGTH, MAX_GROUPS_PER_USER } from '../../domain/actor';
import { externalUserName } from '../../domain/user';
import type { ConnectorRegistry } from '../connectors';
import type { GroupOverageClient } from './group-overage';
import type { SignInTokenSigner } from './sign-in-token-signer';

export interface SignInResult {
  user: { id: string; name: string; kind: 'internal' | 'external' | 'machine'; groups: string[] };
  token: string;
  expiresAt: string;
}

const MESSAGES: Record<string, string> = {
  'token-invalid': 'the ID token is invalid',
  'token-expired': 'the ID token has expired',
  'issuer-untrusted': "the ID token was not issued by this connector's OIDC issuer",
  'audience-mismatch': "the ID token's audience does not contain this connector's clientId",
};

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/**
 * `POST /v1/idp/{idp}/sign-in`: verifies an OIDC ID token against the connector's issuer, finds or creates
 * the external user linked to (idp, sub), replaces their groups with the token's groups claim (refreshed at
 * its `iat`), and returns a Tollgate service token for them.
 */
export class SignInService {
  constructor(
    private readonly connectors: ConnectorRegistry,
    private readonly users: UsersService,
    private readonly signer: SignInTokenSigner,
  ) {}

  async signIn(idp: string, idToken: string, requestId: string): Promise<SignInResult> {
    const connector = this.connectors.get(idp);
    if (!connector?.oidc) throw new ApiError('not-found', `no IdP connector ${JSON.stringify(idp)} with OIDC sign-in`);
    const verification = await connector.oidc.verifier.verify(idToken);
    if (!verification.ok) {
      throw new ApiError(
        verification.reason,
        `${MESSAGES[verification.reason] ?? 'the ID token is invalid'}: ${verification.detail}`,
        undefined,
        {
          'WWW-Authenticate': 'Bearer realm="tollgate", error="invalid_token"',
        },
      );
    }
    const token = verification.token;
    const groupsClaim = connector.oidc.config.groupsClaim;
    if (token.issuedAt === undefined) throw new ApiError('token-invalid', 'the ID token is invalid: iat missing');
    const groups = hasGroupOverage(token.claims, groupsClaim)
      ? await this.overageGroups(connector.oidc.groupOverage, token.claims, groupsClaim)
      : (token.groups ?? []);
    if (groups.length > MAX_GROUPS_PER_USER || groups.some((g) => g.length === 0 || g.length > MAX_GROUP_NAME_LENGTH)) {
      throw new ApiError(
        'validation-failed',
        `the ${groupsClaim} claim must hold at most ${MAX_GROUPS_PER_USER} names of 1 to ${MAX_GROUP_NAME_LENGTH} characters`,
        [{ field: `idToken.${groupsClaim}`, message: 'too many or too long group names' }],
      );
    }
    if (characterCount(externalUserName(idp, token.subject)) > 200) {
      throw new ApiError('validation-failed', 'the subject is too long for a Tollgate user name', [
        { field: 'idToken.sub', message: 'too long' },
      ]);
    }

    const context: CommandContext = { actor: idpActor(idp), channel: 'oidc', idp, requestId };
    const email = typeof token.claims.email === 'string' && EMAIL.test(token.claims.email) ? token.claims.email : null;
    const { state: linked } = await this.users.ensureExternalUser(context, idp, token.subject, email);
    if (linked.deactivatedAt !== null) throw new ApiError('forbidden', 'this user is deactivated in Tollgate');
    const state = await this.users.userCommand(context, linked.userId, {
      type: 'ReplaceGroups',
      groups,
      refreshedAt: new Date(token.issuedAt).toISOString(),
    });
    if (state.deactivatedAt !== null) throw new ApiError('forbidden', 'this user is deactivated in Tollgate');
    const signed = await this.signer.sign(state.userId);
    return {
      user: { id: state.userId, name: state.name, kind: state.kind, groups: [...state.groups] },
      token: signed.token,
      expiresAt: new Date(signed.expiresAt).toISOString(),
    };
  }

  private async overageGroups(
    client: GroupOverageClient | undefined,
    claims: Readonly<Record<string, unknown>>,
    groupsClaim: string,
  ): Promise<string[]> {
    if (client) return client.groupsOf(claims);
    throw new ApiError(
      'group-overage-unsupported',
      `the ID token does not carry the "${groupsClaim}" claim itself (group overage: _claim_names/hasgroups) and this connector has no oidc.groupOverage endpoint to read them from: configure one (see docs/idp-setup.md), emit fewer groups (e.g. Entra "groups assigned to the application"), or provision them through SCIM or webhooks`,
    );
  }
}

/** Entra's signals that the groups did not fit in the token: a `_claim_names` pointer, or `hasgroups`. */
export function hasGroupOverage(claims: Readonly<Record<string, unknown>>, groupsClaim: string): boolean {
  const claimNames = claims._claim_names;
  return (
    (claimNames !== null && typeof claimNames === 'object' && Object.hasOwn(claimNames, groupsClaim)) ||
    claims.hasgroups === true ||
    claims.hasgroups === 'true'
  );
}
