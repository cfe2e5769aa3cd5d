import {
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { Body } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiJsonBody, ApiJsonResponse, type Caller, CallerGuard, CurrentCaller, parseWith } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UserKeysService, type CreateUserKeyInput } from '../service/user-keys.service';
import { ApiErrors, ApiIdempotencyKey, pathId, requestMeta, secretResponseHeaders } from './http-support';
import {
  createdKeyResponse,
  createKeyBody,
  examples,
  expiringQuery,
  keyCountsResponse,
  keyListResponse,
  listedKeyResponse,
  revocationResponse,
  revokeAllResponse,
} from './schemas';

const toInput = (raw: unknown): CreateUserKeyInput => {
  const body = parseWith(createKeyBody, raw);
  return {
    name: body.name,
    scope: body.scope,
    expiresAt: body.expiresAt === undefined || body.expiresAt === null ? body.expiresAt : Date.parse(body.expiresAt),
  };
};

/** User API keys: `/v1/keys`, `/v1/users/{userId}/keys`, `/v1/key-counts`. */
@ApiTags('keys')
@ApiBearerAuth()
@UseGuards(CallerGuard)
@Controller('v1')
export class KeysController {
  constructor(@Inject(UserKeysService) private readonly keys: UserKeysService) {}

  @Post('keys')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create an API key for myself',
    description: 'The secret `key` is in this response only; store it now.',
  })
  @ApiIdempotencyKey()
  @ApiJsonBody(createKeyBody, examples.createKey)
  @ApiJsonResponse(201, 'The key, with its secret', createdKeyResponse, examples.createdKey)
  @ApiErrors(400, 401, 422, 429)
  async create(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const meta = requestMeta(request, idempotencyKey);
    const result = await this.keys.create(caller, caller.userId, toInput(body), 'POST /v1/keys', body, meta);
    secretResponseHeaders(reply, result.replayed);
    return result.body;
  }

  @Get('keys')
  @ApiOperation({ summary: 'List my API keys (never a secret)' })
  @ApiJsonResponse(200, 'My keys, oldest first, revoked ones included', keyListResponse, { keys: [examples.listedKey] })
  @ApiErrors(401)
  async listMine(@CurrentCaller() caller: Caller) {
    return { keys: await this.keys.list(caller, caller.userId) };
  }

  @Get('keys/expiring')
  @ApiOperation({ summary: "Active keys expiring within N days (mine; everyone's for admins)" })
  @ApiQuery({ name: 'days', required: false, description: 'Integer 1–36500, default 30', example: 30 })
  @ApiJsonResponse(200, 'Keys expiring soonest first', keyListResponse, { keys: [examples.listedKey] })
  @ApiErrors(400, 401)
  async expiring(@CurrentCaller() caller: Caller, @Query() query: unknown) {
    const { days } = parseWith(expiringQuery, query, 'query');
    return { keys: await this.keys.expiring(caller, days ?? 30) };
  }

  @Get('keys/:keyId')
  @ApiOperation({ summary: 'One of my API keys (any key for admins)' })
  @ApiParam({ name: 'keyId', example: 'key_3fK9xQ2mP7rT1vWz' })
  @ApiJsonResponse(200, 'The key (ETag: its version)', listedKeyResponse, examples.listedKey)
  @ApiErrors(401, 404)
  async get(
    @CurrentCaller() caller: Caller,
    @Param('keyId') keyId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const key = await this.keys.get(caller, pathId(keyId, 'key'));
    void reply.header('ETag', `"${key.version}"`);
    return key;
  }

  @Delete('keys/:keyId')
  @ApiOperation({
    summary: 'Revoke an API key',
    description:
      "Mine, or anyone's for admins; another user's key answers 404. Revoking again answers the first revocation.",
  })
  @ApiParam({ name: 'keyId', example: 'key_3fK9xQ2mP7rT1vWz' })
  @ApiJsonResponse(
    200,
    'The revocation; `eventId` can be followed at GET /v1/revocations/{eventId}',
    revocationResponse,
    examples.revocation,
  )
  @ApiErrors(401, 404)
  revoke(@CurrentCaller() caller: Caller, @Param('keyId') keyId: string, @Req() request: FastifyRequest) {
    return this.keys.revoke(caller, pathId(keyId, 'key'), requestMeta(request));
  }

  @Post('users/:userId/keys')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create an API key for a user (admin)',
    description: 'How machine users and new users get their first key. The secret `key` is in this response only.',
  })
  @ApiParam({ name: 'userId', example: 'usr_8hJ2kL4mN6pQ8rS0' })
  @ApiIdempotencyKey()
  @ApiJsonBody(createKeyBody, examples.createKey)
  @ApiJsonResponse(201, 'The key, with its secret', createdKeyResponse, examples.createdKey)
  @ApiErrors(400, 401, 403, 404, 422, 429)
  async createFor(
    @CurrentCaller() caller: Caller,
    @Param('userId') userId: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const meta = requestMeta(request, idempotencyKey);
    const target = pathId(userId, 'user');
    const result = await this.keys.create(caller, target, toInput(body), 'POST /v1/users/:userId/keys', body, meta);
    secretResponseHeaders(reply, result.replayed);
    return result.body;
  }

  @Get('users/:userId/keys')
  @ApiOperation({ summary: "A user's API keys (admin, or the user)" })
  @ApiParam({ name: 'userId', example: 'usr_8hJ2kL4mN6pQ8rS0' })
  @ApiJsonResponse(200, "The user's keys, oldest first", keyListResponse, { keys: [examples.listedKey] })
  @ApiErrors(401, 404)
  async listFor(@CurrentCaller() caller: Caller, @Param('userId') userId: string) {
    return { keys: await this.keys.list(caller, pathId(userId, 'user')) };
  }

  @Delete('users/:userId/keys')
  @ApiOperation({ summary: "Revoke all of a user's API keys (admin, or the user)" })
  @ApiParam({ name: 'userId', example: 'usr_8hJ2kL4mN6pQ8rS0' })
  @ApiJsonResponse(200, 'How many keys were revoked, and the revocations', revokeAllResponse, examples.revokeAll)
  @ApiErrors(401, 404)
  revokeAll(@CurrentCaller() caller: Caller, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return this.keys.revokeAll(caller, pathId(userId, 'user'), requestMeta(request));
  }

  @Get('key-counts')
  @ApiOperation({ summary: 'Active API keys per user (admin)' })
  @ApiJsonResponse(200, 'One entry per known user and key owner', keyCountsResponse, examples.counts)
  @ApiErrors(401, 403)
  async counts(@CurrentCaller() caller: Caller) {
    return { counts: await this.keys.counts(caller) };
  }
}
