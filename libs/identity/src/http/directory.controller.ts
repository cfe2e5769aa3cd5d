import { Body, Controller, Delete, Get, Inject, Param, Patch, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiJsonBody, ApiJsonResponse, type Caller, CallerGuard, CurrentCaller, parseWith } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Directory } from '../application/directory';
import {
  collaboratorBody,
  collaboratorRemovedResponse,
  collaboratorResponse,
  collaboratorsResponse,
  createDeploymentBody,
  createProjectBody,
  createUserBody,
  deploymentResponse,
  EXAMPLES,
  patchDeploymentBody,
  policyBody,
  policyResponse,
  projectResponse,
  userResponse,
} from './schemas';
import { created, etag, idempotencyKeyOf, ifMatchOf, restContext } from './http-helpers';

const idParam = z.string().min(1).max(100);
const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Same key, caller and body within 24 h: the first response is replayed with `Idempotent-Replayed: true`; another body: 422',
};
const IF_MATCH_HEADER = {
  name: 'If-Match',
  required: false,
  description: 'The version (`"<version>"`, the ETag) the change applies to; stale: 412',
};

@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/users')
@UseGuards(CallerGuard)
export class UsersController {
  constructor(@Inject(Directory) private readonly directory: Directory) {}

  @Post()
  @ApiOperation({ summary: 'Create a user (Tollgate admin)' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiJsonBody(createUserBody, EXAMPLES.createUser)
  @ApiJsonResponse(201, 'The user', userResponse, EXAMPLES.user)
  @ApiJsonResponse(409, 'The name is taken (`conflict`)')
  async create(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ) {
    const input = parseWith(createUserBody, body);
    const result = await this.directory.createUser(restContext(caller, request), input, idempotencyKeyOf(request));
    created(reply, result.replayed, result.view.version);
    return result.view;
  }

  @Get(':userId')
  @ApiOperation({ summary: 'A user (Tollgate admin, or the user themself; anyone else: 404)' })
  @ApiJsonResponse(200, 'The user; `ETag: "<version>"`', userResponse, EXAMPLES.user)
  async get(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('userId') userId: string,
  ) {
    const view = await this.directory.getUser(restContext(caller, request), parseWith(idParam, userId, 'userId'));
    void reply.header('ETag', etag(view.version));
    return view;
  }

  @Delete(':userId')
  @ApiOperation({
    summary: 'Deactivate a user (Tollgate admin): denied everywhere from now on, their keys are revoked',
  })
  @ApiJsonResponse(200, 'The user with `deactivatedAt`', userResponse, {
    ...EXAMPLES.user,
    deactivatedAt: '2026-11-26T07:00:00.000Z',
    version: 2,
  })
  async deactivate(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('userId') userId: string,
  ) {
    const view = await this.directory.deactivateUser(
      restContext(caller, request),
      parseWith(idParam, userId, 'userId'),
    );
    void reply.header('ETag', etag(view.version));
    return view;
  }
}

@ApiTags('projects')
@ApiBearerAuth()
@Controller('v1/projects')
@UseGuards(CallerGuard)
export class ProjectsController {
  constructor(@Inject(Directory) private readonly directory: Directory) {}

  @Post()
  @ApiOperation({ summary: 'Create a project; the creator (an internal or machine user) becomes its owner' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiJsonBody(createProjectBody, EXAMPLES.createProject)
  @ApiJsonResponse(201, 'The project', projectResponse, EXAMPLES.project)
  async create(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ) {
    const input = parseWith(createProjectBody, body);
    const result = await this.directory.createProject(restContext(caller, request), input, idempotencyKeyOf(request));
    created(reply, result.replayed, result.view.version);
    return result.view;
  }

  @Get(':projectId')
  @ApiOperation({ summary: 'A project (its collaborators and Tollgate admins; anyone else: 404)' })
  @ApiJsonResponse(200, 'The project; `ETag: "<version>"`', projectResponse, EXAMPLES.project)
  async get(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('projectId') projectId: string,
  ) {
    const view = await this.directory.getProject(
      restContext(caller, request),
      parseWith(idParam, projectId, 'projectId'),
    );
    void reply.header('ETag', etag(view.version));
    return view;
  }

  @Get(':projectId/collaborators')
  @ApiOperation({ summary: "A project's collaborators and their roles" })
  @ApiJsonResponse(
    200,
    '`[{ userId, role }]`; `ETag` is the project version',
    collaboratorsResponse,
    EXAMPLES.collaborators,
  )
  async collaborators(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('projectId') projectId: string,
  ) {
    const result = await this.directory.collaborators(
      restContext(caller, request),
      parseWith(idParam, projectId, 'projectId'),
    );
    void reply.header('ETag', etag(result.version));
    return result.collaborators;
  }

  @Put(':projectId/collaborators/:userId')
  @ApiOperation({ summary: "Set a collaborator's role (project owner or admin, or a Tollgate admin)" })
  @ApiHeader(IF_MATCH_HEADER)
  @ApiJsonBody(collaboratorBody, EXAMPLES.collaborator)
  @ApiJsonResponse(200, 'The collaborator and the project version', collaboratorResponse, EXAMPLES.collaboratorSet)
  async set(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('projectId') projectId: string,
    @Param('userId') userId: string,
    @Body() body: unknown,
  ) {
    const { role } = parseWith(collaboratorBody, body);
    const result = await this.directory.setCollaborator(
      restContext(caller, request),
      parseWith(idParam, projectId, 'projectId'),
      parseWith(idParam, userId, 'userId'),
      role,
      ifMatchOf(request),
    );
    void reply.header('ETag', etag(result.version));
    return result;
  }

  @Delete(':projectId/collaborators/:userId')
  @ApiOperation({
    summary: 'Remove a collaborator (project owner or admin, or a Tollgate admin); the last owner stays',
  })
  @ApiHeader(IF_MATCH_HEADER)
  @ApiJsonResponse(200, 'Removed', collaboratorRemovedResponse)
  async remove(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('projectId') projectId: string,
    @Param('userId') userId: string,
  ) {
    const result = await this.directory.removeCollaborator(
      restContext(caller, request),
      parseWith(idParam, projectId, 'projectId'),
      parseWith(idParam, userId, 'userId'),
      ifMatchOf(request),
    );
    void reply.header('ETag', etag(result.version));
    return result;
  }
}

@ApiTags('deployments')
@ApiBearerAuth()
@Controller('v1/deployments')
@UseGuards(CallerGuard)
export class DeploymentsController {
  constructor(@Inject(Directory) private readonly directory: Directory) {}

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
    const result = await this.directory.createDeployment(
      restContext(caller, request),
      input,
      idempotencyKeyOf(request),
    );
    created(reply, result.replayed, result.view.version);
    return result.view;
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
    const view = await this.directory.getDeployment(
      restContext(caller, request),
      parseWith(idParam, deploymentId, 'deploymentId'),
    );
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
    const view = await this.directory.updateDeployment(
      restContext(caller, request),
      parseWith(idParam, deploymentId, 'deploymentId'),
      changes,
      ifMatchOf(request),
    );
    void reply.header('ETag', etag(view.version));
    return view;
  }
}

@ApiTags('external-access-policy')
@ApiBearerAuth()
@Controller('v1/external-access-policy')
@UseGuards(CallerGuard)
export class ExternalAccessPolicyController {
  constructor(@Inject(Directory) private readonly directory: Directory) {}

  @Get()
  @ApiOperation({ summary: 'The external-access policy (default -1: no limit)' })
  @ApiJsonResponse(200, 'The policy; `ETag: "<version>"`', policyResponse, EXAMPLES.policyResponse)
  async get(@Res({ passthrough: true }) reply: FastifyReply) {
    const state = await this.directory.policy();
    void reply.header('ETag', etag(state.version));
    return { requireExternalUserLoginAfterHours: state.requireExternalUserLoginAfterHours, version: state.version };
  }

  @Put()
  @ApiOperation({ summary: 'Change the external-access policy (Tollgate admin)' })
  @ApiHeader(IF_MATCH_HEADER)
  @ApiJsonBody(policyBody, EXAMPLES.policy)
  @ApiJsonResponse(200, 'The policy', policyResponse, EXAMPLES.policyResponse)
  async put(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ) {
    const { requireExternalUserLoginAfterHours } = parseWith(policyBody, body);
    const state = await this.directory.setPolicy(
      restContext(caller, request),
      requireExternalUserLoginAfterHours,
      ifMatchOf(request),
    );
    void reply.header('ETag', etag(state.version));
    return { requireExternalUserLoginAfterHours: state.requireExternalUserLoginAfterHours, version: state.version };
  }
}
