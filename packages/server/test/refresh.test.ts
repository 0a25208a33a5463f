import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, freshAccessToken, importAccount } from '../src/accounts/index.ts';
import { openServices } from '../src/boot.ts';
import { findAccount, findTokens } from '../src/store/index.ts';
import { importedTestAccount } from './support/fixtures.ts';
import { startGatehouse, testLogger, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { startOAuth2Upstream, type OAuth2Upstream } from './support/upstreams.ts';

const MOCK_SECRET = 'mock-client-secret-0123456789';

type Mode = 'ok' | 'no_refresh_token' | 'invalid_grant' | 'http_500' | 'malformed' | 'hang' | 'slow';
interface TokenResponse {
  body: Record<string, unknown>;
  statusCode: number;
}
interface TokenRequest {
  body: Record<string, string>;
  res: { json(body: unknown): unknown; type(t: string): unknown; send(body: string): unknown };
}

describe.each(STORE_KINDS)('fresh upstream tokens on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let oauth2: OAuth2Upstream;
  let clockOffset = 0;
  let mode: Mode = 'ok';
  /** The refresh grants the upstream received, with the refresh token each one presented. */
  let grants: string[] = [];
  let lastRefreshToken: string | undefined;

  beforeAll(async () => {
    oauth2 = await startOAuth2Upstream();
    gatehouse = await startGatehouse({ kind, providersDir: oauth2.providersDir, clock: () => Date.now() + clockOffset });
    oauth2.server.service.on('beforeResponse', (response: TokenResponse, req: TokenRequest) => {
      if (req.body.grant_type !== 'refresh_token') return;
      grants.push(req.body.refresh_token!);
      recordSecret(req.body.refresh_token, response.body.access_token as string, response.body.refresh_token as string);
      const res = req.res;
      const json = res.json.bind(res);
      switch (mode) {
        case 'no_refresh_token':
          delete response.body.refresh_token;
          break;
        case 'invalid_grant':
          response.statusCode = 400;
          response.body = { error: 'invalid_grant', error_description: 'refresh token revoked' };
          break;
        case 'http_500':
          response.statusCode = 500;
          response.body = { error: 'server_error' };
          break;
        case 'malformed':
          res.json = () => {
            res.type('application/json');
            return res.send('{"access_token": "half');
          };
          break;
        case 'hang':
          res.json = (body) => setTimeout(() => json(body), 1500);
          break;
        case 'slow':
          res.json = (body) => setTimeout(() => json(body), 250);
          break;
      }
      lastRefreshToken = typeof response.body.refresh_token === 'string' ? response.body.refresh_token : undefined;
    });
  });

  afterEach(() => {
    clockOffset = 0;
    mode = 'ok';
    grants = [];
  });

  afterAll(async () => {
    recordSecret(...(oauth2?.issuedTokens() ?? []));
    await gatehouse?.close();
    await oauth2?.close();
  });

  const now = () => gatehouse.services.clock();

  /** A fresh app holding one test-oauth2 account whose token expires in `expiresIn` seconds. */
  const account = (expiresIn = 60) => importedTestAccount(gatehouse.services, MOCK_SECRET, expiresIn);

  /** The account's token row with its tokens opened from the vault. */
  async function stored(id: string) {
    const row = (await findTokens(gatehouse.services.db, id))!;
    const open = (sealed: string | null, field: string) =>
      sealed ? gatehouse.services.vault.open(sealed, { table: 'account_tokens', id, field }) : null;
    return { ...row, access: open(row.access_token_sealed, 'access_token'), refresh: open(row.refresh_token_sealed, 'refresh_token') };
  }

  async function expire(id: string) {
    await gatehouse.services.db.updateTable('account_tokens').set({ expires_at: now() - 1000 }).where('account_id', '=', id).execute();
  }

  async function status(appId: string, id: string) {
    return (await findAccount(gatehouse.services.db, appId, id))!.status;
  }

  async function refreshOverHttp(key: string, id: string, query = '') {
    const response = await fetch(`${gatehouse.url}/v1/accounts/${id}/refresh${query}`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    const text = await response.text();
    expect(text).not.toMatch(/"(access|refresh|id)_token"/);
    for (const token of oauth2.issuedTokens()) expect(text.includes(token), 'a token in an API response').toBe(false);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  }

  it('a token far from expiry is used as stored, without an upstream call', async () => {
    const a = await account(3600);
    const fresh = await freshAccessToken(gatehouse.services, a.appId, a.id);
    expect(fresh.accessToken).toBe(a.access);
    expect(grants).toHaveLength(0);
  });

  it('an expiring token is refreshed once; the rotated refresh token is stored sealed with it', async () => {
    const a = await account(60); // within the default 5-minute margin
    const fresh = await freshAccessToken(gatehouse.services, a.appId, a.id);
    expect(grants).toEqual([a.refresh]);
    expect(fresh.accessToken).not.toBe(a.access);
    expect(fresh.expiresAt).toBeGreaterThan(now() + 3000 * 1000);
    const row = await stored(a.id);
    expect(row.access).toBe(fresh.accessToken);
    expect(row.refresh).toBe(lastRefreshToken);
    expect(row.refresh).not.toBe(a.refresh);
    expect(row.refresh_token_sealed).toMatch(/^v1\.test1\./);
    expect(row.version).toBe(2);
    // now fresh: no second call
    expect((await freshAccessToken(gatehouse.services, a.appId, a.id)).accessToken).toBe(fresh.accessToken);
    expect(grants).toHaveLength(1);
  });

  it('a provider that returns no new refresh token keeps the old one', async () => {
    const a = await account(60);
    mode = 'no_refresh_token';
    const fresh = await freshAccessToken(gatehouse.services, a.appId, a.id);
    const row = await stored(a.id);
    expect(row.access).toBe(fresh.accessToken);
    expect(row.access).not.toBe(a.access);
    expect(row.refresh).toBe(a.refresh);
    expect(grants).toHaveLength(1);
  });

  it('50 concurrent callers share one upstream refresh', async () => {
    const a = await account(60);
    mode = 'slow';
    const results = await Promise.all(Array.from({ length: 50 }, () => freshAccessToken(gatehouse.services, a.appId, a.id)));
    expect(grants).toHaveLength(1);
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect((await stored(a.id)).access).toBe(results[0]!.accessToken);
  });

  it('more accounts refreshing at once than the pool has connections all complete', async () => {
    const many = await Promise.all(Array.from({ length: 14 }, () => account(60)));
    mode = 'slow';
    const results = await Promise.all(many.map((a) => freshAccessToken(gatehouse.services, a.appId, a.id)));
    expect(grants).toHaveLength(14);
    // the mock's JWTs of one second are alike: check each account got a refreshed token
    results.forEach((r, i) => expect(r.accessToken).not.toBe(many[i]!.access));
  });

  it('POST /v1/accounts/:id/refresh ensures a fresh token and answers the account with its expiry, never the token', async () => {
    const a = await account(60);
    const response = await refreshOverHttp(a.key, a.id);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: a.id, provider: 'test-oauth2', status: 'active', expires_at: expect.any(String) });
    expect(Date.parse(response.body.expires_at as string)).toBeGreaterThan(now() + 3000 * 1000);
    expect(grants).toHaveLength(1);
    // fresh now: no call unless forced
    expect((await refreshOverHttp(a.key, a.id)).status).toBe(200);
    expect(grants).toHaveLength(1);
    expect((await refreshOverHttp(a.key, a.id, '?force=true')).status).toBe(200);
    expect(grants).toHaveLength(2);
  });

  it('invalid_grant: the account needs reauth and the upstream is not asked again until a reconnect', async () => {
    const a = await account(60);
    mode = 'invalid_grant';
    await expect(freshAccessToken(gatehouse.services, a.appId, a.id)).rejects.toMatchObject({ code: 'needs_reauth' });
    expect(await status(a.appId, a.id)).toBe('needs_reauth');
    expect(grants).toHaveLength(1);
    await expect(freshAccessToken(gatehouse.services, a.appId, a.id)).rejects.toMatchObject({ code: 'needs_reauth' });
    clockOffset = 24 * 3600 * 1000;
    const response = await refreshOverHttp(a.key, a.id, '?force=true');
    expect(response.status).toBe(409);
    expect(response.body.error).toBe('needs_reauth');
    expect(grants).toHaveLength(1);
    const audit = await gatehouse.services.db.selectFrom('audit_log').select('action').where('subject', '=', a.id).execute();
    expect(audit.map((e) => e.action)).toContain('account.needs_reauth');

    // a reconnect (the same upstream subject again) makes it active and refreshable
    mode = 'ok';
    clockOffset = 0;
    const again = `at-${randomBytes(16).toString('hex')}`;
    const refresh = `rt-${randomBytes(16).toString('hex')}`;
    recordSecret(again, refresh);
    await importAccount(gatehouse.services, a.appId, { provider: 'test-oauth2', access_token: again, refresh_token: refresh, expires_in: 60 });
    expect(await status(a.appId, a.id)).toBe('active');
    const fresh = await freshAccessToken(gatehouse.services, a.appId, a.id);
    expect(grants).toEqual([a.refresh, refresh]);
    expect(fresh.accessToken).not.toBe(again);
  });

  describe.each(['http_500', 'malformed', 'hang'] as const)('transient failure (%s)', (failure) => {
    it('keeps the old tokens, answers 424 during the cooldown without calling upstream, recovers after it', async () => {
      const a = await account(60);
      await expire(a.id);
      const before = await stored(a.id);
      mode = failure;
      await expect(freshAccessToken(gatehouse.services, a.appId, a.id, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'upstream_backoff' });
      expect(grants).toHaveLength(1);
      const after = await stored(a.id);
      expect(after).toMatchObject({ access: a.access, refresh: a.refresh, version: before.version, refresh_failures: 1 });
      expect(after.refresh_retry_at).toBeGreaterThan(now());
      expect(await status(a.appId, a.id)).toBe('active');

      // in the cooldown: 424 with a clear error, and no upstream call
      mode = 'ok';
      const refused = await refreshOverHttp(a.key, a.id);
      expect(refused.status).toBe(424);
      expect(refused.body).toEqual({ error: 'upstream_backoff', error_description: expect.stringContaining('next attempt') });
      clockOffset = BACKOFF_BASE_MS - 5000;
      expect((await refreshOverHttp(a.key, a.id)).status).toBe(424);
      expect(grants).toHaveLength(1);

      // after it: one attempt, success, backoff cleared
      clockOffset = BACKOFF_BASE_MS + 1000;
      const recovered = await refreshOverHttp(a.key, a.id);
      expect(recovered.status).toBe(200);
      expect(recovered.body.status).toBe('active');
      expect(grants).toHaveLength(2);
      const row = await stored(a.id);
      expect(row).toMatchObject({ refresh_failures: 0, refresh_retry_at: null, refresh_error: null });
      expect(row.access).not.toBe(a.access);
    });
  });

  it('a second transient failure doubles the cooldown; a token not yet expired is still handed out', async () => {
    const a = await account(120); // within the margin, not expired
    mode = 'http_500';
    expect((await freshAccessToken(gatehouse.services, a.appId, a.id)).accessToken).toBe(a.access);
    expect((await freshAccessToken(gatehouse.services, a.appId, a.id)).accessToken).toBe(a.access);
    expect(grants).toHaveLength(1);
    clockOffset = BACKOFF_BASE_MS + 1000;
    expect((await freshAccessToken(gatehouse.services, a.appId, a.id)).accessToken).toBe(a.access);
    expect(grants).toHaveLength(2);
    const row = await stored(a.id);
    expect(row.refresh_failures).toBe(2);
    expect(row.refresh_retry_at! - now()).toBeGreaterThan(2 * BACKOFF_BASE_MS - 5000);
  });

  it('a reconnect clears the backoff', async () => {
    const a = await account(60);
    await expire(a.id);
    mode = 'http_500';
    await expect(freshAccessToken(gatehouse.services, a.appId, a.id)).rejects.toMatchObject({ code: 'upstream_backoff' });
    const again = `at-${randomBytes(16).toString('hex')}`;
    recordSecret(again);
    await importAccount(gatehouse.services, a.appId, { provider: 'test-oauth2', access_token: again, expires_in: 3600 });
    expect(await stored(a.id)).toMatchObject({ refresh_failures: 0, refresh_retry_at: null, access: again });
    expect((await freshAccessToken(gatehouse.services, a.appId, a.id)).accessToken).toBe(again);
  });

  it.runIf(kind === 'postgres')('two instances on one database: exactly one upstream refresh (row lock)', async () => {
    const a = await account(60);
    const other = await openServices(gatehouse.services.config, testLogger('gatehouse-postgres-second'));
    other.clock = gatehouse.services.clock;
    try {
      mode = 'slow';
      const calls = Array.from({ length: 10 }, (_, i) => freshAccessToken(i % 2 ? other : gatehouse.services, a.appId, a.id));
      const results = await Promise.all(calls);
      expect(grants).toHaveLength(1);
      expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
      expect((await stored(a.id)).version).toBe(2);
    } finally {
      await other.store.close();
    }
  });
});
