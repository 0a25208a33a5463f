import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDueWebhooks, setWebhook } from '../../server/src/webhooks/index.ts';
import { startReceiver, type WebhookReceiver } from '../../server/test/support/receiver.ts';
import { recordSecret } from '../../server/test/support/secrets.ts';
import { STORE_KINDS } from '../../server/test/support/stores.ts';
import { codes, WebhookVerificationError } from '../src/index.ts';
import { rejection, SdkHarness } from './support.ts';

// webhooks.verify on what Gatehouse really sends: an account connected through the server flow
// makes an account.connected delivery, received here over HTTP and verified by the SDK.
describe.each(STORE_KINDS)('@gatehouse/node webhooks.verify on real deliveries on %s', (kind) => {
  const h = new SdkHarness();
  let receiver: WebhookReceiver;
  let secret: string;

  beforeAll(async () => {
    await h.start(kind);
    receiver = await startReceiver();
    ({ secret } = await setWebhook(h.gatehouse.services, h.web.app.id, receiver.url));
    recordSecret(secret);
  });
  afterAll(async () => {
    await receiver?.close();
    await h.close();
  });

  it('verifies a delivery and returns its event; the same delivery with another secret, altered or late is refused', async () => {
    const { state, nonce, url } = await h.authorize(h.sdk, 'webhook-user');
    const credentials = await h.sdk.exchangeCredentials(state, nonce, url);
    recordSecret(credentials.access_token, credentials.refresh_token);
    await deliverDueWebhooks(h.gatehouse.services, { timeoutMs: 5000 });
    const [delivery] = await receiver.waitFor(1);

    const event = h.sdk.webhooks.verify(delivery!.body, delivery!.headers, { secret });
    expect(event.type).toBe('account.connected');
    expect(event.id).toMatch(/^evt_/);
    expect(event.data.account).toMatchObject({ id: credentials.account!.id, provider: 'oidc', email: 'webhook-user@example.test' });
    expect(delivery!.headers['gatehouse-event']).toBe('account.connected');

    const wrongSecret = await rejection(() => h.sdk.webhooks.verify(delivery!.body, delivery!.headers, { secret: `${secret}x` }));
    expect(wrongSecret).toBeInstanceOf(WebhookVerificationError);
    expect(wrongSecret.code).toBe(codes.WEBHOOK_BAD_SIGNATURE);
    const altered = delivery!.body.replace('account.connected', 'account.revoked');
    expect((await rejection(() => h.sdk.webhooks.verify(altered, delivery!.headers, { secret }))).code).toBe(codes.WEBHOOK_BAD_SIGNATURE);
    const late = Date.now() + 301_000;
    expect((await rejection(() => h.sdk.webhooks.verify(delivery!.body, delivery!.headers, { secret, now: late }))).code).toBe(codes.WEBHOOK_STALE);
  });
});
