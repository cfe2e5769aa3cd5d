import { describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, webhookKey } from './signature';

// Secrets in the Standard Webhooks format; signatures are made with the reference implementation.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD_SECRET = 'whsec_dGhlIG9sZCBzZWNyZXQgb2YgYSByb3RhdGlvbg==';
const OTHER = 'whsec_c29tZWJvZHkgZWxzZXMgc2VjcmV0IGtleQ==';
const NOW = Date.parse('2026-11-26T06:30:00.000Z');
const body = Buffer.from(
  '{"type":"user.groups.changed","timestamp":"2026-11-26T06:30:00.000Z","data":{"subject":"00u1","groups":["ml"]}}',
);

function signed(secret: string, at = NOW, id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', payload = body) {
  const signature = new Webhook(secret).sign(id, new Date(at), payload.toString());
  return { id, timestamp: String(Math.floor(at / 1000)), signature };
}

const verify = (headers: ReturnType<typeof signed>, keys = [SECRET], payload = body, now = NOW) =>
  verifyWebhook({ headers, body: payload, keys: keys.map(webhookKey), now });

describe('Standard Webhooks verification', () => {
  it('accepts a delivery signed by the reference implementation', () => {
    expect(verify(signed(SECRET))).toEqual({ ok: true, id: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', timestamp: NOW / 1000 });
  });

  it('accepts any of the connector secrets (rotation) and any of several signatures', () => {
    expect(verify(signed(OLD_SECRET), [SECRET, OLD_SECRET]).ok).toBe(true);
    const two = signed(SECRET);
    const both = { ...two, signature: `${signed(OTHER).signature} ${two.signature}` };
    expect(verify(both).ok).toBe(true);
  });

  it('refuses a missing header or signature as webhook-signature-invalid', () => {
    const h = signed(SECRET);
    for (const missing of [
      { ...h, signature: undefined },
      { ...h, id: undefined },
      { ...h, timestamp: undefined },
    ]) {
      expect(verifyWebhook({ headers: missing, body, keys: [webhookKey(SECRET)], now: NOW })).toMatchObject({
        ok: false,
        code: 'webhook-signature-invalid',
      });
    }
  });

  it('refuses another secret, a changed body, id or timestamp', () => {
    expect(verify(signed(OTHER))).toMatchObject({ ok: false, code: 'webhook-signature-invalid' });
    expect(verify(signed(SECRET), [SECRET], Buffer.from(body.toString().replace('ml', 'admins')))).toMatchObject({
      ok: false,
      code: 'webhook-signature-invalid',
    });
    expect(verify({ ...signed(SECRET), id: 'msg_other' })).toMatchObject({
      ok: false,
      code: 'webhook-signature-invalid',
    });
    expect(verify({ ...signed(SECRET), timestamp: String(NOW / 1000 + 1) })).toMatchObject({
      ok: false,
      code: 'webhook-signature-invalid',
    });
  });

  it('ignores other versions and malformed entries', () => {
    const h = signed(SECRET);
    expect(verify({ ...h, signature: h.signature.replace('v1,', 'v1a,') })).toMatchObject({
      ok: false,
      code: 'webhook-signature-invalid',
    });
    expect(verify({ ...h, signature: 'garbage v1 ,,,' })).toMatchObject({
      ok: false,
      code: 'webhook-signature-invalid',
    });
  });

  it('a genuine but stale or future delivery is webhook-timestamp-invalid (±5 min)', () => {
    expect(verify(signed(SECRET, NOW - 301_000))).toMatchObject({ ok: false, code: 'webhook-timestamp-invalid' });
    expect(verify(signed(SECRET, NOW + 301_000))).toMatchObject({ ok: false, code: 'webhook-timestamp-invalid' });
    expect(verify(signed(SECRET, NOW - 299_000)).ok).toBe(true);
    expect(verify({ ...signed(SECRET), timestamp: '2026-11-26' })).toMatchObject({
      ok: false,
      code: 'webhook-timestamp-invalid',
    });
  });

  it('verifies the raw bytes: the same JSON re-serialised does not verify', () => {
    const h = signed(SECRET);
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(verify(h, [SECRET], reformatted)).toMatchObject({ ok: false, code: 'webhook-signature-invalid' });
  });
});
