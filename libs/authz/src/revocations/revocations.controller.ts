import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
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
  constructor(@Inject(REVOCATION_CONFIRMATIONS) private readonly confirmations: RevocationConfirmations) {}

  @Get(':eventId')
  @ApiOperation({
    summary: 'Revocation confirmation',
    description:
      'The `eventId` of a `KeyRevoked` (returned by the revoke calls) → every live authz replica with when it applied it ' +
      '(`appliedAt` and `lagMs` null until then); `appliedByAll` once all have. 404 while no replica knows the event.',
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
  @ApiJsonResponse(404, 'No replica knows this event (yet)')
  get(@Param('eventId') eventId: string): RevocationStatus {
    const status = this.confirmations.status(eventId);
    if (!status) throw notFound('revocation event');
    return status;
  }
}
