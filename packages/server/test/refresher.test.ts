import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importAccount, refreshDueAccounts, startRefresher } from '../src/accounts/index.ts';
import { openServices } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import { metricsFor } from '../src/metrics/index.ts';
import { generateKeyringSpec } from '../src/vault/index.ts';
import { setWebhook, verifySignature } from '../src/webhooks/index.ts';
import { findTokens } from '../src/store/index.ts';
import { importedTestAccount, integrate, registerApp } from './support/fixtures.ts';
import { startGatehouse, testLogger, type RunningGatehouse } from './support/gatehouse.ts';
import { spawnGatehouse, type GatehouseProcess } from './support/processes.ts';
import { startReceiver } from './support/receiver.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { startOAuth2Upstream, type OAuth2Upstream } from './support/upstreams.ts';

const MOCK_SECRET = 'mock-client-secret-refresher-0123456789';
const DAY = 24 * 3600 * 1000;

describe.each(STORE_KINDS)('background refresher on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let oauth2: OAuth2Upstream;
  let slow = false;
  /** The refresh tokens presented to the upstream's token endpoint. */
  let grants: string[] = [];

  beforeAll(async () => {
    oauth2 = await startOAuth2Upstream();
    gatehouse = await startGatehouse({ kind, providersDir: oauth2.providersDir });
    oauth2.server.service.on('beforeResponse', (response: { body: Record<string, unknown> }, req: { body: Record<string, string>; res: { json(b: unknown): unknown } }) => {
      if (req.body.grant_type !== 'refresh_token') return;
      grants.push(req.body.refresh_token!);
      recordSecret(req.body.refresh_token, response.body.access_token as string, response.body.refresh_token as string);
      if (slow) {
        const json = req.res.json.bind(req.res);
        req.res.json = (body) => setTimeout(() => json(body), 800);
      }
    });
  });

  afterEach(async () => {
    slow = false;
    grants = [];
    // each test sees only its own accounts
    await gatehouse.services.db.updateTable('accounts').set({ status: 'revoked' }).execute();
  });

  afterAll(async () => {
    recordSecret(...(oauth2?.issuedTokens() ?? []));
    await gatehouse?.close();
    await oauth2?.close();
  });

  /** An account of a new app (the mock's profile is one subject: one account per app). */
  const account = (expiresIn: number) => importedTestAccount(gatehouse.services, MOCK_SECRET, expiresIn);

  const set = (id: string, values: Record<string, unknown>) =>
    gatehouse.services.db.updateTable('account_tokens').set(values).where('account_id', '=', id).execute();

  it('refreshes the accounts expiring soon and the idle refresh tokens; leaves the rest, backoff and needs_reauth alone', async () => {
    const expiring = await account(60);
    const later = await account(7200);
    const idle = await account(7200);
    await set(idle.id, { updated_at: Date.now() - 31 * DAY });
    const backoff = await account(60);
    await set(backoff.id, { refresh_failures: 1, refresh_retry_at: Date.now() + 60_000, refresh_error: 'HTTP 500' });
    const reauth = await account(60);
    await gatehouse.services.db.updateTable('accounts').set({ status: 'needs_reauth' }).where('id', '=', reauth.id).execute();
    const noRefresh = await account(60);
    await set(noRefresh.id, { refresh_token_sealed: null });
    const before = (await metricsFor(gatehouse.services).refresh.get()).values.find((v) => v.labels.outcome === 'success')?.value ?? 0;

    const round = await refreshDueAccounts(gatehouse.services);
    expect(round).toEqual({ ran: true, picked: 2, refreshed: 2, failed: 0, more: false });
    expect(grants.sort()).toEqual([expiring.refresh, idle.refresh].sort());
    for (const a of [expiring, idle]) {
      const row = (await findTokens(gatehouse.services.db, a.id))!;
      expect(row.version).toBe(2);
      expect(row.expires_at).toBeGreaterThan(Date.now() + 3000 * 1000);
    }
    expect((await findTokens(gatehouse.services.db, later.id))!.version).toBe(1);
    const after = (await metricsFor(gatehouse.services).refresh.get()).values.find((v) => v.labels.outcome === 'success')!.value;
    expect(after - before).toBe(2);

    // done: the next round finds nothing
    expect(await refreshDueAccounts(gatehouse.services)).toEqual({ ran: true, picked: 0, refreshed: 0, failed: 0, more: false });
    expect(grants).toHaveLength(2);
  });

  it('works in batches, soonest expiry first', async () => {
    const accounts = [await account(200), await account(30), await account(100)];
    const first = await refreshDueAccounts(gatehouse.services, { batchSize: 2 });
    expect(first).toMatchObject({ picked: 2, more: true });
    expect(grants.sort()).toEqual([accounts[1]!.refresh, accounts[2]!.refresh].sort());
    expect(await refreshDueAccounts(gatehouse.services, { batchSize: 2 })).toMatchObject({ picked: 1, more: false });
    expect(grants).toHaveLength(3);
  });

  it('runs in the background on its interval, and stops', async () => {
    const a = await account(60);
    gatehouse.services.config.refresher.intervalMs = 50;
    const loop = startRefresher(gatehouse.services)!;
    try {
      await expect.poll(async () => (await findTokens(gatehouse.services.db, a.id))!.version, { timeout: 5000 }).toBe(2);
    } finally {
      await loop.stop();
      gatehouse.services.config.refresher.intervalMs = 60_000;
    }
    expect(grants).toEqual([a.refresh]);
    gatehouse.services.config.refresher.intervalMs = 0;
    expect(startRefresher(gatehouse.services)).toBeUndefined();
    gatehouse.services.config.refresher.intervalMs = 60_000;
  });

  it.runIf(kind === 'postgres')('runs once cluster-wide: a second instance skips the round while the first holds the lock', async () => {
    const accounts = [await account(60), await account(60), await account(60)];
    const other = await openServices(gatehouse.services.config, testLogger('gatehouse-postgres-refresher'));
    try {
      slow = true;
      const rounds = await Promise.all([refreshDueAccounts(gatehouse.services), refreshDueAccounts(other)]);
      expect(rounds.map((r) => r.ran).sort()).toEqual([false, true]);
      expect(rounds.find((r) => r.ran)).toMatchObject({ picked: 3, refreshed: 3 });
      expect(grants.sort()).toEqual(accounts.map((a) => a.refresh).sort());
      // the lock went with the round's transaction
      expect((await refreshDueAccounts(other)).ran).toBe(true);
    } finally {
      await other.store.close();
    }
  });
});

