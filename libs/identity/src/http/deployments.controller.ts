import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import {
  ApiJsonBody,
  ApiJsonResponse,
  ApiPageQuery,
  type Caller,
  CallerGuard,
  CurrentCaller,
  parseWith,
  etag,
  pathId,
} from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DeploymentsService } from '../application/deployments.service';
import { DeploymentProbeService } from '../application/probe.service';
import {
  created,
  IDEMPOTENCY_HEADER,
  idempotencyKeyOf,
  IF_MATCH_HEADER,
  ifMatchOf,
  listPage,
  restContext,
} from './http-helpers';
import {
  createDeploymentBody,
  deploymentListQuery,
  deploymentListResponse,
  deploymentResponse,
  EXAMPLES,
  patchDeploymentBody,
  probeBody,
  probeResponse,
} from './schemas';

@ApiTags('deployments')
@ApiBearerAuth()
@Controller('v1/deployments')
@UseGuards(CallerGuard)
export class DeploymentsController {
  constructor(
    @Inject(DeploymentsService) private readonly deployments: DeploymentsService,
    @Inject(DeploymentProbeService) private readonly probes: DeploymentProbeService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Create a model deployment (project owner or admin, or a Tollgate admin)',
    description:
      'Defaults: `pathPrefixes: ["/"]`, `authentication: true`, all four `credentialKinds`, `grantedGroups: []`. A host + path prefix pair belongs to one deployment (409).',
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiJsonBody(createDeploymentBody, EXAMPLES.createDeployment)
  @ApiJsonResponse(201, 'The deployment', deploymentResponse, EXAMPLES.deployment)
  @ApiJsonResponse(409, 'A host + path prefix pair belongs to another deployment (`conflict`)')
  async create(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ) {
    const input = parseWith(createDeploymentBody, body);
    const result = await this.deployments.createDeployment(
      restContext(caller, request),
      input,
      idempotencyKeyOf(request),
    );
    created(reply, result.replayed, result.view.version);
    return result.view;
  }

  @Get()
  @ApiOperation({
    summary: 'List the deployments of the projects I collaborate on (all for a Tollgate admin), in creation order',
    description:
      'Filters: `projectId`; `q`, a case-insensitive substring of the name or of a host. Each as GET /v1/deployments/{deploymentId} answers it.',
  })
  @ApiQuery({ name: 'projectId', required: false, description: "Only this project's deployments" })
  @ApiQuery({ name: 'q', required: false, description: 'Case-insensitive substring of the name or of a host' })
  @ApiPageQuery()
  @ApiJsonResponse(200, 'A page of deployments', deploymentListResponse, {
    deployments: [EXAMPLES.deployment],
    nextCursor: null,
  })
  @ApiJsonResponse(400, 'A bad filter, limit or cursor (`validation-failed`)')
  async list(@CurrentCaller() caller: Caller, @Req() request: FastifyRequest, @Query() query: unknown) {
    const { projectId, q, ...page } = parseWith(deploymentListQuery, query, 'query');
    const result = await listPage(caller, 'deployments', { projectId, q }, page, (window) =>
      this.deployments.listDeployments(restContext(caller, request), { projectId, q }, window),
    );
    return { deployments: result.items, nextCursor: result.nextCursor };
  }

  @Get(':deploymentId')
  @ApiOperation({ summary: "A deployment (its project's collaborators and Tollgate admins)" })
  @ApiJsonResponse(200, 'The deployment; `ETag: "<version>"`', deploymentResponse, EXAMPLES.deployment)
  async get(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('deploymentId') deploymentId: string,
  ) {
    const view = await this.deployments.getDeployment(restContext(caller, request), pathId(deploymentId, 'deployment'));
    void reply.header('ETag', etag(view.version));
    return view;
  }

  @Patch(':deploymentId')
  @ApiOperation({ summary: 'Change any field but projectId (project owner or admin, or a Tollgate admin)' })
  @ApiHeader(IF_MATCH_HEADER)
  @ApiJsonBody(patchDeploymentBody, EXAMPLES.patchDeployment)
  @ApiJsonResponse(200, 'The deployment', deploymentResponse, {
    ...EXAMPLES.deployment,
    grantedGroups: ['ml-readers', 'fraud-analysts'],
    version: 2,
  })
  @ApiJsonResponse(412, 'Stale `If-Match` (`version-conflict`)')
  async patch(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('deploymentId') deploymentId: string,
    @Body() body: unknown,
  ) {
    const changes = parseWith(patchDeploymentBody, body);
    const view = await this.deployments.updateDeployment(
      restContext(caller, request),
      pathId(deploymentId, 'deployment'),
      changes,
      ifMatchOf(request),
    );
    void reply.header('ETag', etag(view.version));
    return view;
  }

  @Post(':deploymentId/probe')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Send one request to the deployment through the operator's gateway (its project's collaborators and Tollgate admins)",
    description:
      "For the console's Test panel: Tollgate sends `method path` (default `GET`) to the gateway the operator configured (`TOLLGATE_GATEWAY_URL`, never a URL from the request) with `Host` the deployment's first host (or `host`, one of its hosts), the given `Authorization` value or access key (`X-Model-Access-Key`), no body, a 5 s limit, and no redirect followed; it answers the status and the time to the response headers. The response body is never read or returned. No gateway configured, or a deployment without hosts: 409 `probe-not-configured`. Gateway unreachable: 502 `gateway-unreachable`; no answer within 5 s: 504 `gateway-timeout`. 30 probes a minute per caller (429 `rate-limited`).",
  })
  @ApiJsonBody(probeBody, EXAMPLES.probe)
  @ApiJsonResponse(200, "The gateway's answer", probeResponse, EXAMPLES.probeResult)
  @ApiJsonResponse(400, 'A path not under one of the prefixes, or a host not one of the hosts (`validation-failed`)')
  @ApiJsonResponse(404, 'No such deployment, or one the caller may not see (`not-found`)')
  @ApiJsonResponse(409, 'No gateway configured, or a deployment without hosts (`probe-not-configured`)')
  @ApiJsonResponse(429, 'Too many probes (`rate-limited`, `Retry-After`)')
  @ApiJsonResponse(502, 'The gateway could not be reached (`gateway-unreachable`)')
  @ApiJsonResponse(504, 'The gateway did not answer within 5 s (`gateway-timeout`)')
  async probe(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Param('deploymentId') deploymentId: string,
    @Body() body: unknown,
  ) {
    const input = parseWith(probeBody, body);
    return this.probes.probe(restContext(caller, request), pathId(deploymentId, 'deployment'), input);
  }
}
