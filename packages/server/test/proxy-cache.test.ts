import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { freshAccessToken } from '../src/accounts/index.ts';
import { ACCOUNT_CACHE_TTL_MS, markNeedsReauth, openStore } from '../src/store/index.ts';
import { send, useProxyHarness } from './support/proxy-harness.ts';
import { expectRefusedWithinBound } from './support/revoked-in-use.ts';
import { STORE_KINDS } from './support/stores.ts';

/**
 * The proxy remembers an account and its opened upstream token for ACCOUNT_CACHE_TTL_MS: what
 * this process changes holds at once, what another process changes holds within the bound.
 */
describe.each(STORE_KINDS)('proxy account cache on %s', (kind) => {
  const h = useProxyHarness(kind);
  const get = (accountId: string, key: string) => send(h.proxyUrl(accountId, 'echo'), 'GET', { authorization: `Bearer ${key}` });
  const lastAuthorization = () => h.upstream.calls.at(-1)!.headers.authorization;

  it('a released account is refused at once, although it was proxied (and remembered) just before', async () => {
    const app = await h.newApp();
    const account = await h.connect(app);
    expect((await get(account.id, app.key)).status).toBe(200);
    const released = await fetch(`${h.gatehouse.url}/v1/accounts/${account.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${app.key}` } });
    expect(released.status).toBe(200);
    const before = h.upstream.calls.length;
    const refused = await get(account.id, app.key);
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.text).error).toBe('conflict');
    expect(h.upstream.calls.length).toBe(before);
  });

  it('an account marked needs_reauth is refused at once', async () => {
    const app = await h.newApp();
    const account = await h.connect(app);
    expect((await get(account.id, app.key)).status).toBe(200);
    await markNeedsReauth(h.gatehouse.services.db, account.id, 'invalid_grant', Date.now());
    const refused = await get(account.id, app.key);
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.text).error).toBe('needs_reauth');
  });

  it('a refreshed token is used from the next call on', async () => {
    const app = await h.newApp();
    const account = await h.connect(app);
    expect((await get(account.id, app.key)).status).toBe(200);
    expect(lastAuthorization()).toBe(`Bearer ${account.access}`);
    const refreshed = await fetch(`${h.gatehouse.url}/v1/accounts/${account.id}/refresh?force=true`, { method: 'POST', headers: { authorization: `Bearer ${app.key}` } });
    expect(refreshed.status).toBe(200);
    const stored = await freshAccessToken(h.gatehouse.services, app.id, account.id);
    expect(stored.accessToken).not.toBe(account.access);
    expect((await get(account.id, app.key)).status).toBe(200);
    expect(lastAuthorization()).toBe(`Bearer ${stored.accessToken}`);
  });

  it('a reconnect (the same upstream user again) brings its new token at once', async () => {
    const app = await h.newApp();
    const account = await h.connect(app);
    expect((await get(account.id, app.key)).status).toBe(200);
    const pair = h.upstream.issue(account.subject);
    const again = await fetch(`${h.gatehouse.url}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'test-api', access_token: pair.access, refresh_token: pair.refresh, expires_in: 3600 }),
    });
    expect((await again.json()).id).toBe(account.id);
    expect((await get(account.id, app.key)).status).toBe(200);
    expect(lastAuthorization()).toBe(`Bearer ${pair.access}`);
  });

  it('a remembered token that comes within the refresh margin is not used: the call refreshes first', async () => {
    const app = await h.newApp();
    const account = await h.connect(app); // expires in 3600 s
    expect((await get(account.id, app.key)).status).toBe(200);
    const services = h.gatehouse.services;
    const realClock = services.clock;
    const grants = h.upstream.refreshGrants();
    services.clock = () => realClock() + 3590_000; // 10 s before expiry: inside the 5-minute margin
    try {
      expect((await get(account.id, app.key)).status).toBe(200);
    } finally {
      services.clock = realClock;
    }
    expect(h.upstream.refreshGrants()).toBe(grants + 1);
    expect(lastAuthorization()).not.toBe(`Bearer ${account.access}`);
  });

  it('an upstream 401 does not come back from the cache: the token is refreshed and the call replayed', async () => {
    const app = await h.newApp();
    const account = await h.connect(app);
    expect((await get(account.id, app.key)).status).toBe(200);
    h.upstream.revokeAccessTokens(account.subject);
    const grants = h.upstream.refreshGrants();
    expect((await get(account.id, app.key)).status).toBe(200);
    expect(h.upstream.refreshGrants()).toBe(grants + 1);
    // the next call uses the new token, without another refresh
    expect((await get(account.id, app.key)).status).toBe(200);
    expect(h.upstream.refreshGrants()).toBe(grants + 1);
    expect(lastAuthorization()).not.toBe(`Bearer ${account.access}`);
  });

  it('sees an account revoked by another process within the cache bound', async () => {
    const app = await h.newApp();
    const account = await h.connect(app);
    expect((await get(account.id, app.key)).status).toBe(200);
    const other = openStore(h.gatehouse.database.target); // a second instance (or the CLI) on the same database
    try {
      await other.db.updateTable('accounts').set({ status: 'revoked' }).where('id', '=', account.id).execute();
    } finally {
      await other.close();
    }
    await sleep(ACCOUNT_CACHE_TTL_MS + 50);
    expect((await get(account.id, app.key)).status).toBe(409);
  });

  it('sees an account revoked by another process within the cache bound while calls keep coming (read again in the background)', async () => {
    const app = await h.newApp();
    const account = await h.connect(app);
    await expectRefusedWithinBound(
      ACCOUNT_CACHE_TTL_MS,
      async () => [(await get(account.id, app.key)).status],
      async () => {
        const other = openStore(h.gatehouse.database.target);
        try {
          await other.db.updateTable('accounts').set({ status: 'revoked' }).where('id', '=', account.id).execute();
        } finally {
          await other.close();
        }
      },
      { admitted: 200, refused: 409 },
    );
  });
});
