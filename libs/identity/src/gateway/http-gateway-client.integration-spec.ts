import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayFailure } from '../application/probe.service';
import type { ProbeRequest } from '../domain/probe';
import { HttpGatewayClient } from './http-gateway-client';

// The probe's HTTP client against a local node:http "gateway" (no database or Kafka needed; an
// integration spec only because it opens sockets).
describe('HttpGatewayClient (a local node:http gateway)', () => {
  let server: Server;
  let url: string;
  const seen: { method?: string; url?: string; headers: IncomingHttpHeaders }[] = [];
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      const path = req.url ?? '/';
      if (path.startsWith('/redirect')) {
        res.writeHead(302, { location: '/elsewhere' });
        res.end();
      } else if (path.startsWith('/slow')) {
        held.push(res); // never answers within the client's limit
      } else if (path.startsWith('/big')) {
        // A long stream: the client must answer from the status line without reading it all.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('secret-model-output '.repeat(1000));
        held.push(res);
      } else if (path.startsWith('/garbage')) {
        req.socket.end('NOT HTTP AT ALL\r\n\r\n');
      } else {
        res.writeHead(path.startsWith('/missing') ? 404 : 200, { 'content-type': 'application/json' });
        res.end('{"answer":"model body"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const probe = (path: string, extra: Partial<ProbeRequest> = {}): ProbeRequest => ({
    method: 'GET',
    host: 'models.example.com',
    path,
    headers: {},
    ...extra,
  });

  it('sends the deployment host, the raw path, the method and the credential headers; answers status and latency only', async () => {
    const result = await new HttpGatewayClient(url).send(
      probe('/v1/a/../b%41?q=1', {
        method: 'POST',
        headers: { authorization: 'Bearer tgi_probe', 'x-model-access-key': 'tga_probe' },
      }),
    );
    expect(result).toEqual({ status: 200, latencyMs: expect.any(Number) });
    expect(Object.keys(result).sort()).toEqual(['latencyMs', 'status']);
    const request = seen.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', url: '/v1/a/../b%41?q=1' });
    expect(request.headers).toMatchObject({
      host: 'models.example.com',
      authorization: 'Bearer tgi_probe',
      'x-model-access-key': 'tga_probe',
      'content-length': '0',
      'user-agent': 'tollgate-probe',
    });
  });

  it("reports the model's status as it is (404), and a redirect without following it", async () => {
    const client = new HttpGatewayClient(url);
    expect((await client.send(probe('/missing'))).status).toBe(404);
    const before = seen.length;
    expect((await client.send(probe('/redirect'))).status).toBe(302);
    expect(seen.length).toBe(before + 1);
    expect(seen.some((r) => r.url === '/elsewhere')).toBe(false);
  });

  it('answers a streaming response from its status line, without waiting for or returning the body', async () => {
    const result = await new HttpGatewayClient(url, 2000).send(probe('/big'));
    expect(result.status).toBe(200);
    expect(JSON.stringify(result)).not.toMatch(/secret-model-output/);
  });

  it('fails with a timeout when the gateway does not answer in time', async () => {
    const error = await new HttpGatewayClient(url, 300).send(probe('/slow')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayFailure);
    expect(error).toMatchObject({ kind: 'timeout' });
  });

  it('fails as unreachable on a refused connection or an answer that is not HTTP, naming no URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await new HttpGatewayClient(`http://127.0.0.1:${port}`).send(probe('/')).catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: 'unreachable', message: 'connection refused (ECONNREFUSED)' });
    const garbage = await new HttpGatewayClient(url).send(probe('/garbage')).catch((e: unknown) => e);
    expect(garbage).toBeInstanceOf(GatewayFailure);
    expect(garbage).toMatchObject({ kind: 'unreachable' });
    expect((garbage as Error).message).not.toContain('127.0.0.1');
  });
});
