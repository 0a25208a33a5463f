import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recordSecret } from '../../server/test/support/secrets.ts';
import { codes, Gatehouse, verifyWebhook, WebhookVerificationError } from '../src/index.ts';
import { rejection } from './support.ts';

// The webhook contract, signed here independently of the SDK: Gatehouse-Signature: t=<s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
const SECRET = 'whsec_test-0123456789abcdef';
recordSecret(SECRET);
const NOW = Date.UTC(2026, 10, 23, 5, 0, 0);
const body = JSON.stringify({
  id: 'evt_1',
  type: 'account.connected',
  created_at: new Date(NOW).toISOString(),
  data: { account: { id: 'acc_1', provider: 'sandbox-drive', status: 'active' } },
});
const sign = (payload: string, t: number, secret = SECRET) => createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex');
const headers = (payload: string, t = Math.floor(NOW / 1000), secret = SECRET) => ({
  'Gatehouse-Signature': `t=${t},v1=${sign(payload, t, secret)}`,
  'Gatehouse-Event': 'account.connected',
  'Gatehouse-Delivery': 'dlv_1',
});

describe('webhooks.verify', () => {
  const sdk = new Gatehouse({ baseUrl: 'http://127.0.0.1:9', clientId: 'app_x' });
  const verify = (payload: string | Uint8Array, h: Record<string, string> | Headers, extra: { toleranceSeconds?: number; now?: number } = {}) =>
    sdk.webhooks.verify(payload, h, { secret: SECRET, now: NOW, ...extra });

  it('returns the event of a valid delivery: string or Buffer body, plain or fetch headers, any header case', () => {
    expect(verify(body, headers(body))).toMatchObject({ id: 'evt_1', type: 'account.connected', data: { account: { id: 'acc_1' } } });
    expect(verify(Buffer.from(body), headers(body)).id).toBe('evt_1');
    expect(verify(body, new Headers(headers(body))).id).toBe('evt_1');
    const lower = Object.fromEntries(Object.entries(headers(body)).map(([k, v]) => [k.toLowerCase(), v]));
    expect(verifyWebhook(body, lower, { secret: SECRET, now: NOW }).type).toBe('account.connected');
  });

  it('accepts a header carrying several v1 signatures when one matches (secret rotation)', () => {
    const t = Math.floor(NOW / 1000);
    const value = `t=${t},v1=${sign(body, t, 'old-secret-000000')},v1=${sign(body, t)}`;
    expect(verify(body, { 'gatehouse-signature': value }).id).toBe('evt_1');
  });

  it('refuses a bad signature, a tampered body, and another secret', async () => {
    const wrongSecret = await rejection(() => verify(body, headers(body, undefined, 'another-secret-123')));
    expect(wrongSecret).toBeInstanceOf(WebhookVerificationError);
    expect(wrongSecret.code).toBe(codes.WEBHOOK_BAD_SIGNATURE);
    const tampered = body.replace('acc_1', 'acc_2');
    expect((await rejection(() => verify(tampered, headers(body)))).code).toBe(codes.WEBHOOK_BAD_SIGNATURE);
    const flipped = headers(body);
    flipped['Gatehouse-Signature'] = flipped['Gatehouse-Signature'].replace(/v1=(.)/, (_m, c: string) => `v1=${c === '0' ? '1' : '0'}`);
    expect((await rejection(() => verify(body, flipped))).code).toBe(codes.WEBHOOK_BAD_SIGNATURE);
    // a signature over the same body at another time does not verify with this header's time
    const t = Math.floor(NOW / 1000);
    expect((await rejection(() => verify(body, { 'gatehouse-signature': `t=${t - 1},v1=${sign(body, t)}` }))).code).toBe(codes.WEBHOOK_BAD_SIGNATURE);
  });

  it('refuses a timestamp outside the tolerance (past or future), default 300 s', async () => {
    const t = Math.floor(NOW / 1000);
    expect(verify(body, headers(body, t - 299)).id).toBe('evt_1');
    expect((await rejection(() => verify(body, headers(body, t - 301)))).code).toBe(codes.WEBHOOK_STALE);
    expect((await rejection(() => verify(body, headers(body, t + 301)))).code).toBe(codes.WEBHOOK_STALE);
    expect(verify(body, headers(body, t - 1000), { toleranceSeconds: 1200 }).id).toBe('evt_1');
    expect((await rejection(() => verify(body, headers(body, t - 61), { toleranceSeconds: 60 }))).code).toBe(codes.WEBHOOK_STALE);
  });

  it('refuses a missing or malformed header, parsed JSON instead of the raw body, and a body that is not an event', async () => {
    expect((await rejection(() => verify(body, {}))).code).toBe(codes.WEBHOOK_MALFORMED);
    expect((await rejection(() => verify(body, { 'gatehouse-signature': 'v1=abc' }))).code).toBe(codes.WEBHOOK_MALFORMED);
    expect((await rejection(() => verify(body, { 'gatehouse-signature': `t=${Math.floor(NOW / 1000)}` }))).code).toBe(codes.WEBHOOK_MALFORMED);
    expect((await rejection(() => verify(JSON.parse(body) as string, headers(body)))).code).toBe(codes.WEBHOOK_MALFORMED);
    const notEvent = '[1,2,3]';
    expect((await rejection(() => verify(notEvent, headers(notEvent)))).code).toBe(codes.WEBHOOK_MALFORMED);
  });
});
