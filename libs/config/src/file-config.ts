import { ASYMMETRIC_JWS_ALGORITHMS } from '@tollgate/contracts';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The `TOLLGATE_CONFIG` file (YAML or JSON), CONTRACT.md section 5. Unknown fields are errors. */
const httpsOrHttpUrl = z.url({ protocol: /^https?$/ });
const jwks = z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) });
const asymmetricAlgorithm = z.enum(ASYMMETRIC_JWS_ALGORITHMS);

/** Exactly one of `jwksUri` and inline `jwks`: without a key source no token could ever be verified. */
const withKeySource = <T extends { jwksUri?: string; jwks?: unknown }>(value: T, ctx: z.RefinementCtx) => {
  if ((value.jwksUri === undefined) === (value.jwks === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['jwksUri'], message: 'exactly one of jwksUri or jwks is required' });
  }
};

export const trustedIssuerSchema = z
  .strictObject({
    issuer: z.string().min(1),
    jwksUri: httpsOrHttpUrl.optional(),
    jwks: jwks.optional(),
    audiences: z.array(z.string().min(1)).min(1),
    algorithms: z.array(asymmetricAlgorithm).min(1).default(['RS256']),
    subjectClaim: z.string().min(1).default('sub'),
    groupsClaim: z.string().min(1).default('groups'),
    clockToleranceSeconds: z.number().int().min(0).max(600).default(60),
    environment: z.string().min(1).optional(),
    /** Its subjects are this connector's IdP subjects (CONTRACT section 2, "Who the caller is"). */
    idpConnector: z.string().min(1).optional(),
  })
  .superRefine(withKeySource);

const FILE_UNREADABLE = Symbol('unreadable');

/**
 * A client secret given inline or as a file (read once, at start-up, trimmed). An unreadable file is an
 * issue on `clientSecretFile`, never the file's content in a message.
 */
function clientSecretOf(
  value: { clientSecret?: string; clientSecretFile?: string },
  ctx: z.RefinementCtx,
): string | undefined | typeof FILE_UNREADABLE {
  if (value.clientSecretFile === undefined) return value.clientSecret;
  try {
    return readFileSync(value.clientSecretFile, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    ctx.addIssue({ code: 'custom', path: ['clientSecretFile'], message: `cannot read the file (${code})` });
    return FILE_UNREADABLE;
  }
}

/**
 * Entra ID group overage (`_claim_names`/`hasgroups` instead of a groups claim): where the user's groups are
 * read instead. The client secret is given inline or, better, as a file (a mounted Kubernetes Secret); the
 * file is read once, at start-up.
 */
export const groupOverageSchema = z
  .strictObject({
    tokenEndpoint: httpsOrHttpUrl,
    groupsEndpoint: httpsOrHttpUrl.refine((url) => url.includes('%7BuserId%7D') || url.includes('{userId}'), {
      message: 'must contain {userId}, e.g. https://graph.microsoft.com/v1.0/users/{userId}/getMemberObjects',
    }),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    clientSecretFile: z.string().min(1).optional(),
    scope: z.string().min(1).default('https://graph.microsoft.com/.default'),
    userIdClaim: z.string().min(1).default('oid'),
    securityEnabledOnly: z.boolean().default(false),
    timeoutMs: z.number().int().min(100).max(30_000).default(5000),
  })
  .transform((value, ctx) => {
    if ((value.clientSecret === undefined) === (value.clientSecretFile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message: 'exactly one of clientSecret or clientSecretFile',
      });
      return z.NEVER;
    }
    const clientSecret = clientSecretOf(value, ctx);
    if (clientSecret === FILE_UNREADABLE) return z.NEVER;
    const { clientSecretFile: _file, ...rest } = value;
    return { ...rest, clientSecret: clientSecret! };
  });

/**
 * Browser sign-in to the web console with this connector (OIDC authorization code flow with PKCE): the
 * redirect URI registered at the IdP (Tollgate's `GET /v1/idp/{idp}/console/callback` as the browser reaches
 * it), the IdP's endpoints (else read from the issuer's discovery document), and the client secret for a
 * confidential client (none: a public client, PKCE alone). The secret file is read once, at start-up.
 */
