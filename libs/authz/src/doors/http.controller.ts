import {
  applyDecorators,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Options,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FRESHNESS, type Freshness } from '@tollgate/access-model';
import { ApiJsonBody, ApiJsonResponse, type ServiceContext } from '@tollgate/platform';
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

const explainedExample = {
  ...allowedExample,
  trace: [
    { rule: 'freshness', outcome: 'pass' },
    { rule: 'deployment-known', outcome: 'pass', detail: 'dep_1aB2cD3eF4gH5iJ6' },
    { rule: 'collaborator', outcome: 'allow', detail: 'contributor' },
  ],
  replica: { replicaId: 'authz-1', watermarkAgeMs: 112 },
};

/**
 * `POST /v1/authorize`: always 200 with the decision (400 only for a malformed request). With `?explain=true`
 * the answer also names the replica that decided and how old its watermark was (the console's Test panel).
 */
@ApiTags('authz')
@Controller('v1')
export class AuthorizeController {
  constructor(
    @Inject(AUTHZ_DOORS) private readonly doors: Doors,
    @Inject('AUTHZ_CONTEXT') private readonly context: ServiceContext,
    @Inject(FRESHNESS) private readonly freshness: Freshness,
  ) {}

  @Post('authorize')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Decide whether a request may call a model deployment',
    description:
      'The deployment by `deployment` (its id) or `host` + `path`; `authorization` is the whole `Authorization` header value. ' +
      'Always 200 with the decision; `?explain=true` adds `trace` (the rules evaluated, in order) and `replica` ' +
      '(`replicaId` and `watermarkAgeMs`, null before the first watermark) without changing it.',
  })
  @ApiQuery({ name: 'explain', required: false, schema: { type: 'boolean' } })
  @ApiJsonBody(authorizeRequestSchema, authorizeExample)
  @ApiJsonResponse(200, 'The decision (here explained: with `trace` and `replica`)', undefined, explainedExample)
  @ApiJsonResponse(400, 'Malformed request (not JSON, wrong types, neither deployment nor host)')
  authorize(@Body() body: unknown, @Query() query: unknown, @Req() request: FastifyRequest): unknown {
    const explain = explainRequested(query);
    const decision = this.doors.authorize(body, explain, request.id);
    if (!explain) return decision;
    const withReplica = (d: object) => ({
      ...d,
      replica: {
        replicaId: this.context.config.replicaId,
        watermarkAgeMs: roundedAge(this.freshness.watermarkAgeMs()),
      },
    });
    return decision instanceof Promise ? decision.then(withReplica) : withReplica(decision);
  }
}

/** What every forward-auth method answers (the same check, whatever the method). */
const ForwardAuthOperation = (summary: string) =>
  applyDecorators(
    ApiOperation({
      summary,
      description:
        'Reads `Authorization`, `X-Model-Access-Key`, `X-Forwarded-Host` (else `Host`) and `X-Original-URI` (else `X-Forwarded-Uri`). ' +
        "Answers with the decision's status (200, 401, 403 or 503; an unknown deployment is 403) and headers. Any request body is ignored.",
    }),
    ApiJsonResponse(200, 'Allowed; `X-Auth-*` headers name the caller', undefined, {
      allowed: true,
      status: 200,
      reason: 'collaborator',
      message: 'allowed',
    }),
    ApiJsonResponse(401, 'Not authenticated (`WWW-Authenticate`, `X-Ext-Auth-Reason`)'),
    ApiJsonResponse(403, 'Not authorized, or unknown deployment (`X-Ext-Auth-Reason`)'),
    ApiJsonResponse(
      503,
      '`authorizer-stale`, or `authorizer-overloaded` when the request was shed to keep the event log applied (`Retry-After`)',
    ),
  );

/**
 * `GET /v1/forward-auth` for nginx `auth_request` and Traefik ForwardAuth (both always send GET; HEAD comes
 * with GET). Proxies that keep the client's method (Envoy's HTTP ext_authz) get the same check on the other
 * methods OpenAPI names: one handler each, so the document lists real operations.
 *
 * In the running service `forwardAuthRoute` answers these requests on the bare node:http request before
 * Fastify sees them (same `Doors`, same answers, plus load shedding); these handlers document the route and
 * serve it wherever that route is not installed.
 */
@ApiTags('authz')
@Controller('v1')
export class ForwardAuthController {
  constructor(@Inject(AUTHZ_DOORS) private readonly doors: Doors) {}

  @Get('forward-auth')
  @ForwardAuthOperation('Forward-auth check (nginx auth_request, Traefik ForwardAuth)')
  get(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void | Promise<void> {
    return this.check(request, reply);
  }

  @Post('forward-auth')
  @ForwardAuthOperation('Forward-auth check, for proxies that keep the method')
  post(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void | Promise<void> {
    return this.check(request, reply);
  }

  @Put('forward-auth')
  @ForwardAuthOperation('Forward-auth check, for proxies that keep the method')
  put(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void | Promise<void> {
    return this.check(request, reply);
  }

  @Patch('forward-auth')
  @ForwardAuthOperation('Forward-auth check, for proxies that keep the method')
  patch(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void | Promise<void> {
    return this.check(request, reply);
  }

  @Delete('forward-auth')
  @ForwardAuthOperation('Forward-auth check, for proxies that keep the method')
  delete(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void | Promise<void> {
    return this.check(request, reply);
  }

  @Options('forward-auth')
  @ForwardAuthOperation('Forward-auth check, for proxies that keep the method')
  options(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void | Promise<void> {
    return this.check(request, reply);
  }

  private check(request: FastifyRequest, reply: FastifyReply): void | Promise<void> {
    const result = this.doors.forwardAuth(request.headers, request.raw.rawHeaders, request.id);
    if (result instanceof Promise) return result.then((r) => send(reply, r));
    send(reply, result);
  }
}

function send(reply: FastifyReply, response: ForwardAuthResponse): void {
  void reply.status(response.status).headers(response.headers).header('cache-control', 'no-store').send(response.body);
}

/** Whole milliseconds: the console shows it as is. */
const roundedAge = (ms: number | null): number | null => (ms === null ? null : Math.round(ms));
