import { Body, Controller, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiJsonBody, ApiJsonResponse, parseWith } from '@tollgate/platform';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '@tollgate/contracts';
import { EXAMPLES, signInBody, signInResponse, webhookBody, webhookResponse } from '../http/schemas';
import { SignInService } from './oidc/sign-in';
import { RawBody, rawBodyOf } from './raw-body';
import { webhookHeaders } from './webhooks/signature';
import { WebhookService } from './webhooks/webhook.service';

export const SIGN_IN_SERVICE = Symbol('SIGN_IN_SERVICE');
export const WEBHOOK_SERVICE = Symbol('WEBHOOK_SERVICE');

const IDP_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A connector id; one that cannot exist is as unknown as one that does not (404). */
function connectorId(idp: string): string {
  if (!IDP_ID.test(idp)) throw new ApiError('not-found', 'no such IdP connector');
  return idp;
}

/** Inbound routes of IdP connectors: OIDC sign-in and signed webhooks. No Tollgate credential: the IdP's proof is the token or the signature. */
@ApiTags('idp')
@Controller('v1/idp')
export class IdpController {
  constructor(
    @Inject(SIGN_IN_SERVICE) private readonly signIn: SignInService,
    @Inject(WEBHOOK_SERVICE) private readonly webhooks: WebhookService,
  ) {}

  @Post(':idp/sign-in')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in with an OIDC ID token of the connector’s issuer',
    description:
      'Verified against the connector’s issuer (JWKS by `kid`, algorithm allow-list, `iss`, `aud` ∋ clientId, `exp`). The external user linked to (idp, sub) is created at first sign-in as `<idp>:<sub>`; the groups claim replaces their groups (refreshed at `iat`). Returns a Tollgate service token (scope `any`: management API and authorizer). Group overage (`_claim_names`/`hasgroups`): 422 `group-overage-unsupported`.',
  })
  @ApiJsonBody(signInBody, EXAMPLES.signIn)
  @ApiJsonResponse(200, 'Signed in', signInResponse, EXAMPLES.signInResponse)
  @ApiJsonResponse(401, 'A bad ID token: `token-invalid`, `token-expired`, `issuer-untrusted`, `audience-mismatch`')
  @ApiJsonResponse(404, 'No such connector, or no OIDC on it')
  @ApiJsonResponse(422, '`group-overage-unsupported`')
  async postSignIn(@Req() request: FastifyRequest, @Param('idp') idp: string, @Body() body: unknown) {
    const connector = connectorId(idp);
    const { idToken } = parseWith(signInBody, body);
    return this.signIn.signIn(connector, idToken, String(request.id));
  }

  @Post(':idp/webhooks')
  @HttpCode(200)
  @RawBody()
  @ApiOperation({
    summary: 'A signed IdP webhook (Standard Webhooks)',
    description:
      'HMAC-SHA256 over `webhook-id.webhook-timestamp.body` with any of the connector’s `whsec_` secrets, ±5 min. Types: `user.groups.changed` `{ subject, groups }`, `group.member.added` / `group.member.removed` `{ group, subject }`, `group.deleted` `{ group }`, `user.deactivated` `{ subject }`. A `webhook-id` seen in the last 24 h: `{ duplicate: true }`; unknown type or subject: `{ ignored: true }`.',
  })
  @ApiHeader({ name: 'webhook-id', required: true })
  @ApiHeader({ name: 'webhook-timestamp', required: true, description: 'Unix seconds' })
  @ApiHeader({ name: 'webhook-signature', required: true, description: 'Space-separated `v1,<base64>` entries' })
  @ApiJsonBody(webhookBody, EXAMPLES.webhook)
  @ApiJsonResponse(200, '`{ accepted: true }`, `{ duplicate: true }` or `{ ignored: true }`', webhookResponse, {
    accepted: true,
  })
  @ApiJsonResponse(401, '`webhook-signature-invalid` or `webhook-timestamp-invalid`')
  async postWebhook(@Req() request: FastifyRequest, @Param('idp') idp: string) {
    const connector = connectorId(idp);
    return this.webhooks.receive(connector, webhookHeaders(request.headers), rawBodyOf(request), String(request.id));
  }
}
