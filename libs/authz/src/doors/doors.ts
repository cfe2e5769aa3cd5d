import type { IncomingHttpHeaders } from 'node:http';
import { requestId as newRequestId } from '@tollgate/platform';
import type { DecisionRecorder } from '../decision-log';
import type { CheckInput, DecisionHeaders, DoorDecision } from '../types';
import type { KeyUsageTally } from '@tollgate/access-model';
import { authorizeInput } from './authorize';
import { type CheckRequest, type CheckResponse, extAuthzInput, extAuthzResponse } from './ext-authz';
import { type ForwardAuthResponse, forwardAuthInput, forwardAuthResponse } from './forward-auth';

/** The one check all doors call: synchronous unless a JWT must be verified (cache miss). */
export interface Check<D extends DoorDecision = DoorDecision> {
  check(input: CheckInput): D | Promise<D>;
  headers(decision: D): DecisionHeaders;
  /** Human-readable `message` of a decision (never a secret). */
  message(decision: D): string;
}

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown })?.then === 'function';

/**
 * The three doors over one check: each parses its request into a `CheckInput`, calls `check`, writes the
 * decision log line and maps the decision onto its wire format. Framework-free, so the NestJS controllers,
 * the gRPC server and the benchmark's bare node:http server run exactly the same code.
 */
export class Doors<D extends DoorDecision = DoorDecision> {
  constructor(
    private readonly checker: Check<D>,
    private readonly recorder: DecisionRecorder,
    /** Counts the keys in use for "last used" (KeyUsagePublisher publishes them); undefined: not counted. */
    private readonly usage?: Pick<KeyUsageTally, 'decided'>,
  ) {}

  /** `POST /v1/authorize`: the decision itself (`trace` only with explain). Throws 400 on a malformed body. */
  authorize(body: unknown, explain: boolean, requestId: string): D | Promise<D> {
    const started = process.hrtime.bigint();
    const input = authorizeInput(body, explain);
    return this.after(this.checker.check(input), (decision) => {
      this.recorder.record('authorize', requestId, decision, started);
      this.usage?.decided(decision);
      return decision;
    });
  }

  /** `GET /v1/forward-auth`. */
  forwardAuth(
    headers: IncomingHttpHeaders,
    rawHeaders: readonly string[] | undefined,
    requestId: string,
  ): ForwardAuthResponse | Promise<ForwardAuthResponse> {
    const started = process.hrtime.bigint();
    return this.after(this.checker.check(forwardAuthInput(headers, rawHeaders)), (decision) => {
      this.recorder.record('forward-auth', requestId, decision, started);
      this.usage?.decided(decision);
      return forwardAuthResponse(decision, this.checker.headers(decision), this.checker.message(decision));
    });
  }

  /** gRPC `envoy.service.auth.v3.Authorization/Check`; the request id is Envoy's (`x-request-id`) when sane. */
  extAuthz(request: CheckRequest): CheckResponse | Promise<CheckResponse> {
    const started = process.hrtime.bigint();
    const http = request.attributes?.request?.http;
    const requestId = newRequestId(http?.id || http?.headers?.['x-request-id']);
    return this.after(this.checker.check(extAuthzInput(request)), (decision) => {
      this.recorder.record('ext-authz', requestId, decision, started);
      this.usage?.decided(decision);
      return extAuthzResponse(decision, this.checker.headers(decision), this.checker.message(decision));
    });
  }

  /** Applies `f` now when the decision is ready, after the await otherwise (JWT cache miss only). */
  private after<T>(decision: D | Promise<D>, f: (d: D) => T): T | Promise<T> {
    return isPromise(decision) ? decision.then(f) : f(decision);
  }
}
