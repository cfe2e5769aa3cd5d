import { Body, Controller, Headers, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiJsonBody, ApiJsonResponse, type Caller, CallerGuard, CurrentCaller, parseWith } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BulkRevocationService, type BulkSelector } from '../service/bulk-revocation.service';
import { ApiErrors, ApiIdempotencyKey, requestMeta } from './http-support';
import { bulkRevocationBody, bulkRevocationResponse, examples } from './schemas';

/** `POST /v1/revocations`: server-side bulk revocation (keys service; `GET /v1/revocations/{id}` is authz's). */
@ApiTags('keys')
@ApiBearerAuth()
@UseGuards(CallerGuard)
@Controller('v1/revocations')
export class RevocationsController {
  constructor(@Inject(BulkRevocationService) private readonly bulk: BulkRevocationService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Revoke every key of a user, a group, a project or a deployment, in one transaction',
    description:
      'Exactly one of `user` (admin, or the user), `group` (admin), `project` or `deployment` (a Tollgate admin, or ' +
      "the project's owner or admin). `user` and `group` cover every key of those users; `deployment` covers its " +
      'access keys and the inference keys of every user who may invoke it now (collaborators with an invoking role, ' +
      'members of its granted groups); `project` the same for each of its deployments. Keys already revoked are left ' +
      'as they are (no second event). All revocations commit together or none does; each `eventId` can be followed at ' +
      '`GET /v1/revocations/{eventId}` and all are in `Tollgate-Event-Id`. `dryRun: true` lists the keys and writes nothing.',
  })
  @ApiIdempotencyKey()
  @ApiJsonBody(bulkRevocationBody, examples.bulkRevocation)
  @ApiJsonResponse(
    200,
    'The keys revoked (or, in a dry run, that would be)',
    bulkRevocationResponse,
    examples.bulkRevoked,
  )
  @ApiErrors(400, 401, 403, 404, 422)
  async revoke(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { dryRun, ...rest } = parseWith(bulkRevocationBody, body ?? {});
    const meta = requestMeta(request, idempotencyKey);
    const { replayed, ...result } = await this.bulk.revoke(caller, rest as BulkSelector, dryRun ?? false, body, meta);
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    return result;
  }
}
