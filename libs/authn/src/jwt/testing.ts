/**
 * Test helpers (used by the specs only; not exported from the package index): fixed test keys (no key
 * generation at test time: RECIPES.md, the Node 20 export hang), public JWKs exported once, and a raw JWS signer that lets a
 * test put anything in the header (attack tokens).
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { testEcKey, testEd25519Key, testRsaKey } from '../../../../test/support/test-keys';
import type { PublicJwk } from './types';

export interface TestSigner {
  kid: string;
  alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  publicJwk: PublicJwk;
  publicPem: string;
}

function fromPool(privateKey: KeyObject, kid: string, alg: TestSigner['alg']): TestSigner {
  const pub = createPublicKey(privateKey);
  const publicJwk = { ...(pub.export({ format: 'jwk' }) as PublicJwk), kid };
  return {
    kid,
    alg,
    privateKey,
    publicJwk,
    publicPem: pub.export({ type: 'spki', format: 'pem' }) as string,
  };
}

export function rsaSigner(kid = 'rsa-1', alg: 'RS256' | 'PS256' = 'RS256'): TestSigner {
  return fromPool(testRsaKey(), kid, alg);
}

export function ecSigner(kid = 'ec-1'): TestSigner {
  return fromPool(testEcKey(), kid, 'ES256');
}

export function edSigner(kid = 'ed-1'): TestSigner {
  return fromPool(testEd25519Key(), kid, 'EdDSA');
}

export const b64json = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/**
 * A compact JWS over `payload` with header `{ alg, kid, typ: 'JWT', ...header }` (a header member set to
 * undefined is removed), signed by `signer` according to its own algorithm whatever the header says.
 */
export function signJwt(
  signer: TestSigner,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const h: Record<string, unknown> = { alg: signer.alg, kid: signer.kid, typ: 'JWT', ...header };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  const input = `${b64json(h)}.${b64json(payload)}`;
  const data = Buffer.from(input);
  let sig: Buffer;
  switch (signer.alg) {
    case 'RS256':
      sig = sign('sha256', data, signer.privateKey);
      break;
    case 'PS256':
      sig = sign('sha256', data, { key: signer.privateKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 });
      break;
    case 'ES256':
      sig = sign('sha256', data, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      sig = sign(null, data, signer.privateKey);
      break;
  }
  return `${input}.${sig.toString('base64url')}`;
}

/** An in-memory `fetch` serving JSON documents by URL, recording every URL asked for. */
export function memoryFetch(docs: Map<string, unknown>) {
  const calls: string[] = [];
  const fetch = async (url: string, _init: unknown) => {
    calls.push(url);
    const doc = docs.get(url);
    if (doc === undefined) return { ok: false, status: 404, text: async () => 'not found' };
    if (doc instanceof Error) throw doc;
    return { ok: true, status: 200, text: async () => (typeof doc === 'string' ? doc : JSON.stringify(doc)) };
  };
  return { fetch, calls };
}
