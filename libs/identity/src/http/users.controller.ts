import { Body, Controller, Delete, Get, Inject, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
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
import { UsersService } from '../application/users.service';
import { created, IDEMPOTENCY_HEADER, idempotencyKeyOf, listPage, restContext } from './http-helpers';
import { createUserBody, EXAMPLES, userListQuery, userListResponse, userResponse } from './schemas';

@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/users')
@UseGuards(CallerGuard)
export class UsersController {
  constructor(@Inject(UsersService) private readonly users: UsersService) {}

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
    const result = await this.users.createUser(restContext(caller, request), input, idempotencyKeyOf(request));
    created(reply, result.replayed, result.view.version);
    return result.view;
  }

  @Get()
  @ApiOperation({
    summary: 'List users (Tollgate admin), in creation order',
    description:
      'Filters (combined with AND): `q`, a case-insensitive substring of the name or email; `kind`; `admin`; `status`. Cursor pagination: pass `nextCursor` as `cursor` for the next page.',
  })
  @ApiQuery({ name: 'q', required: false, description: 'Case-insensitive substring of the name or email' })
  @ApiQuery({ name: 'kind', required: false, enum: ['internal', 'external', 'machine'] })
  @ApiQuery({ name: 'admin', required: false, enum: ['true', 'false'], description: 'Tollgate admins only, or none' })
  @ApiQuery({
    name: 'status',
    required: false,
    enum: ['active', 'deactivated'],
    description: 'Deactivated now, or not (a reactivated user is active)',
  })
  @ApiPageQuery()
  @ApiJsonResponse(200, 'A page of users', userListResponse, { users: [EXAMPLES.user], nextCursor: null })
  @ApiJsonResponse(400, 'A bad filter, limit or cursor (`validation-failed`)')
  @ApiJsonResponse(403, 'Not a Tollgate admin (`forbidden`)')
  async list(@CurrentCaller() caller: Caller, @Req() request: FastifyRequest, @Query() query: unknown) {
    const { q, kind, admin, status, ...page } = parseWith(userListQuery, query, 'query');
    const result = await listPage(caller, 'users', { q, kind, admin, status }, page, (window) =>
      this.users.listUsers(restContext(caller, request), { q, kind, admin, status }, window),
    );
    return { users: result.items, nextCursor: result.nextCursor };
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
    const view = await this.users.getUser(restContext(caller, request), pathId(userId, 'user'));
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
    const view = await this.users.deactivateUser(restContext(caller, request), pathId(userId, 'user'));
    void reply.header('ETag', etag(view.version));
    return view;
  }
}
