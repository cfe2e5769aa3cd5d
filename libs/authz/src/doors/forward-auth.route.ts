import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestId as newRequestId, SECURITY_HEADERS } from '@tollgate/platform';
import type { Logger } from 'pino';
import type { Doors } from './doors';
import type { ForwardAuthResponse } from './forward-auth';
import type { LoadShedder } from './load-shedder';

/** `Retry-After` of a shed request, in seconds: long enough for the turn backlog to drain. */
export const SHED_RETRY_AFTER_S = 1;

/** The answer to a shed request: fixed, so shedding costs a few µs and no allocation beyond the response. */
const SHED_BODY = JSON.stringify({
  allowed: false,
  status: 503,
  reason: 'authorizer-overloaded',
  message: 'the authorizer is overloaded; retry later',
});
/**
 * What every answer of the route carries, as the framework's `addSecurityHeaders` adds to the others. Answers
 * are written with `writeHead`'s flat `[name, value, …]` list, never an object: node:http walks an object's
 * keys with `for…in` + `hasOwn`, and an object spread together per request cost about 15 µs of CPU a request
 * (a quarter of the door, docs/performance.md); the list costs next to nothing over the bare headers.
 */
const FIXED_HEADERS: readonly string[] = [
  'x-content-type-options',
  SECURITY_HEADERS['X-Content-Type-Options'],
  'cache-control',
  SECURITY_HEADERS['Cache-Control'],
  'content-type',
  'application/json; charset=utf-8',
];
const SHED_HEADERS: readonly string[] = [
  ...FIXED_HEADERS,
  'retry-after',
  String(SHED_RETRY_AFTER_S),
  'x-ext-auth-reason',
  'authorizer-overloaded',
  'content-length',
  String(Buffer.byteLength(SHED_BODY)),
];
const ERROR_BODY = JSON.stringify({ error: { code: 'internal-error', message: 'internal error' } });

/** The methods `ForwardAuthController` documents (HEAD comes with GET); others go to the framework (404). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** `/v1/forward-auth`, `/v1/forward-auth/`, each with or without a query string. */
export function isForwardAuthUrl(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith('/v1/forward-auth')) return false;
  const rest = url.length === 16 ? '' : url[16] === '/' ? url.slice(17) : url.slice(16);
  return rest === '' || rest[0] === '?';
}

export interface ForwardAuthRouteOptions {
  doors: Doors;
  shedder: LoadShedder;
  /** Counts a shed request (the metric `tollgate_authz_shed_total{door}`). */
  onShed: () => void;
  logger: Logger;
}

/**
 * `GET /v1/forward-auth` (any method) on the bare `node:http` request, ahead of Fastify and NestJS: the
 * door every proxy calls once per model request, so it runs the same `Doors.forwardAuth` (check, decision
 * log, metrics) without the framework's routing, hooks and reply objects, which cost three times the check
 * itself (docs/performance.md). Requests over the turn's budget are shed (`LoadShedder`) and their connection
 * is not read for `Retry-After` (`holdOff`). Returns false for
 * any other URL, which the framework then serves. Forward-auth reads headers only; a body is discarded.
 */
export function forwardAuthRoute(options: ForwardAuthRouteOptions) {
  const { doors, shedder, onShed, logger } = options;
  const bodies = new AnswerBodies();
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!isForwardAuthUrl(req.url) || !METHODS.has(req.method!)) return false;
    const headers = req.headers;
    const credentialed = headers.authorization !== undefined || headers['x-model-access-key'] !== undefined;
    if (!shedder.admit(credentialed)) {
      onShed();
      res.writeHead(503, SHED_HEADERS as string[]).end(SHED_BODY);
      holdOff(req);
      return true;
    }
    const id = newRequestId(headers['x-request-id']);
    try {
      const result = doors.forwardAuth(headers, req.rawHeaders, id);
      if (result instanceof Promise) {
        result.then(
          (r) => answer(res, id, r, bodies),
          (err: unknown) => fail(res, id, err, logger),
        );
      } else answer(res, id, result, bodies);
    } catch (err) {
      fail(res, id, err, logger);
    }
    return true;
  };
}

