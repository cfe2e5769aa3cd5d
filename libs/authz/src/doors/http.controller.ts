import { All, Body, Controller, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiJsonBody, ApiJsonResponse } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AUTHZ_DOORS } from '../tokens';
import { authorizeExample, authorizeRequestSchema, explainRequested } from './authorize';
import type { Doors } from './doors';
import type { ForwardAuthResponse } from './forward-auth';

const allowedExample = {
  allowed: true,
  status: 200,
  reason: 'collaborator',
  subject: 'usr_3fK9aB7cD1eF2gH4',
  keyId: 'key_9xY8wV7uT6sR5qP4',
  deployment: 'dep_1aB2cD3eF4gH5iJ6',
};

/** `POST /v1/authorize`: always 200 with the decision (400 only for a malformed request). */
@ApiTags('authz')
@Controller('v1')
export class AuthorizeController {
  constructor(@Inject(AUTHZ_DOORS) private readonly doors: Doors) {}

  @Post('authorize')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Decide whether a request may call a model deployment',
    description:
      'The deployment by `deployment` (its id) or `host` + `path`; `authorization` is the whole `Authorization` header value. ' +
      'Always 200 with the decision; `?explain=true` adds `trace` without changing it.',
  })
  @ApiQuery({ name: 'explain', required: false, schema: { type: 'boolean' } })
  @ApiJsonBody(authorizeRequestSchema, authorizeExample)
  @ApiJsonResponse(200, 'The decision', undefined, allowedExample)
  @ApiJsonResponse(400, 'Malformed request (not JSON, wrong types, neither deployment nor host)')
  authorize(@Body() body: unknown, @Query() query: unknown, @Req() request: FastifyRequest): unknown {
    return this.doors.authorize(body, explainRequested(query), request.id);
  }
}

/** `GET /v1/forward-auth` for nginx `auth_request` and Traefik ForwardAuth. */
@ApiTags('authz')
@Controller('v1')
export class ForwardAuthController {
  constructor(@Inject(AUTHZ_DOORS) private readonly doors: Doors) {}

  @All('forward-auth')
  @ApiOperation({
    summary: 'Forward-auth check (nginx auth_request, Traefik ForwardAuth)',
    description:
      'Reads `Authorization`, `X-Model-Access-Key`, `X-Forwarded-Host` (else `Host`) and `X-Original-URI` (else `X-Forwarded-Uri`). ' +
      "Answers with the decision's status (200, 401, 403 or 503; an unknown deployment is 403) and headers.",
  })
  @ApiJsonResponse(200, 'Allowed; `X-Auth-*` headers name the caller', undefined, {
    allowed: true,
    status: 200,
    reason: 'collaborator',
    message: 'allowed',
  })
  @ApiJsonResponse(401, 'Not authenticated (`WWW-Authenticate`, `X-Ext-Auth-Reason`)')
  @ApiJsonResponse(403, 'Not authorized, or unknown deployment (`X-Ext-Auth-Reason`)')
  @ApiJsonResponse(503, 'authorizer-stale (`Retry-After`)')
  forwardAuth(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void | Promise<void> {
    const result = this.doors.forwardAuth(request.headers, request.raw.rawHeaders, request.id);
    if (result instanceof Promise) return result.then((r) => send(reply, r));
    send(reply, result);
  }
}

function send(reply: FastifyReply, response: ForwardAuthResponse): void {
  void reply.status(response.status).headers(response.headers).header('cache-control', 'no-store').send(response.body);
}
