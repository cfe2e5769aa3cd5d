import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from '@tollgate/contracts';
import type { FastifyInstance } from 'fastify';
import { presentApiError } from './error.filter';

/**
 * What every Tollgate HTTP server does before a request reaches a route (issue 13 item 7): bounded time to
 * send a request, a bounded number of connections, the error shape also for the errors Node answers on its
 * own, and security headers on every answer.
 */

export interface HttpLimits {
  /** Time to send the request headers (Node's `headersTimeout`); at most `requestTimeoutMs`. */
  headersTimeoutMs: number;
  /** Time to send the whole request, body included: a slower sender gets 408 and a closed connection. */
  requestTimeoutMs: number;
  /** How often Node checks the two timeouts above: a slow request is cut within this much of its limit. */
  timeoutCheckIntervalMs: number;
  /** Open connections per process; beyond it, new connections are closed at once. */
  maxConnections: number;
}

/**
 * A management or authorizer request is small (bodies ≤ 1 MiB): 15 s is generous for a real client and
 * cuts a slowloris-style sender in seconds rather than Node's default of 5 minutes.
 */
export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  timeoutCheckIntervalMs: 1_000,
  maxConnections: 4096,
};

/** The Fastify server options that carry `limits`. */
export function serverOptions(limits: HttpLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: limits.timeoutCheckIntervalMs },
    clientErrorHandler: answerClientError,
  };
}

/**
 * Errors Node raises before Fastify sees a request (a timeout, headers over 16 KiB, bytes that are not
 * HTTP), answered in the contract's error shape on the raw socket, which is then closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const apiError =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ApiError('request-timeout', 'the request was not received in time')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new ApiError('request-header-too-large', 'the request headers exceed 16 KiB')
        : new ApiError('malformed-request', 'the request is not valid HTTP/1.1');
  const answer = presentApiError(apiError);
  const body = Buffer.from(answer.body);
  const head = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}`,
    `Content-Type: ${answer.contentType}`,
    `Content-Length: ${body.length}`,
    'Connection: close',
    ...Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  if (socket.writable) socket.end(Buffer.concat([Buffer.from(head), body]), () => socket.destroy());
  else socket.destroy();
}

/** On every answer. `no-store` is a default a route may override (the JWKS is cacheable); the others are fixed. */
export const SECURITY_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' } as const;

/**
 * The OpenAPI UI's policy: Swagger UI loads its own scripts and styles from `/docs/…`, uses inline styles
 * and `data:` images, and fetches `/docs-json`; nothing else, and it may not be framed.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_PATH = /^\/docs(?:[/?-]|$)/;

/**
 * The web console's policy: its own bundled script and stylesheet only (no inline script or style, no eval),
 * requests to its own origin only, no plugins, no framing, and forms that can post only to this origin.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** On the console's pages, besides the CSP: no framing by older browsers, no referrer, its own browsing group. */
export const CONSOLE_HEADERS = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
} as const;

const CONSOLE_PATH = /^\/console(?:[/?]|$)/;

/**
 * Adds the security headers to every answer of `fastify` (errors included), the CSP to `/docs`, and the
 * console's headers to `/console`.
 */
export function addSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('X-Content-Type-Options', SECURITY_HEADERS['X-Content-Type-Options']);
    // Answers carry keys, tokens and per-caller data: no shared cache may keep them unless a route says so.
    if (!reply.hasHeader('Cache-Control')) void reply.header('Cache-Control', SECURITY_HEADERS['Cache-Control']);
    if (DOCS_PATH.test(request.url)) void reply.header('Content-Security-Policy', DOCS_CSP);
    else if (CONSOLE_PATH.test(request.url)) void reply.headers(CONSOLE_HEADERS);
    done(null, payload);
  });
}
