import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { GatewayFailure, type GatewayClient } from '../application/probe.service';
import type { ProbeRequest, ProbeResult } from '../domain/probe';

/** How long a probe waits for the gateway's response headers (connect included). */
export const PROBE_TIMEOUT_MS = 5000;
const HAS_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The deployment probe's HTTP client: one request to the operator's gateway (`TOLLGATE_GATEWAY_URL`, an
 * origin). node:http rather than fetch, for two concrete reasons: fetch drops a `Host` header (a forbidden
 * header name) and re-encodes the path (`/a/../b` becomes `/b`), while the probe must send the deployment's
 * host and exactly the path the caller asked about, as a client of the gateway would. Redirects are never
 * followed (node:http does not): a 3xx is the answer. No connection is reused (`agent: false`); the response
 * body is never read (the connection is closed once the status line and headers are in, so a streaming model
 * costs nothing more), and the exchange up to the headers is bounded by `timeoutMs`.
 */
export class HttpGatewayClient implements GatewayClient {
  private readonly origin: URL;

  constructor(
    gatewayUrl: string,
    private readonly timeoutMs = PROBE_TIMEOUT_MS,
  ) {
    this.origin = new URL(gatewayUrl);
  }

  send(probe: ProbeRequest): Promise<ProbeResult> {
    const started = performance.now();
    const signal = AbortSignal.timeout(this.timeoutMs);
    const request = this.origin.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<ProbeResult>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        reject(failureOf(error, signal.aborted));
      };
      let req: ReturnType<typeof httpRequest>;
      try {
        req = request(
          {
            protocol: this.origin.protocol,
            hostname: this.origin.hostname.replace(/^\[|\]$/g, ''),
            port: this.origin.port || undefined,
            method: probe.method,
            path: probe.path,
            agent: false,
            signal,
            // TLS: the gateway's own name (the URL's), not the deployment's host, is what its certificate names.
            servername: this.origin.hostname,
            headers: {
              ...probe.headers,
              host: probe.host,
              'user-agent': 'tollgate-probe',
              accept: '*/*',
              ...(HAS_BODY.has(probe.method) ? { 'content-length': '0' } : {}),
            },
          },
          (res: IncomingMessage) => {
            if (settled) return;
            settled = true;
            resolve({ status: res.statusCode ?? 0, latencyMs: Math.round(performance.now() - started) });
            // The status is the answer: the body (possibly a long stream) is never read, the connection closed.
            res.destroy();
            req.destroy();
          },
        );
      } catch (error) {
        // node:http refuses a header value or path it cannot send (the schema should have refused it first).
        fail(error);
        return;
      }
      req.on('error', fail);
      req.end();
    });
  }
}

/** A failure in words a caller may read: its kind and the system error code, never a URL, header or stack. */
function failureOf(error: unknown, timedOut: boolean): GatewayFailure {
  if (timedOut) return new GatewayFailure('timeout', 'no response within the probe time limit');
  const code = (error as { code?: unknown } | undefined)?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    HPE_INVALID_CONSTANT: 'the answer was not HTTP',
  };
  if (typeof code === 'string' && known[code]) return new GatewayFailure('unreachable', `${known[code]} (${code})`);
  if (typeof code === 'string' && /^(HPE_|ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO)/.test(code))
    return new GatewayFailure('unreachable', `no valid HTTP(S) answer (${code})`);
  return new GatewayFailure('unreachable', typeof code === 'string' ? code : 'connection failed');
}
