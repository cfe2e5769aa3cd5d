import { ApiError, normalizeHost, normalizeRequestPath } from '@tollgate/contracts';

/**
 * The deployment probe (`POST /v1/deployments/{id}/probe`, the console's Test panel): ONE request through the
 * operator's gateway, as a client of the deployment would send it, to show the model's status code. Pure
 * rules here: which request may be sent (`probeRequest`) and how often (`ProbeRateLimiter`); the HTTP client
 * is an adapter (`gateway/http-gateway-client.ts`).
 *
 * Why this is no SSRF vector: Tollgate connects only to the gateway the operator configured
 * (`TOLLGATE_GATEWAY_URL`); the caller picks the path (under one of the deployment's prefixes), the method
 * and the credential, and the `Host` is one of the deployment's own hosts. What the caller could reach is
 * what the gateway serves for that deployment, with the caller's own credential, which the gateway checks.
 */

export const PROBE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type ProbeMethod = (typeof PROBE_METHODS)[number];

/** The access-key header of CONTRACT.md section 1. */
export const ACCESS_KEY_HEADER = 'x-model-access-key';

/** What a caller asks for (validated by the HTTP schema: visible ASCII, bounded lengths). */
export interface ProbeInput {
  path: string;
  method?: ProbeMethod;
  /** One of the deployment's hosts; default its first. */
  host?: string;
  /** The whole `Authorization` header value, as for `POST /v1/authorize`. */
  authorization?: string;
  /** A model access key, sent as `X-Model-Access-Key`. */
  accessKey?: string;
}

/** The one request the probe sends to the gateway. */
export interface ProbeRequest {
  method: ProbeMethod;
  /** The `Host` header: one of the deployment's hosts. */
  host: string;
  /** The request target, exactly as the caller gave it (never re-encoded: the gateway sees what a client sends). */
  path: string;
  headers: Record<string, string>;
}

/** What the probe answers: the gateway's (or, through it, the model's) HTTP status and the time to its headers. */
export interface ProbeResult {
  status: number;
  latencyMs: number;
}

/** Does `path` (normalized as routing does) fall under `prefix` at a segment boundary? */
function underPrefix(path: string, prefix: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * The request to send for `input` to a deployment with `hosts` and `pathPrefixes`. 409 `probe-not-configured`
 * when the deployment has no host (a gateway routes by host: there is nothing to address); 400 when the host
 * is not one of the deployment's, or the path is not under one of its prefixes (compared after the same
 * normalization the authorizer routes with, so `/v1/a/../b` is not under `/v1/a`).
 */
export function probeRequest(deployment: { hosts: string[]; pathPrefixes: string[] }, input: ProbeInput): ProbeRequest {
  const first = deployment.hosts[0];
  if (first === undefined)
    throw new ApiError('probe-not-configured', 'the deployment has no hosts: a gateway could not route a probe to it');
  let host = first;
  if (input.host !== undefined) {
    const wanted = normalizeHost(input.host);
    const match = deployment.hosts.find((h) => normalizeHost(h) === wanted);
    if (match === undefined)
      throw new ApiError('validation-failed', 'host is not one of the deployment’s hosts', [
        { field: 'host', message: `must be one of ${deployment.hosts.join(', ')}` },
      ]);
    host = match;
  }
  const normalized = normalizeRequestPath(input.path);
  if (normalized === undefined || !deployment.pathPrefixes.some((p) => underPrefix(normalized, p)))
    throw new ApiError('validation-failed', 'path is not under one of the deployment’s path prefixes', [
      { field: 'path', message: `must start with one of ${deployment.pathPrefixes.join(', ')}` },
    ]);
  const headers: Record<string, string> = {};
  if (input.authorization !== undefined) headers.authorization = input.authorization;
  if (input.accessKey !== undefined) headers[ACCESS_KEY_HEADER] = input.accessKey;
  return { method: input.method ?? 'GET', host, path: input.path, headers };
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Probes per caller: a token bucket of `limit` tokens refilled at `limit` per `windowMs`, in this process's
 * memory. Modest on purpose (a person clicking Test); per replica, since a probe costs the gateway one request
 * and a shared PostgreSQL bucket (as key creation has in the keys service, which identity may not import)
 * would cost a transaction per click.
 */
export class ProbeRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly limit = 30,
    readonly windowMs = 60_000,
    /** Callers tracked before full buckets are dropped (a memory bound). */
    private readonly maxTracked = 10_000,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  }

  take(caller: string, now: number): RateDecision {
    const rate = this.limit / this.windowMs;
    const current = this.buckets.get(caller) ?? { tokens: this.limit, at: now };
    const tokens = Math.min(this.limit, current.tokens + Math.max(0, now - current.at) * rate);
    if (tokens < 1) {
      this.buckets.set(caller, { tokens, at: now });
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / rate / 1000)) };
    }
    this.buckets.set(caller, { tokens: tokens - 1, at: now });
    if (this.buckets.size > this.maxTracked) {
      for (const [id, b] of this.buckets) if (b.tokens + (now - b.at) * rate >= this.limit) this.buckets.delete(id);
    }
    return { allowed: true };
  }
}
