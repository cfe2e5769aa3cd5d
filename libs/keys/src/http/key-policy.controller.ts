import { Body, Controller, Get, Headers, Inject, Put, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError } from '@tollgate/contracts';
import { ApiJsonBody, ApiJsonResponse, type Caller, CallerGuard, CurrentCaller, parseWith } from '@tollgate/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeyPolicyService, type VersionedKeyPolicy } from '../service/key-policy.service';
import { ApiErrors, requestMeta } from './http-support';
import { examples, keyPolicyBody, keyPolicyResponse } from './schemas';

/** `If-Match: "<version>"` (weak or bare also accepted; `*` matches anything) → the expected version. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(value);
  if (!match) throw new ApiError('version-conflict', 'If-Match must be the ETag of the current version, e.g. "3"');
  return Number(match[1]);
}

const body = ({ policy, version }: VersionedKeyPolicy) => ({ ...policy, version });

/** The key policy: default and maximum lifetime of user API keys, and machine users' longest service token. */
@ApiTags('keys')
@ApiBearerAuth()
@UseGuards(CallerGuard)
@Controller('v1/key-policy')
export class KeyPolicyController {
  constructor(@Inject(KeyPolicyService) private readonly policy: KeyPolicyService) {}

  @Get()
  @ApiOperation({ summary: 'The key policy (default 365/365 days; service tokens of machine users up to 3600 s)' })
  @ApiJsonResponse(200, 'The policy; ETag is its version', keyPolicyResponse, examples.policyResponse)
  @ApiErrors(401)
  async get(@Res({ passthrough: true }) reply: FastifyReply) {
    const current = await this.policy.current();
    void reply.header('ETag', `"${current.version}"`);
    return body(current);
  }

  @Put()
  @ApiOperation({
    summary: 'Change the key policy (admin)',
    description:
      'Integers 1–36500 with default ≤ max, or `maxLifetimeDays: null` for no maximum (only then may a key never expire). Applies to keys created from now on. ' +
      '`maxServiceTokenLifetimeSeconds` (3600–86400; absent: the value in force is kept) is the longest service token a machine user may ask for at POST /v1/tokens; other users stay at 3600.',
  })
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'The ETag of the version this change is based on; stale: 412',
  })
  @ApiJsonBody(keyPolicyBody, examples.policy)
  @ApiJsonResponse(200, 'The policy in force', keyPolicyResponse, examples.policyResponse)
  @ApiErrors(400, 401, 403, 412)
  async put(
    @CurrentCaller() caller: Caller,
    @Body() raw: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const parsed = parseWith(keyPolicyBody, raw);
    const fromHeader = parseIfMatch(ifMatch);
    if (fromHeader !== undefined && parsed.version !== undefined && fromHeader !== parsed.version) {
      throw new ApiError('version-conflict', "If-Match and the body's version disagree");
    }
    const updated = await this.policy.set(
      caller,
      {
        defaultLifetimeDays: parsed.defaultLifetimeDays,
        maxLifetimeDays: parsed.maxLifetimeDays,
        maxServiceTokenLifetimeSeconds: parsed.maxServiceTokenLifetimeSeconds,
      },
      fromHeader ?? parsed.version,
      requestMeta(request),
    );
    void reply.header('ETag', `"${updated.version}"`);
    return body(updated);
  }
}