export const consoleSignInSchema = z
  .strictObject({
    redirectUri: httpsOrHttpUrl,
    authorizationEndpoint: httpsOrHttpUrl.optional(),
    tokenEndpoint: httpsOrHttpUrl.optional(),
    clientSecret: z.string().min(1).optional(),
    clientSecretFile: z.string().min(1).optional(),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token'))
      .min(1)
      .default(['openid', 'email', 'profile']),
    /** The sign-in button says "Sign in with <name>" (default: the connector id). */
    name: z.string().min(1).max(100).optional(),
  })
  .transform((value, ctx) => {
    if (value.clientSecret !== undefined && value.clientSecretFile !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message: 'at most one of clientSecret or clientSecretFile',
      });
      return z.NEVER;
    }
    if (!value.scopes.includes('openid')) {
      ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'must include openid' });
      return z.NEVER;
    }
    if ((value.authorizationEndpoint === undefined) !== (value.tokenEndpoint === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['authorizationEndpoint'],
        message: 'give both authorizationEndpoint and tokenEndpoint, or neither (discovery)',
      });
      return z.NEVER;
    }
    const clientSecret = clientSecretOf(value, ctx);
    if (clientSecret === FILE_UNREADABLE) return z.NEVER;
    const { clientSecretFile: _file, ...rest } = value;
    return { ...rest, clientSecret };
  });

export const oidcConnectorSchema = z
  .strictObject({
    issuer: z.string().min(1),
    jwksUri: httpsOrHttpUrl.optional(),
    jwks: jwks.optional(),
    clientId: z.string().min(1),
    algorithms: z.array(asymmetricAlgorithm).min(1).default(['RS256', 'ES256', 'EdDSA']),
    subjectClaim: z.string().min(1).default('sub'),
    groupsClaim: z.string().min(1).default('groups'),
    clockToleranceSeconds: z.number().int().min(0).max(600).default(60),
    groupOverage: groupOverageSchema.optional(),
    console: consoleSignInSchema.optional(),
  })
  .superRefine(withKeySource);

export const idpConnectorSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only'),
  webhookSecrets: z.array(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'a whsec_ secret')).default([]),
  scimBearerTokenHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'SHA-256 hex')
    .optional(),
  oidc: oidcConnectorSchema.optional(),
});

/**
 * The operator's gateway, where `POST /v1/deployments/{id}/probe` sends its one request (the console's Test
 * panel shows the model's status code). Only an origin: `http(s)://host[:port]`, no credentials, path, query
 * or fragment, so the probe's request target is exactly the path the caller asked about and nothing a user
 * sends can change where Tollgate connects. Normalized to the origin (`http://127.0.0.1:8000`).
 */
export const gatewayUrlSchema = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/, message: 'must be an http or https URL' }))
  .superRefine((value, ctx) => {
    const url = new URL(value);
    if (url.username || url.password)
      ctx.addIssue({ code: 'custom', message: 'must not hold a user name or password' });
    if (url.pathname !== '/' || url.search || url.hash)
      ctx.addIssue({
        code: 'custom',
        message: 'must be an origin only (scheme, host, port): no path, query or fragment',
      });
  })
  .transform((value) => new URL(value).origin);

export const fileConfigSchema = z
  .strictObject({
    /** The same setting as `TOLLGATE_GATEWAY_URL` (set one of them). */
    gatewayUrl: gatewayUrlSchema.optional(),
    trustedIssuers: z.array(trustedIssuerSchema).default([]),
    idpConnectors: z
      .array(idpConnectorSchema)
      .default([])
      .refine((list) => new Set(list.map((c) => c.id)).size === list.length, 'connector ids must be unique'),
  })
  .superRefine((config, ctx) => {
    // A link to a connector that does not exist would name nobody, silently: refuse it at start-up.
    const ids = new Set(config.idpConnectors.map((c) => c.id));
    config.trustedIssuers.forEach((issuer, i) => {
      if (issuer.idpConnector !== undefined && !ids.has(issuer.idpConnector)) {
        ctx.addIssue({
          code: 'custom',
          path: ['trustedIssuers', i, 'idpConnector'],
          message: `no idpConnectors entry has id "${issuer.idpConnector}"`,
        });
      }
    });
  });

export type TrustedIssuerConfig = z.infer<typeof trustedIssuerSchema>;
export type IdpConnectorConfig = z.infer<typeof idpConnectorSchema>;
export type OidcConnectorConfig = z.infer<typeof oidcConnectorSchema>;
export type GroupOverageConfig = z.infer<typeof groupOverageSchema>;
export type ConsoleSignInConfig = z.infer<typeof consoleSignInSchema>;
export type FileConfig = z.infer<typeof fileConfigSchema>;
