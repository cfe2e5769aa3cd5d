import { ASYMMETRIC_JWS_ALGORITHMS } from '@tollgate/contracts';
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
  })
  .superRefine(withKeySource);

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

export const fileConfigSchema = z.strictObject({
  trustedIssuers: z.array(trustedIssuerSchema).default([]),
  idpConnectors: z
    .array(idpConnectorSchema)
    .default([])
    .refine((list) => new Set(list.map((c) => c.id)).size === list.length, 'connector ids must be unique'),
});

export type TrustedIssuerConfig = z.infer<typeof trustedIssuerSchema>;
export type IdpConnectorConfig = z.infer<typeof idpConnectorSchema>;
export type OidcConnectorConfig = z.infer<typeof oidcConnectorSchema>;
export type FileConfig = z.infer<typeof fileConfigSchema>;
