import { Body, Controller, Get, Header, Headers, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiJsonBody, ApiJsonResponse, parseWith } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { JwksService } from '../service/jwks.service';
import { TokensService } from '../service/tokens.service';
import { ApiErrors, ApiIdempotencyKey, requestMeta, secretResponseHeaders } from './http-support';
import { examples, jwksResponse, tokenBody, tokenResponse } from './schemas';

/** Service tokens: exchange an API key for a short-lived EdDSA JWT; the JWKS to verify them. */
@ApiTags('keys')
@Controller()
export class TokensController {
  constructor(
    @Inject(TokensService) private readonly tokens: TokensService,
    @Inject(JwksService) private readonly signingKeys: JwksService,
  ) {}

  @Post('v1/tokens')
  @HttpCode(201)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Exchange my API key for a service token',
    description:
      "Send the API key (tgi_… or tgm_…) in `Authorization: Bearer` or `ApiKey`. The token (EdDSA, `kid` in the JWKS) carries `sub` (the key owner), `jti`, `scope` (the key's) and `src` (the key id); it lives `expiresInSeconds` (1–3600, default 3600), never beyond its key, and dies with it.",
  })
  @ApiIdempotencyKey()
  @ApiJsonBody(tokenBody, examples.token)
  @ApiJsonResponse(201, 'The token', tokenResponse, examples.tokenResponse)
  @ApiErrors(400, 401, 503)
  async issue(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const meta = requestMeta(request, idempotencyKey);
    const result = await this.tokens.issue(authorization, () => parseWith(tokenBody, body ?? {}), body ?? {}, meta);
    secretResponseHeaders(reply, result.replayed);
    return result.body;
  }

  @Get('.well-known/jwks.json')
  @Header('Cache-Control', 'public, max-age=60')
  @ApiOperation({
    summary: 'Public keys of service tokens (JWKS)',
    description:
      'The keys of every service token: those of `POST /v1/tokens` and those of IdP sign-in. A new key is listed before it signs; an old one stays until its last token has expired.',
  })
  @ApiJsonResponse(200, 'The JWKS', jwksResponse, examples.jwks)
  jwks() {
    return this.signingKeys.jwks();
  }
}
