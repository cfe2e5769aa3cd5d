import { ApiError } from '@tollgate/contracts';
import { type ProbeInput, ProbeRateLimiter, type ProbeRequest, type ProbeResult, probeRequest } from '../domain/probe';
import type { CommandContext } from './command-context';
import type { DeploymentsService } from './deployments.service';

/** Why the gateway gave no status: it could not be reached (or answered no HTTP), or it did not answer in time. */
export class GatewayFailure extends Error {
  override readonly name = 'GatewayFailure';
  constructor(
    readonly kind: 'unreachable' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

/** Sends one request to the operator's gateway and reports its status; throws `GatewayFailure` otherwise. */
export interface GatewayClient {
  send(request: ProbeRequest): Promise<ProbeResult>;
}

/**
 * `POST /v1/deployments/{id}/probe`: checks that the caller may see the deployment (else 404, as for GET), that
 * a gateway is configured, the caller's rate, and the request (`probeRequest`), then sends it through the
 * gateway client. The credential goes to the gateway only: never into a log, an event or the answer.
 */
export class DeploymentProbeService {
  constructor(
    private readonly deployments: Pick<DeploymentsService, 'getDeployment'>,
    /** undefined: no gateway configured (`TOLLGATE_GATEWAY_URL`). */
    private readonly gateway: GatewayClient | undefined,
    private readonly limiter = new ProbeRateLimiter(),
    private readonly now: () => number = Date.now,
  ) {}

  async probe(context: CommandContext, deploymentId: string, input: ProbeInput): Promise<ProbeResult> {
    // Visibility first: someone who may not see the deployment learns nothing, not even whether probes work.
    const deployment = await this.deployments.getDeployment(context, deploymentId);
    if (this.gateway === undefined)
      throw new ApiError(
        'probe-not-configured',
        'no gateway is configured (TOLLGATE_GATEWAY_URL): Tollgate cannot send a request to the model',
      );
    const request = probeRequest(deployment, input);
    const rate = this.limiter.take(context.actor.userId, this.now());
    if (!rate.allowed)
      throw new ApiError('rate-limited', `too many probes: at most ${this.limiter.limit} a minute`, undefined, {
        'Retry-After': String(rate.retryAfterSeconds),
      });
    try {
      return await this.gateway.send(request);
    } catch (error) {
      if (!(error instanceof GatewayFailure)) throw error;
      throw new ApiError(
        error.kind === 'timeout' ? 'gateway-timeout' : 'gateway-unreachable',
        `${error.kind === 'timeout' ? 'the gateway did not answer in time' : 'the gateway could not be reached'}: ${error.message}`,
      );
    }
  }
}
