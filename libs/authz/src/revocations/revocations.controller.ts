import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FRESHNESS, type Freshness } from '@tollgate/access-model';
import { ApiError, notFound } from '@tollgate/contracts';
import { ApiJsonResponse, type Caller, CallerGuard, CurrentCaller } from '@tollgate/platform';
import { REVOCATION_CONFIRMATIONS } from '../tokens';
import {
  RECENT_REDUCTIONS,
  type RecentReduction,
  type RevocationConfirmations,
  type RevocationStatus,
} from './confirmations';

/** `?limit=` of `GET /v1/revocations`: an integer 1–100, default 20. */
function recentLimit(value: unknown): number {
  if (value === undefined) return 20;
  const n = typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= RECENT_REDUCTIONS)) {
    throw new ApiError('validation-failed', `limit must be an integer from 1 to ${RECENT_REDUCTIONS}`, [
      { field: 'limit', message: `an integer from 1 to ${RECENT_REDUCTIONS}` },
    ]);
  }
  return n;
}

/** `GET /v1/revocations/{eventId}`: which live authz replicas enforce a revocation, and since when. */
@ApiTags('authz')
@ApiBearerAuth()
@UseGuards(CallerGuard)
@Controller('v1/revocations')
export class RevocationsController {
  constructor(
    @Inject(REVOCATION_CONFIRMATIONS) private readonly confirmations: RevocationConfirmations,
    @Inject(FRESHNESS) private readonly freshness: Freshness,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'The latest access-reducing events this replica applied (Tollgate admin)',
    description:
      'Newest first, from the replica that answers (it keeps the last 100 since it started): each with its type, the key it ' +
      'revoked if any, when it was committed and applied here. Follow one with `GET /v1/revocations/{eventId}` for every replica.',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'At most this many, 1–100 (default 20)' })
  @ApiJsonResponse(200, 'The latest reductions', undefined, {
    revocations: [
      {
        eventId: 'evt_4kL9mN2pQ7rS1tU3',
        type: 'KeyRevoked',
        keyId: 'key_3fK9xQ2mP7rT1vWz',
        committedAt: '2026-11-26T06:30:00.000Z',
        appliedAt: '2026-11-26T06:30:00.012Z',
      },
    ],
  })
  @ApiJsonResponse(403, '`forbidden`: not a Tollgate admin')
  recent(@CurrentCaller() caller: Caller, @Query('limit') limit: unknown): { revocations: RecentReduction[] } {
    if (!caller.admin) throw new ApiError('forbidden', 'only Tollgate admins may list revocations');
    return { revocations: this.confirmations.recent(recentLimit(limit)) };
  }

  @Get(':eventId')
  @ApiOperation({
    summary: 'Revocation confirmation',
    description:
      'The `eventId` of a `KeyRevoked` (returned by the revoke calls) → every live authz replica with when it applied it ' +
      '(`appliedAt` and `lagMs` null until then); `appliedByAll` once all have. A revocation committed before the request ' +
      'is always known (the answer waits, at most the freshness bound, for this replica to apply it); else 404.',
  })
  @ApiJsonResponse(200, 'Confirmation status', undefined, {
    eventId: 'evt_4kL9mN2pQ7rS1tU3',
    committedAt: '2026-11-26T06:30:00.000Z',
    replicas: [
      { replicaId: 'authz-1', appliedAt: '2026-11-26T06:30:00.012Z', lagMs: 12 },
      { replicaId: 'authz-2', appliedAt: null, lagMs: null },
    ],
    appliedByAll: false,
  })
  @ApiJsonResponse(404, 'No replica knows this event')
  async get(@Param('eventId') eventId: string): Promise<RevocationStatus> {
    const arrival = Date.now();
    let status = this.confirmations.status(eventId);
    // Read-your-writes: a revocation committed before this request is applied here once the watermark
    // passes the request's arrival (at most the staleness bound away); only then is "unknown" final.
    if (!status && (await this.freshness.waitForWatermark(arrival, this.freshness.maxStalenessMs))) {
      status = this.confirmations.status(eventId);
    }
    if (!status) throw notFound('revocation event');
    return status;
  }
}