describe('gatehouse serve runs the refresher and the webhook worker', { timeout: 60_000 }, () => {
  it('an account expiring soon is refreshed in the background; the provider refusing it reaches the webhook', async () => {
    const oauth2 = await startOAuth2Upstream();
    const refused: string[] = [];
    oauth2.server.service.on('beforeResponse', (response: { body: Record<string, unknown>; statusCode: number }, req: { body: Record<string, string> }) => {
      if (req.body.grant_type !== 'refresh_token') return;
      refused.push(req.body.refresh_token!);
      response.statusCode = 400;
      response.body = { error: 'invalid_grant', error_description: 'revoked' };
    });
    const receiver = await startReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
    const secretKeys = generateKeyringSpec('serve');
    recordSecret(secretKeys.split(':')[1]);
    const env = {
      GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'g.db')}`,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_SECRET_KEYS: secretKeys,
      GATEHOUSE_PROVIDERS_DIR: oauth2.providersDir,
      GATEHOUSE_REFRESH_INTERVAL_SECONDS: '1',
      GATEHOUSE_WEBHOOK_POLL_MS: '100',
    };
    const setup = await openServices(loadConfig(env), testLogger('serve-setup'));
    let server: GatehouseProcess | undefined;
    try {
      const created = await registerApp(setup);
      await integrate(setup, created.app.id, 'test-oauth2', { clientId: 'mock-client', clientSecret: MOCK_SECRET });
      const { secret } = await setWebhook(setup, created.app.id, receiver.url);
      recordSecret(secret);
      const refresh = `rt-${randomBytes(16).toString('hex')}`;
      const access = `at-${randomBytes(16).toString('hex')}`;
      recordSecret(refresh, access);
      const { account } = await importAccount(setup, created.app.id, { provider: 'test-oauth2', access_token: access, refresh_token: refresh, expires_in: 60 });
      await setup.db.deleteFrom('webhook_deliveries').execute(); // only what the server sends from now on
      await setup.store.close();

      server = await spawnGatehouse('serve-background', env);
      const [hit] = await receiver.waitFor(1, 20_000);
      expect(refused).toEqual([refresh]);
      const event = JSON.parse(hit!.body);
      expect(event).toMatchObject({ type: 'account.refresh_failed', data: { reason: 'needs_reauth', account: { id: account.id, status: 'needs_reauth' } } });
      expect(verifySignature(secret, String(hit!.headers['gatehouse-signature']), hit!.body)).toBe(true);
    } finally {
      server?.child.kill('SIGTERM');
      if (server) expect(await server.exited).toBe('0');
      recordSecret(...oauth2.issuedTokens());
      await receiver.close();
      await oauth2.close();
    }
  });
});
