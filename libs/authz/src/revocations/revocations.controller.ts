import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FRESHNESS, type Freshness } from '@tollgate/access-model';
import { notFound } from '@tollgate/contracts';
import { ApiJsonResponse, CallerGuard } from '@tollgate/platform';
import { REVOCATION_CONFIRMATIONS } from '../tokens';
import type { RevocationConfirmations, RevocationStatus } from './confirmations';

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
