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
import {
  ApiJsonBody,
  ApiJsonResponse,
  ApiPageQuery,
  type Caller,
  CallerGuard,
  type CursorScope,
  CurrentCaller,
  type CursorKey,
  pageOf,
  pageRequest,
  parseWith,
} from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UserKeysService, type CreateUserKeyInput, type ListedKey } from '../service/user-keys.service';
import { pathId } from '@tollgate/platform';
import { ApiErrors, ApiIdempotencyKey, requestMeta, secretResponseHeaders } from './http-support';
import {
  createdKeyResponse,
  createKeyBody,
  examples,
  expiringQuery,
  keyCountsResponse,
  keyListResponse,
  keyPageQuery,
  listedKeyResponse,
  revocationResponse,
  revokeAllResponse,
  rotatedKeyResponse,
  rotateKeyBody,
} from './schemas';
import { ROTATION_DEFAULT_OVERLAP_SECONDS } from '../service/user-keys.service';

const toInput = (raw: unknown): CreateUserKeyInput => {
  const body = parseWith(createKeyBody, raw);
  return {
    name: body.name,
    scope: body.scope,
    expiresAt: body.expiresAt === undefined || body.expiresAt === null ? body.expiresAt : Date.parse(body.expiresAt),
  };
};

/**
 * One page of a key list held in memory (a user's keys, the keys expiring soon, the counts: all bounded by
 * what one read returns), by the sort key `keyOf`; the cursor is bound to the list, caller and filters.
 */
function page<T>(
  caller: Caller,
  list: string,
  filters: CursorScope['filters'],
  query: { limit?: number; cursor?: string },
  items: readonly T[],
  keyOf: (item: T) => CursorKey,
  arity: number,
) {
  const scope: CursorScope = { list, caller: caller.userId, filters };
  return pageOf(items, keyOf, pageRequest(scope, query, arity), scope);
}

/** Oldest first: creation time, then key id (unique). */
const byCreation = (k: ListedKey): CursorKey => [k.createdAt, k.keyId];

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
  @ApiPageQuery()
  @ApiJsonResponse(200, 'My keys, oldest first (creation time, then key id), revoked ones included', keyListResponse, {
    keys: [examples.listedKey],
    nextCursor: null,
  })
  @ApiErrors(400, 401)
  async listMine(@CurrentCaller() caller: Caller, @Query() query: unknown) {
    return this.userKeys(caller, caller.userId, query);
  }

  private async userKeys(caller: Caller, userId: string, query: unknown) {
    const paging = parseWith(keyPageQuery, query, 'query');
    const keys = await this.keys.list(caller, userId);
    const result = page(caller, 'keys', { userId }, paging, keys, byCreation, 2);
    return { keys: result.items, nextCursor: result.nextCursor };
  }

  @Get('keys/expiring')
  @ApiOperation({ summary: "Active keys expiring within N days (mine; everyone's for admins)" })
  @ApiQuery({ name: 'days', required: false, description: 'Integer 1–36500, default 30', example: 30 })
  @ApiPageQuery()
  @ApiJsonResponse(200, 'Keys expiring soonest first (expiry, then key id)', keyListResponse, {
    keys: [examples.listedKey],
    nextCursor: null,
  })
  @ApiErrors(400, 401)
  async expiring(@CurrentCaller() caller: Caller, @Query() query: unknown) {
    const { days, ...paging } = parseWith(expiringQuery, query, 'query');
    const keys = await this.keys.expiring(caller, days ?? 30);
    const result = page(caller, 'keys/expiring', { days: days ?? 30 }, paging, keys, (k) => [k.expiresAt!, k.keyId], 2);
    return { keys: result.items, nextCursor: result.nextCursor };
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

  @Post('keys/:keyId/rotate')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Rotate an API key: create its successor, end the old key after an overlap',
    description:
      "Mine, or anyone's for admins; another user's key answers 404. The successor has the same owner, name and scope, " +
      "and the key policy's default lifetime; its secret `key` is in this response only. The old key keeps working for " +
      '`overlapSeconds` (0–604800, default 3600; never beyond its own expiry) and is refused from `previousKeyRevokesAt` on ' +
      '(events `KeyCreated` and `KeyRotated`, both in `eventIds`); a `KeyRevoked` (reason `rotated`) follows then, ' +
      "confirmable at GET /v1/revocations/{eventId} like any revocation (the old key's `revocationEventId`). " +
      'A revoked, expired or already rotated key: 409.',
  })
  @ApiParam({ name: 'keyId', example: 'key_3fK9xQ2mP7rT1vWz' })
  @ApiIdempotencyKey()
  @ApiJsonBody(rotateKeyBody, examples.rotateKey)
  @ApiJsonResponse(
    201,
    'The new key, with its secret, and the end of the old one',
    rotatedKeyResponse,
    examples.rotatedKey,
  )
  @ApiErrors(400, 401, 404, 409, 422, 429)
  async rotate(
    @CurrentCaller() caller: Caller,
    @Param('keyId') keyId: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const meta = requestMeta(request, idempotencyKey);
    const id = pathId(keyId, 'key');
    const parsed = parseWith(rotateKeyBody, body ?? {});
    const overlap = parsed.overlapSeconds ?? ROTATION_DEFAULT_OVERLAP_SECONDS;
    const result = await this.keys.rotate(caller, id, overlap, 'POST /v1/keys/:keyId/rotate', body ?? {}, meta);
    secretResponseHeaders(reply, result.replayed);
    return result.body;
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
  @ApiPageQuery()
  @ApiJsonResponse(200, "The user's keys, oldest first (creation time, then key id)", keyListResponse, {
    keys: [examples.listedKey],
    nextCursor: null,
  })
  @ApiErrors(400, 401, 404)
  async listFor(@CurrentCaller() caller: Caller, @Param('userId') userId: string, @Query() query: unknown) {
    return this.userKeys(caller, pathId(userId, 'user'), query);
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
  @ApiPageQuery()
  @ApiJsonResponse(200, 'One entry per known user and key owner, by user id', keyCountsResponse, examples.counts)
  @ApiErrors(400, 401, 403)
  async counts(@CurrentCaller() caller: Caller, @Query() query: unknown) {
    const paging = parseWith(keyPageQuery, query, 'query');
    const counts = await this.keys.counts(caller);
    const result = page(caller, 'key-counts', {}, paging, counts, (c) => [c.userId], 1);
    return { counts: result.items, nextCursor: result.nextCursor };
  }
}
