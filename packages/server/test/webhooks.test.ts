import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, freshAccessToken } from '../src/accounts/index.ts';
import { openServices } from '../src/boot.ts';
import { keyStatus } from '../src/keys/index.ts';
import { metricsFor } from '../src/metrics/index.ts';
import { sweepExpired, WEBHOOK_DELIVERY_RETENTION_MS } from '../src/store/index.ts';
import { checkWebhookUrl, deliverDueWebhooks, startWebhookWorker, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_DELAYS_MS } from '../src/webhooks/index.ts';
import { integrate, registerApp } from './support/fixtures.ts';
import { startGatehouse, testLogger, type RunningGatehouse } from './support/gatehouse.ts';
import { startReceiver, type Received, type WebhookReceiver } from './support/receiver.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { TestBrowser } from './support/browser.ts';
import { signInAtOidcUpstream, startOAuth2Upstream, startOidcUpstream, type OAuth2Upstream, type OidcUpstream } from './support/upstreams.ts';

type Json = any;
const MOCK_SECRET = 'mock-client-secret-hooks-0123456789';
type UpstreamMode = 'ok' | 'invalid_grant' | 'http_500';

/** The receiver's check, written from the contract alone (not with Gatehouse's own code). */
function verified(secret: string, hit: Received): boolean {
  const header = String(hit.headers['gatehouse-signature']);
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${hit.body}`).digest('hex');
  return expected === match[2] && Math.abs(Date.now() / 1000 - Number(match[1])) <= 300;
}

describe.each(STORE_KINDS)('webhooks on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let oauth2: OAuth2Upstream;
  let oidc: OidcUpstream;
  let clockOffset = 0;
  let upstreamMode: UpstreamMode = 'ok';
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    oauth2 = await startOAuth2Upstream();
    gatehouse = await startGatehouse({ kind, providersDir: oauth2.providersDir, clock: () => Date.now() + clockOffset });
    oidc = await startOidcUpstream(`${gatehouse.url}/connect/callback`);
    oauth2.server.service.on('beforeResponse', (response: { body: Record<string, unknown>; statusCode: number }, req: { body: Record<string, string> }) => {
      if (req.body.grant_type !== 'refresh_token') return;
      recordSecret(req.body.refresh_token, response.body.access_token as string, response.body.refresh_token as string);
      if (upstreamMode === 'invalid_grant') {
        response.statusCode = 400;
        response.body = { error: 'invalid_grant', error_description: 'revoked' };
      } else if (upstreamMode === 'http_500') {
        response.statusCode = 500;
        response.body = { error: 'server_error' };
      }
    });
  });

  afterAll(async () => {
    recordSecret(...(oauth2?.issuedTokens() ?? []), ...(oidc?.issuedTokens() ?? []));
    await oidc?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await gatehouse?.close();
    await oauth2?.close();
  });

  async function api(key: string, method: string, path: string, body?: unknown) {
    const response = await fetch(`${gatehouse.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  /** A fresh app with an integration and a webhook pointing at a receiver of its own. */
  async function hookedApp() {
    const created = await registerApp(gatehouse.services);
    await integrate(gatehouse.services, created.app.id, 'test-oauth2', { clientId: 'mock-client', clientSecret: MOCK_SECRET });
    const receiver = await startReceiver();
    receivers.push(receiver);
    const set = await api(created.apiKey, 'PUT', '/v1/webhook', { url: receiver.url });
    expect(set.status).toBe(200);
    recordSecret(set.body.secret);
    return { id: created.app.id, key: created.apiKey, receiver, secret: set.body.secret as string };
  }

  async function importAccount(key: string, expiresIn = 3600) {
    const access = `at-${randomBytes(16).toString('hex')}`;
    const refresh = `rt-${randomBytes(16).toString('hex')}`;
    recordSecret(access, refresh);
    const imported = await api(key, 'POST', '/v1/accounts', { provider: 'test-oauth2', access_token: access, refresh_token: refresh, expires_in: expiresIn });
    expect(imported.status).toBeLessThan(300);
    return imported.body as Json;
  }

  const deliver = () => deliverDueWebhooks(gatehouse.services, { timeoutMs: 500 });
  const events = (receiver: WebhookReceiver) => receiver.received.map((hit) => JSON.parse(hit.body) as Json);
  const deliveries = async (key: string) => (await api(key, 'GET', '/v1/webhook/deliveries')).body.data as Json[];

  it('PUT /v1/webhook shows the secret once; GET never; the secret is sealed and counted by keys status; DELETE turns it off', async () => {
    const app = await hookedApp();
    expect(app.secret).toMatch(/^ghwh_[0-9a-f]{11}[A-Za-z0-9_-]{43}$/);
    const shown = await api(app.key, 'GET', '/v1/webhook');
    expect(shown).toEqual({ status: 200, body: { url: app.receiver.url, enabled: true, created_at: expect.any(String), updated_at: expect.any(String) } });
    expect(JSON.stringify(shown.body)).not.toContain(app.secret);
    const row = await gatehouse.services.db.selectFrom('webhook_endpoints').selectAll().where('app_id', '=', app.id).executeTakeFirstOrThrow();
    expect(row.secret_sealed).toMatch(/^v1\.test1\./);
    expect(row.secret_sealed).not.toContain(app.secret);
    expect(gatehouse.services.vault.open(row.secret_sealed, { table: 'webhook_endpoints', id: app.id, field: 'secret' })).toBe(app.secret);
    const status = await keyStatus(gatehouse.services);
    expect(status.columns.find((c) => c.table === 'webhook_endpoints')!.counts.test1).toBeGreaterThanOrEqual(1);

    // a bad URL is refused, and the one set stays
    for (const url of ['not a url', 'ftp://127.0.0.1/x', 'http://user:pw@127.0.0.1/x', `${app.receiver.url}#frag`]) {
      const refused = await api(app.key, 'PUT', '/v1/webhook', { url });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
    }
    expect((await api(app.key, 'GET', '/v1/webhook')).body.url).toBe(app.receiver.url);

    const off = await api(app.key, 'DELETE', '/v1/webhook');
    expect(off.body).toEqual({ url: null, enabled: false, created_at: null, updated_at: null });
    await importAccount(app.key);
    expect(await deliveries(app.key)).toEqual([]);
  });

  it('production takes https webhook URLs only', () => {
    const production = { config: { ...gatehouse.services.config, mode: 'production' as const } };
    expect(() => checkWebhookUrl(production, 'http://hooks.example.test/in')).toThrow(/must be https/);
    expect(checkWebhookUrl(production, 'https://hooks.example.test/in')).toBe('https://hooks.example.test/in');
  });

  it('account.connected arrives signed, in the contract shape, with the account as the API shows it', async () => {
    const app = await hookedApp();
    const account = await importAccount(app.key);
    expect(await deliver()).toBeGreaterThanOrEqual(1);
    const [hit] = await app.receiver.waitFor(1);
    expect(verified(app.secret, hit!)).toBe(true);
    expect(verified(`${app.secret}x`, hit!)).toBe(false);
    const body = JSON.parse(hit!.body) as Json;
    expect(body).toEqual({ id: expect.stringMatching(/^evt_/), type: 'account.connected', created_at: expect.any(String), data: { account } });
    expect(new Date(body.created_at).toISOString()).toBe(body.created_at);
    expect((await api(app.key, 'GET', `/v1/accounts/${account.id}`)).body).toEqual(body.data.account);
    expect(hit!.headers['gatehouse-event']).toBe('account.connected');
    expect(hit!.headers['content-type']).toBe('application/json');
    const [delivery] = await deliveries(app.key);
    expect(hit!.headers['gatehouse-delivery']).toBe(delivery.id);
    expect(delivery).toMatchObject({ event_id: body.id, event_type: 'account.connected', status: 'delivered', attempts: 1, last_status: 204, last_error: null });
    // no token in a webhook body
    expect(hit!.body).not.toMatch(/_token/);
  });

  it('an end user connecting through the browser flow sends account.connected; connecting again a needs_reauth account sends reconnected and recovered', async () => {
    const app = await hookedApp();
    await integrate(gatehouse.services, app.id, 'oidc', { clientId: oidc.clientId, clientSecret: oidc.clientSecret, issuer: oidc.issuer });
    const connect = async () => {
      const browser = new TestBrowser();
      const start = await browser.request(`${gatehouse.url}/connect/oidc?app=${app.id}`);
      const callback = await signInAtOidcUpstream(browser, start.headers.get('location')!, 'webhook-alice', `${gatehouse.url}/connect/callback`);
      expect((await browser.request(callback.href)).status).toBe(200);
    };
    await connect();
    await deliver();
    await app.receiver.waitFor(1);
    const connected = events(app.receiver)[0];
    expect(connected).toMatchObject({ type: 'account.connected', data: { account: { provider: 'oidc', email: 'webhook-alice@example.test', status: 'active' } } });
    await gatehouse.services.db.updateTable('accounts').set({ status: 'needs_reauth' }).where('id', '=', connected.data.account.id).execute();
    await connect();
    await deliver();
    await app.receiver.waitFor(3);
    expect(events(app.receiver).slice(1).map((e) => [e.type, e.data.account.id, e.data.account.status]).sort()).toEqual([
      ['account.reconnected', connected.data.account.id, 'active'],
      ['account.recovered', connected.data.account.id, 'active'],
    ]);
    expect(app.receiver.received.every((hit) => verified(app.secret, hit))).toBe(true);
  });

  it('refresh_failed on needs_reauth and once on entering backoff; recovered after a later success or a reconnect', async () => {
    const app = await hookedApp();
    const a = await importAccount(app.key, 60);
    await deliver();
    const b = await importAccount(app.key, 60);
    await deliver();
    // both imports read the same upstream profile: b is a reimport of a
    expect(b.id).toBe(a.id);

    upstreamMode = 'http_500';
    await gatehouse.services.db.updateTable('account_tokens').set({ expires_at: Date.now() - 1000 }).where('account_id', '=', a.id).execute();
    await expect(freshAccessToken(gatehouse.services, app.id, a.id)).rejects.toMatchObject({ code: 'upstream_backoff' });
    clockOffset = BACKOFF_BASE_MS + 1000;
    await expect(freshAccessToken(gatehouse.services, app.id, a.id)).rejects.toMatchObject({ code: 'upstream_backoff' });
    await deliver();
    upstreamMode = 'ok';
    clockOffset = 4 * BACKOFF_BASE_MS;
    await freshAccessToken(gatehouse.services, app.id, a.id);
    await deliver();
    upstreamMode = 'invalid_grant';
    await expect(freshAccessToken(gatehouse.services, app.id, a.id, { force: true })).rejects.toMatchObject({ code: 'needs_reauth' });
    await deliver();
    upstreamMode = 'ok';
    clockOffset = 0;
    await importAccount(app.key);
    await deliver();
    await app.receiver.waitFor(7);
    const seen = events(app.receiver);
    expect(seen.slice(0, 5).map((e) => e.type)).toEqual([
      'account.connected',
      'account.reconnected',
      'account.refresh_failed', // the first transient failure; the second one sends nothing
      'account.recovered',
      'account.refresh_failed',
    ]);
    // queued together by the reconnect, sent in one batch: in either order
    expect(seen.slice(5).map((e) => e.type).sort()).toEqual(['account.reconnected', 'account.recovered']);
    expect(seen[2].data).toMatchObject({ reason: 'transient', error: expect.stringContaining('HTTP 500'), retry_at: expect.any(String) });
    expect(seen[2].data.account.status).toBe('active');
    expect(seen[3].data).toMatchObject({ reason: 'refreshed', previous_failures: 2 });
    expect(seen[4].data).toMatchObject({ reason: 'needs_reauth' });
    expect(seen[4].data.account.status).toBe('needs_reauth');
    expect(seen.find((e, i) => i > 4 && e.type === 'account.recovered').data).toMatchObject({ reason: 'reconnected', account: { status: 'active' } });
    expect(app.receiver.received.every((hit) => verified(app.secret, hit))).toBe(true);
    const refreshes = await metricsFor(gatehouse.services).refresh.get();
    const count = (outcome: string) => refreshes.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    expect(count('transient')).toBeGreaterThanOrEqual(2);
    expect(count('success')).toBeGreaterThanOrEqual(1);
    expect(count('invalid_grant')).toBeGreaterThanOrEqual(1);
  });

  it('release sends account.revoked with the upstream revocation outcome', async () => {
    const app = await hookedApp();
    const account = await importAccount(app.key);
    await deliver();
    await app.receiver.waitFor(1);
    const released = await api(app.key, 'DELETE', `/v1/accounts/${account.id}`);
    expect(released.status).toBe(200);
    await deliver();
    await app.receiver.waitFor(2);
    const revoked = events(app.receiver)[1];
    expect(revoked.type).toBe('account.revoked');
    expect(revoked.data).toEqual({ account: released.body.account, upstream_revocation: released.body.upstream_revocation });
    expect(revoked.data.account.status).toBe('revoked');
    // releasing it again sends nothing more
    expect((await api(app.key, 'DELETE', `/v1/accounts/${account.id}`)).status).toBe(200);
    await deliver();
    expect(await deliveries(app.key)).toHaveLength(2);
    expect(app.receiver.received).toHaveLength(2);
  });

  it('a failed delivery is retried with backoff and recorded; redirects are not followed; after the last attempt it is given up', async () => {
    const app = await hookedApp();
    const before = await metricsFor(gatehouse.services).webhookDeliveries.get();
    app.receiver.mode = { status: 500 };
    await importAccount(app.key);
    await deliver();
    let [delivery] = await deliveries(app.key);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, last_status: 500, last_error: 'the receiver answered HTTP 500' });
    const wait = Date.parse(delivery.next_attempt_at) - gatehouse.services.clock();
    expect(wait).toBeGreaterThan(WEBHOOK_RETRY_DELAYS_MS[0]! * 0.75);
    expect(wait).toBeLessThan(WEBHOOK_RETRY_DELAYS_MS[0]! * 1.25);
    // not due yet: nothing is sent
    await deliver();
    expect(app.receiver.received).toHaveLength(1);

    app.receiver.mode = { redirect: `${app.receiver.url}/elsewhere` };
    clockOffset += WEBHOOK_RETRY_DELAYS_MS[0]! * 1.3;
    await deliver();
    expect(app.receiver.received).toHaveLength(2); // the redirect target was not asked
    [delivery] = await deliveries(app.key);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 2, last_status: 302, last_error: expect.stringContaining('redirects are not followed') });

    app.receiver.mode = 'hang';
    clockOffset += WEBHOOK_RETRY_DELAYS_MS[1]! * 1.3;
    await deliver();
    [delivery] = await deliveries(app.key);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 3, last_status: null, last_error: 'no answer within 500 ms' });

    app.receiver.mode = { status: 503 };
    for (let attempt = 4; attempt <= WEBHOOK_MAX_ATTEMPTS; attempt++) {
      clockOffset += WEBHOOK_RETRY_DELAYS_MS[attempt - 2]! * 1.3;
      await deliver();
    }
    [delivery] = await deliveries(app.key);
    expect(delivery).toMatchObject({ status: 'dead', attempts: WEBHOOK_MAX_ATTEMPTS, next_attempt_at: null, last_status: 503 });
    expect(app.receiver.received).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
    // every attempt carried the same event and delivery id
    expect(new Set(app.receiver.received.map((hit) => JSON.parse(hit.body).id)).size).toBe(1);
    expect(new Set(app.receiver.received.map((hit) => hit.headers['gatehouse-delivery'])).size).toBe(1);
    clockOffset += 24 * 3600 * 1000;
    await deliver();
    expect(app.receiver.received).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
    clockOffset = 0;

    const after = await metricsFor(gatehouse.services).webhookDeliveries.get();
    const delta = (outcome: string) =>
      (after.values.find((v) => v.labels.outcome === outcome)?.value ?? 0) - (before.values.find((v) => v.labels.outcome === outcome)?.value ?? 0);
    expect(delta('failed')).toBeGreaterThanOrEqual(1);
    expect(delta('retry')).toBeGreaterThanOrEqual(WEBHOOK_MAX_ATTEMPTS - 1);
    expect((await api(app.key, 'GET', '/v1/webhook/deliveries?status=dead')).body.data).toHaveLength(1);
    expect((await api(app.key, 'GET', '/v1/webhook/deliveries?status=delivered')).body.data).toHaveLength(0);
  });

  it('the background worker delivers without being asked; delivered rows are swept after the retention', async () => {
    const app = await hookedApp();
    const worker = startWebhookWorker(gatehouse.services, { pollMs: 50, timeoutMs: 500 });
    try {
      await importAccount(app.key);
      await app.receiver.waitFor(1);
    } finally {
      await worker.stop();
    }
    expect(verified(app.secret, app.receiver.received[0]!)).toBe(true);
    await expect.poll(async () => (await deliveries(app.key))[0]?.status).toBe('delivered');
    await sweepExpired(gatehouse.services.db, gatehouse.services.clock() + WEBHOOK_DELIVERY_RETENTION_MS - 60_000);
    expect(await deliveries(app.key)).toHaveLength(1);
    await sweepExpired(gatehouse.services.db, gatehouse.services.clock() + WEBHOOK_DELIVERY_RETENTION_MS + 60_000);
    expect(await deliveries(app.key)).toHaveLength(0);
  });

  it('webhooks are managed with the API key only; a caller without one is refused', async () => {
    const app = await hookedApp();
    expect((await api('gha_not-a-token', 'GET', '/v1/webhook')).status).toBe(401);
    const cursorless = await api(app.key, 'GET', '/v1/webhook/deliveries?cursor=bogus');
    expect(cursorless).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it.runIf(kind === 'postgres')('two instances working the same queue send each delivery exactly once', async () => {
    const app = await hookedApp();
    const other = await openServices(gatehouse.services.config, testLogger('gatehouse-postgres-hooks'));
    other.clock = gatehouse.services.clock;
    try {
      for (let i = 0; i < 40; i++) {
        await gatehouse.services.db
          .insertInto('webhook_deliveries')
          .values({
            id: `whd_race${i}`,
            app_id: app.id,
            event_id: `evt_race${i}`,
            event_type: 'account.connected',
            payload: JSON.stringify({ id: `evt_race${i}` }),
            status: 'pending',
            next_attempt_at: gatehouse.services.clock() - 1000,
            last_status: null,
            last_error: null,
            delivered_at: null,
            created_at: gatehouse.services.clock(),
          })
          .execute();
      }
      const drain = async (services: typeof other) => {
        while ((await deliverDueWebhooks(services, { batchSize: 3, timeoutMs: 2000 })) > 0);
      };
      await Promise.all([drain(gatehouse.services), drain(other), drain(gatehouse.services), drain(other)]);
      const ids = app.receiver.received.map((hit) => hit.headers['gatehouse-delivery']);
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);
      const rows = await gatehouse.services.db.selectFrom('webhook_deliveries').select(['status', 'attempts']).where('app_id', '=', app.id).execute();
      expect(rows.every((r) => r.status === 'delivered' && r.attempts === 1)).toBe(true);
    } finally {
      await other.store.close();
    }
  });
});