/**
 * Stops reading a shed request's connection for about `Retry-After`: its next (pipelined or following)
 * requests wait in the kernel's buffers, and TCP slows the sender down, instead of each costing a parse and
 * an answer in the turns the log source needs. A flooding connection then costs one request a second.
 * The pause is spread over 0.5-1.5 × `Retry-After`: the connections shed in one turn would otherwise all be
 * read again in one later turn, re-forming the same long turn every second.
 *
 * The pause is taken in `setImmediate`, not here: once the answer is written, node:http dumps the finished
 * request, and that resumes the socket on the next tick (`IncomingMessage._read` → `readStart`), undoing a
 * pause taken now. A flooding connection then went on at full speed (measured: one connection sent 69,000
 * requests in 3 s with the pause taken synchronously, 3 with it taken after the turn).
 */
function holdOff(req: IncomingMessage): void {
  const socket = req.socket;
  if (holding.has(socket)) return;
  holding.add(socket);
  setImmediate(() => {
    socket.pause();
    setTimeout(
      () => {
        holding.delete(socket);
        socket.resume();
      },
      SHED_RETRY_AFTER_S * 1000 * (0.5 + Math.random()),
    ).unref();
  });
}

/** Connections being held off; a pipelined request shed in the same turn does not pause them twice. */
const holding = new WeakSet<IncomingMessage['socket']>();

/**
 * The JSON of each distinct answer body, with its `content-length`: a door gives a few hundred distinct
 * bodies (reasons × deployments), each of them thousands of times, and stringifying and measuring each
 * again was about a tenth of the route's own CPU (docs/performance.md). Keyed by the message, which names
 * the deployment and the reason (the checker hands out the same message string each time, so the lookup
 * does not hash a new one); the other fields are compared, never assumed. At most `MAX_ANSWER_BODIES` are
 * kept; past that, all are dropped and kept again.
 */
class AnswerBodies {
  private readonly byMessage = new Map<string, AnswerBody>();

  of(body: ForwardAuthResponse['body']): AnswerBody {
    const kept = this.byMessage.get(body.message);
    if (kept !== undefined && sameBody(kept.body, body)) return kept;
    const json = JSON.stringify(body);
    const prepared = { body: { ...body }, json, length: String(Buffer.byteLength(json)) };
    if (this.byMessage.size >= MAX_ANSWER_BODIES) this.byMessage.clear();
    this.byMessage.set(body.message, prepared);
    return prepared;
  }
}

interface AnswerBody {
  readonly body: ForwardAuthResponse['body'];
  readonly json: string;
  /** `content-length`: the UTF-8 bytes of `json`. */
  readonly length: string;
}

const MAX_ANSWER_BODIES = 4096;

const sameBody = (a: ForwardAuthResponse['body'], b: ForwardAuthResponse['body']): boolean =>
  a.reason === b.reason && a.status === b.status && a.allowed === b.allowed && a.message === b.message;

function answer(res: ServerResponse, id: string, response: ForwardAuthResponse, bodies: AnswerBodies): void {
  const { json: body, length } = bodies.of(response.body);
  const headers = [...FIXED_HEADERS, 'x-request-id', id, 'content-length', length];
  const decision = response.headers;
  for (const name in decision) headers.push(name, decision[name]!);
  res.writeHead(response.status, headers);
  res.end(body);
}

function fail(res: ServerResponse, id: string, err: unknown, logger: Logger): void {
  logger.error({ err, requestId: id, url: '/v1/forward-auth' }, 'unhandled error');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(500, [...FIXED_HEADERS, 'x-request-id', id]);
  res.end(ERROR_BODY);
}
