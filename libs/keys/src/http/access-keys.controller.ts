import { Body, Controller, Delete, Headers, HttpCode, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiJsonBody, ApiJsonResponse, type Caller, CallerGuard, CurrentCaller, parseWith } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccessKeysService } from '../service/access-keys.service';
import { pathId } from '@tollgate/platform';
import { ApiErrors, ApiIdempotencyKey, requestMeta, secretResponseHeaders } from './http-support';
import { accessKeyBody, accessKeyResponse, examples, slotParam, slotRevocationResponse } from './schemas';

const slotOf = (slot: string) => parseWith(slotParam, slot, 'slot');

/** A deployment's model access keys, in slots `primary` and `secondary`. */
@ApiTags('keys')
@ApiBearerAuth()
@UseGuards(CallerGuard)
@Controller('v1/deployments/:deploymentId/access-keys')
export class AccessKeysController {
  constructor(@Inject(AccessKeysService) private readonly accessKeys: AccessKeysService) {}

  @Post(':slot')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create (rotate) the access key of a slot',
    description:
      "The new key is created, then the key that was in the slot is revoked (reason `rotated`; `eventId` is that revocation). By the project's owner or admin, or a Tollgate admin. The secret `accessKey` is in this response only.",
  })
  @ApiParam({ name: 'deploymentId', example: 'dep_5tY7uI9oP1aS3dF5' })
  @ApiParam({ name: 'slot', enum: ['primary', 'secondary'] })
  @ApiIdempotencyKey()
  @ApiJsonBody(accessKeyBody, {})
  @ApiJsonResponse(201, 'The new access key, with its secret', accessKeyResponse, examples.accessKey)
  @ApiErrors(400, 401, 403, 404, 429)
  async rotate(
    @CurrentCaller() caller: Caller,
    @Param('deploymentId') deploymentId: string,
    @Param('slot') slot: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const s = slotOf(slot);
    if (body !== undefined) parseWith(accessKeyBody, body);
    const meta = requestMeta(request, idempotencyKey);
    const result = await this.accessKeys.rotate(
      caller,
      pathId(deploymentId, 'deployment'),
      s,
      'POST /v1/deployments/:deploymentId/access-keys/:slot',
      body ?? {},
      meta,
    );
    secretResponseHeaders(reply, result.replayed);
    return result.body;
  }

  @Delete(':slot')
  @ApiOperation({
    summary: 'Revoke the access key of a slot',
    description: "By the project's owner or admin, or a Tollgate admin. An empty slot: 404.",
  })
  @ApiParam({ name: 'deploymentId', example: 'dep_5tY7uI9oP1aS3dF5' })
  @ApiParam({ name: 'slot', enum: ['primary', 'secondary'] })
  @ApiJsonResponse(200, 'The revocation', slotRevocationResponse, examples.slotRevocation)
  @ApiErrors(400, 401, 403, 404)
  revoke(
    @CurrentCaller() caller: Caller,
    @Param('deploymentId') deploymentId: string,
    @Param('slot') slot: string,
    @Req() request: FastifyRequest,
  ) {
    const s = slotOf(slot);
    return this.accessKeys.revokeSlot(caller, pathId(deploymentId, 'deployment'), s, requestMeta(request));
  }
}
