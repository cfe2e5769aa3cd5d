import { Body, Controller, Get, Inject, Put, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiJsonBody,
  ApiJsonResponse,
  type Caller,
  CallerGuard,
  CurrentCaller,
  parseWith,
  etag,
} from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ExternalAccessPolicyService } from '../application/external-access-policy.service';
import { IF_MATCH_HEADER, ifMatchOf, restContext } from './http-helpers';
import { EXAMPLES, policyBody, policyResponse } from './schemas';

@ApiTags('external-access-policy')
@ApiBearerAuth()
@Controller('v1/external-access-policy')
@UseGuards(CallerGuard)
export class ExternalAccessPolicyController {
  constructor(@Inject(ExternalAccessPolicyService) private readonly policy: ExternalAccessPolicyService) {}

  @Get()
  @ApiOperation({ summary: 'The external-access policy (default -1: no limit)' })
  @ApiJsonResponse(200, 'The policy; `ETag: "<version>"`', policyResponse, EXAMPLES.policyResponse)
  async get(@Res({ passthrough: true }) reply: FastifyReply) {
    const state = await this.policy.policy();
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
    const state = await this.policy.setPolicy(
      restContext(caller, request),
      requireExternalUserLoginAfterHours,
      ifMatchOf(request),
    );
    void reply.header('ETag', etag(state.version));
    return { requireExternalUserLoginAfterHours: state.requireExternalUserLoginAfterHours, version: state.version };
  }
}
