import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signature verification (https://www.standardwebhooks.com): HMAC-SHA256 with the
 * base64-decoded part of a `whsec_` secret over `<webhook-id>.<webhook-timestamp>.<raw body bytes>`;
 * `webhook-signature` holds space-separated `v1,<base64>` entries, one of which must match one of the
 * secrets (several during a rotation). Compared in constant time. The signature is checked before the
 * timestamp, so a stale but authentic delivery is told apart from a forged one.
 */

export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;
const MAX_ID_LENGTH = 256;
const MAX_SIGNATURES = 20;

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type WebhookVerification =
  | { ok: true; id: string; /** seconds since the epoch */ timestamp: number }
  | { ok: false; code: 'webhook-signature-invalid' | 'webhook-timestamp-invalid'; message: string };

/** The HMAC key of a `whsec_<base64>` secret. */
export function webhookKey(secret: string): Buffer {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  if (key.length === 0) throw new Error('empty webhook secret');
  return key;
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

export function webhookHeaders(headers: Record<string, string | string[] | undefined>): WebhookHeaders {
  return {
    id: header(headers['webhook-id']),
    timestamp: header(headers['webhook-timestamp']),
    signature: header(headers['webhook-signature']),
  };
}

export function signPayload(key: Buffer, id: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

export function verifyWebhook(input: {
  headers: WebhookHeaders;
  body: Buffer;
  keys: readonly Buffer[];
  now: number;
  toleranceSeconds?: number;
}): WebhookVerification {
  const { id, timestamp, signature } = input.headers;
  if (!id || !timestamp || !signature) {
    return {
      ok: false,
      code: 'webhook-signature-invalid',
      message: 'webhook-id, webhook-timestamp and webhook-signature are required',
    };
  }
  if (id.length > MAX_ID_LENGTH)
    return { ok: false, code: 'webhook-signature-invalid', message: 'webhook-id is too long' };
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, code: 'webhook-timestamp-invalid', message: 'webhook-timestamp must be Unix seconds' };
  }
  const presented = signature
    .split(' ')
    .filter(Boolean)
    .slice(0, MAX_SIGNATURES)
    .flatMap((entry) => {
      const comma = entry.indexOf(',');
      if (comma === -1 || entry.slice(0, comma) !== 'v1') return [];
      return [Buffer.from(entry.slice(comma + 1), 'base64')];
    });
  let valid = false;
  for (const key of input.keys) {
    const expected = signPayload(key, id, timestamp, input.body);
    for (const candidate of presented) {
      // Every comparison runs; lengths of HMAC-SHA256 outputs are public.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) valid = true;
    }
  }
  if (!valid)
    return {
      ok: false,
      code: 'webhook-signature-invalid',
      message: 'no webhook-signature matches a secret of this connector',
    };
  const seconds = Number(timestamp);
  const tolerance = input.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  if (Math.abs(input.now / 1000 - seconds) > tolerance) {
    return {
      ok: false,
      code: 'webhook-timestamp-invalid',
      message: `webhook-timestamp is more than ${tolerance} s away from the server's clock`,
    };
  }
  return { ok: true, id, timestamp: seconds };
}
