/**
 * The JWKS cache and token verifier against a real HTTP server (node:http on 127.0.0.1, port 0) with the
 * global fetch: real timeouts, redirects refused, only the configured URL requested.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IssuerRegistry } from './issuer-registry';
import { JwksCache } from './jwks-cache';
import { TokenVerifier } from './token-verifier';
import { edSigner, signJwt } from './testing';

const k1 = edSigner('k1');
const k2 = edSigner('k2');

let server: Server;
let base: string;
const requests: string[] = [];
let keys = [k1.publicJwk];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/certs') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: '/certs' }).end();
    } else if (req.url === '/evil') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [k2.publicJwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests.length = 0;
  keys = [k1.publicJwk];
});

describe('JWKS over HTTP', () => {
  it('verifies a token with a key fetched from jwksUri, once, and never fetches a jku', async () => {
    const now = Date.now();
    const iss = `${base}/realm`;
    const registry = new IssuerRegistry([
      { issuer: iss, jwksUri: `${base}/certs`, audiences: ['tollgate'], algorithms: ['EdDSA'] },
    ]);
    const verifier = new TokenVerifier({ issuers: registry });
    const claims = {
      iss,
      aud: 'tollgate',
      sub: 'alice',
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + 60,
    };
    expect(await verifier.verify(signJwt(k1, claims))).toMatchObject({ ok: true, token: { subject: 'alice' } });
    expect(await verifier.verify(signJwt(k1, { ...claims, sub: 'bob' }))).toMatchObject({ ok: true });
    expect(await verifier.verify(signJwt(k2, claims, { jku: `${base}/evil` }))).toMatchObject({
      ok: false,
      reason: 'token-invalid',
    });
    expect(requests).toEqual(['/certs']);
  });

  it('refuses redirects (fails closed)', async () => {
    const errors: Error[] = [];
    const cache = new JwksCache({ issuer: 'i', jwksUri: `${base}/redirect`, onError: (e) => errors.push(e) });
    expect(await cache.getKey('k1', 'EdDSA')).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(requests).toEqual(['/redirect']);
  });

  it('fails closed on 404 and on a closed port', async () => {
    expect(await new JwksCache({ issuer: 'i', jwksUri: `${base}/missing` }).getKey('k1', 'EdDSA')).toBeUndefined();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(
      await new JwksCache({ issuer: 'i', jwksUri: `http://127.0.0.1:${port}/certs` }).getKey('k1', 'EdDSA'),
    ).toBeUndefined();
  });

  it('picks up a rotated key after the cool-down', async () => {
    let now = 1_000_000;
    const cache = new JwksCache({ issuer: 'i', jwksUri: `${base}/certs`, now: () => now, cooldownMs: 30_000 });
    expect(await cache.getKey('k1', 'EdDSA')).toBeDefined();
    keys = [k1.publicJwk, k2.publicJwk];
    expect(await cache.getKey('k2', 'EdDSA')).toBeUndefined();
    now += 30_000;
    expect(await cache.getKey('k2', 'EdDSA')).toBeDefined();
    expect(requests).toEqual(['/certs', '/certs']);
  });
});
