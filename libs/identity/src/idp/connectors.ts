import { constantTimeEqualHex, hashSecret, IssuerRegistry, TokenVerifier } from '@tollgate/authn';
import type { IdpConnectorConfig, OidcConnectorConfig } from '@tollgate/config';
import { MAX_GROUPS_PER_USER } from '../domain/actor';
import { GroupOverageClient } from './oidc/group-overage';
import { webhookKey } from './webhooks/signature';

/** One configured IdP connector (`idpConnectors[]`), ready to use: decoded webhook keys, an OIDC verifier. */
export interface Connector {
  id: string;
  /** HMAC keys of the connector's `whsec_` secrets (several during a rotation). */
  webhookKeys: Buffer[];
  scimBearerTokenHash: string | undefined;
  oidc:
    | {
        config: OidcConnectorConfig;
        /** Verifies ID tokens of this connector's issuer only (JWT rules of CONTRACT section 1, `aud` ∋ clientId). */
        verifier: TokenVerifier;
        registry: IssuerRegistry;
        /** Reads the groups of a user whose ID token signals group overage; undefined: not configured. */
        groupOverage: GroupOverageClient | undefined;
      }
    | undefined;
}

export interface ConnectorRegistryOptions {
  /** Receives JWKS fetch failures (the last good key set stays in use; no key at all fails closed). */
  onJwksError?: (connector: string, error: Error) => void;
}

/** The IdP connectors of the configuration, by id and by SCIM bearer token. */
export class ConnectorRegistry {
  private readonly byId = new Map<string, Connector>();

  constructor(configs: readonly IdpConnectorConfig[], options: ConnectorRegistryOptions = {}) {
    configs.forEach((c, i) => {
      let oidc: Connector['oidc'];
      if (c.oidc) {
        const registry = new IssuerRegistry(
          [
            {
              issuer: c.oidc.issuer,
              ...(c.oidc.jwksUri !== undefined
                ? { jwksUri: c.oidc.jwksUri }
                : { jwks: c.oidc.jwks as { keys: Record<string, unknown>[] } }),
              audiences: [c.oidc.clientId],
              algorithms: c.oidc.algorithms,
              subjectClaim: c.oidc.subjectClaim,
              groupsClaim: c.oidc.groupsClaim,
              clockToleranceSeconds: c.oidc.clockToleranceSeconds,
            },
          ],
          { onJwksError: options.onJwksError && ((_issuer, error) => options.onJwksError!(c.id, error)) },
          `idpConnectors[${i}].oidc`,
        );
        const overage = c.oidc.groupOverage;
        oidc = {
          config: c.oidc,
          verifier: new TokenVerifier({ issuers: registry }),
          registry,
          groupOverage:
            overage &&
            new GroupOverageClient({
              ...overage,
              clientId: overage.clientId ?? c.oidc.clientId,
              maxGroups: MAX_GROUPS_PER_USER,
            }),
        };
      }
      this.byId.set(c.id, {
        id: c.id,
        webhookKeys: c.webhookSecrets.map(webhookKey),
        scimBearerTokenHash: c.scimBearerTokenHash,
        oidc,
      });
    });
  }

  all(): Connector[] {
    return [...this.byId.values()];
  }

  get(id: string): Connector | undefined {
    return this.byId.get(id);
  }

  /** The connector whose `scimBearerTokenHash` is the SHA-256 of `token` (every hash compared in constant time). */
  byScimToken(token: string): Connector | undefined {
    const hash = hashSecret(token);
    let found: Connector | undefined;
    for (const connector of this.byId.values()) {
      if (connector.scimBearerTokenHash !== undefined && constantTimeEqualHex(hash, connector.scimBearerTokenHash))
        found ??= connector;
    }
    return found;
  }

  /** Background JWKS refresh for connectors with a remote key set. */
  start(): void {
    for (const c of this.byId.values()) c.oidc?.registry.start();
  }

  stop(): void {
    for (const c of this.byId.values()) c.oidc?.registry.stop();
  }
}
