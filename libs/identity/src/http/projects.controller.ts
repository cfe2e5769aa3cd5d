import { Body, Controller, Delete, Get, Inject, Param, Post, Put, Query, Req, Res, UseGuards } from '@nestjs/common';
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
import { ProjectsService } from '../application/projects.service';
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
  collaboratorBody,
  collaboratorRemovedResponse,
  collaboratorResponse,
  collaboratorsResponse,
  createProjectBody,
  EXAMPLES,
  projectListQuery,
  projectListResponse,
  projectResponse,
} from './schemas';

@ApiTags('projects')
@ApiBearerAuth()
@Controller('v1/projects')
@UseGuards(CallerGuard)
export class ProjectsController {
  constructor(@Inject(ProjectsService) private readonly projects: ProjectsService) {}

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
    const result = await this.projects.createProject(restContext(caller, request), input, idempotencyKeyOf(request));
    created(reply, result.replayed, result.view.version);
    return result.view;
  }

  @Get()
  @ApiOperation({
    summary: 'List the projects I collaborate on (every project for a Tollgate admin), in creation order',
    description:
      "Each with `role`, the caller's role (null for a Tollgate admin who is not a collaborator). Filter: `q`, a case-insensitive substring of the name.",
  })
  @ApiQuery({ name: 'q', required: false, description: 'Case-insensitive substring of the name' })
  @ApiPageQuery()
  @ApiJsonResponse(200, 'A page of projects', projectListResponse, {
    projects: [{ ...EXAMPLES.project, role: 'owner' }],
    nextCursor: null,
  })
  @ApiJsonResponse(400, 'A bad filter, limit or cursor (`validation-failed`)')
  async list(@CurrentCaller() caller: Caller, @Req() request: FastifyRequest, @Query() query: unknown) {
    const { q, ...page } = parseWith(projectListQuery, query, 'query');
    const result = await listPage(caller, 'projects', { q }, page, (window) =>
      this.projects.listProjects(restContext(caller, request), { q }, window),
    );
    return { projects: result.items, nextCursor: result.nextCursor };
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
    const view = await this.projects.getProject(restContext(caller, request), pathId(projectId, 'project'));
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
    const result = await this.projects.collaborators(restContext(caller, request), pathId(projectId, 'project'));
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
    const result = await this.projects.setCollaborator(
      restContext(caller, request),
      pathId(projectId, 'project'),
      pathId(userId, 'user'),
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
    const result = await this.projects.removeCollaborator(
      restContext(caller, request),
      pathId(projectId, 'project'),
      pathId(userId, 'user'),
      ifMatchOf(request),
    );
    void reply.header('ETag', etag(result.version));
    return result;
  }
}
