import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server that behaves like the parts of Microsoft Graph and the Entra token endpoint that
 * group-overage sign-in uses: client-credentials tokens, `POST /v1.0/users/{id}/getMemberObjects` answered in
 * pages linked by `@odata.nextLink`, and, on demand, throttling (429 + Retry-After), redirects, a link to
 * another origin, a slow answer, an oversized answer or a revoked access token.
 */
export interface GraphServer {
  tokenEndpoint: string;
  groupsEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** The user's groups, by their `oid`. */
  setGroups(oid: string, groups: string[]): void;
  /** The next `count` calls to the groups endpoint misbehave as told. */
  misbehave(kind: Misbehaviour, count?: number): void;
  /** Requests seen, in order: `METHOD path` (with query). */
  readonly requests: string[];
  /** Headers of every request seen, in order. */
  readonly authorizations: (string | undefined)[];
  tokensIssued(): number;
  close(): Promise<void>;
}

export type Misbehaviour = 'throttle' | 'redirect' | 'foreign-link' | 'slow' | 'huge' | 'revoked-token';

export const GRAPH_PAGE_SIZE = 100;

export async function startGraphServer(options: { foreignOrigin?: string } = {}): Promise<GraphServer> {
  const clientId = 'tollgate-graph-client';
  const clientSecret = 'graph-client-secret-never-logged-0001';
  const groupsByOid = new Map<string, string[]>();
  const validTokens = new Set<string>();
  const misbehaviours: Misbehaviour[] = [];
  const requests: string[] = [];
  const authorizations: (string | undefined)[] = [];
  let issued = 0;
  let base = '';

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      requests.push(`${req.method} ${req.url}`);
      authorizations.push(req.headers.authorization);
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', base);
      if (url.pathname === '/tenant/oauth2/v2.0/token' && req.method === 'POST') {
        const form = new URLSearchParams(body);
        const good =
          form.get('grant_type') === 'client_credentials' &&
          form.get('client_id') === clientId &&
          form.get('client_secret') === clientSecret &&
          form.get('scope') === 'https://graph.microsoft.com/.default';
        if (!good) return json(res, 401, { error: 'invalid_client' });
        const token = `graph-access-token-${++issued}`;
        validTokens.add(token);
        return json(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: token });
      }
      const match = /^\/v1\.0\/users\/([^/]+)\/getMemberObjects$/.exec(url.pathname);
      if (!match) return json(res, 404, { error: { code: 'Request_ResourceNotFound' } });
      const misbehaviour = misbehaviours.shift();
      if (misbehaviour === 'throttle')
        return json(res, 429, { error: { code: 'TooManyRequests' } }, { 'retry-after': '7' });
      if (misbehaviour === 'redirect') {
        res.writeHead(302, { location: `${base}/elsewhere` });
        return res.end();
      }
      if (misbehaviour === 'slow') return; // never answers; the client's deadline ends it
      if (misbehaviour === 'huge') {
        return json(res, 200, { value: Array.from({ length: 200_000 }, (_, i) => `group-${i}-${'x'.repeat(20)}`) });
      }
      if (misbehaviour === 'revoked-token') validTokens.clear();
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      if (!token || !validTokens.has(token)) return json(res, 401, { error: { code: 'InvalidAuthenticationToken' } });
      if (page(url) === 0 && req.method !== 'POST') return json(res, 405, { error: { code: 'Request_BadRequest' } });
      const oid = decodeURIComponent(match[1]!);
      const all = groupsByOid.get(oid);
      if (!all) return json(res, 404, { error: { code: 'Request_ResourceNotFound' } });
      const start = page(url) * GRAPH_PAGE_SIZE;
      const value = all.slice(start, start + GRAPH_PAGE_SIZE);
      const more = start + GRAPH_PAGE_SIZE < all.length;
      const linkBase = misbehaviour === 'foreign-link' ? (options.foreignOrigin ?? 'http://127.0.0.1:9') : base;
      return json(res, 200, {
        '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)',
        value,
        ...(more ? { '@odata.nextLink': `${linkBase}${url.pathname}?$skiptoken=${page(url) + 1}` } : {}),
      });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    tokenEndpoint: `${base}/tenant/oauth2/v2.0/token`,
    groupsEndpoint: `${base}/v1.0/users/{userId}/getMemberObjects`,
    clientId,
    clientSecret,
    setGroups: (oid, groups) => void groupsByOid.set(oid, groups),
    misbehave: (kind, count = 1) => misbehaviours.push(...Array.from({ length: count }, () => kind)),
    requests,
    authorizations,
    tokensIssued: () => issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function page(url: URL): number {
  return Number(url.searchParams.get('$skiptoken') ?? 0);
}
