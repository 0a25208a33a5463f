import { describe, expect, it } from 'vitest';
import { issueTokens, updateApp } from '../src/authorization/index.ts';
import { send, useProxyHarness } from './support/proxy-harness.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';

/** Who reaches what through the provider proxy: the SSRF guard, scopes, the raw form, the credentials endpoint. */
describe.each(STORE_KINDS)('provider proxy access on %s', (kind) => {
  const h = useProxyHarness(kind);
  const { newApp, connect, proxyUrl, clientCredentials } = h;

  describe('SSRF guard', () => {
    const attempts = [
      '../token',
      '..%2Ftoken',
      '%2e%2e/token',
      '%2E%2E/%2E%2E/token',
      '.%2e/token',
      'files/..%5C..%5Ctoken',
      'files\\..\\..\\token',
      '/127.0.0.1:1/x',
      'https://169.254.169.254/latest/meta-data',
      'http:%2F%2Fevil.example/x',
      '@evil.example/x',
      'x@evil.example',
      '%00/x',
    ];
    it.each(attempts)('refuses the path %j with 400 and sends nothing upstream', async (path) => {
      const app = await newApp();
      const account = await connect(app);
      const before = h.upstream.calls.length;
      const grants = h.upstream.refreshGrants();
      const answer = await send(proxyUrl(account.id, path), 'GET', { authorization: `Bearer ${app.key}` });
      expect(answer.status, answer.text).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('below the provider') });
      expect(h.upstream.calls.length).toBe(before);
      expect(h.upstream.refreshGrants()).toBe(grants);
    });

    it('raw form: X-Raw-URI outside the base is refused, whatever its spelling', async () => {
      const app = await newApp();
      const account = await connect(app);
      const before = h.upstream.calls.length;
      const host = new URL(h.upstream.base).host;
      for (const raw of [
        'http://evil.example/api/echo',
        `${h.upstream.base}/token`,
        `${h.upstream.base}/api/../token`,
        `${h.upstream.base}/api/%2e%2e/token`,
        `${h.upstream.base}/apix/echo`,
        `http://localhost:${new URL(h.upstream.base).port}/api/echo`,
        `http://user:pw@${host}/api/echo`,
        `//evil.example/api/echo`,
        '../token',
      ]) {
        const answer = await send(`${h.gatehouse.url}/v1/accounts/${account.id}/raw`, 'POST', { authorization: `Bearer ${app.key}`, 'x-raw-uri': raw, 'x-raw-method': 'GET' });
        expect(answer.status, raw).toBe(400);
        expect(JSON.parse(answer.text).error).toBe('invalid_request');
      }
      expect(h.upstream.calls.length).toBe(before);
    });

    it('a template value that is more than one host label (it could change the host) is refused', async () => {
      const app = await newApp();
      for (const tenant of ['evil.example', 'evil.example.com']) {
        const account = await connect(app, 'test-tenant', { template_values: { tenant } });
        const answer = await send(proxyUrl(account.id, 'x'), 'GET', { authorization: `Bearer ${app.key}` });
        expect(answer.status).toBe(400);
        expect(JSON.parse(answer.text).error_description).toMatch(/single host name label/);
      }
    });

    it('a provider without proxy.baseUrl answers a clear 400', async () => {
      const app = await newApp();
      const account = await connect(app, 'test-noproxy');
      const answer = await send(proxyUrl(account.id, 'x'), 'GET', { authorization: `Bearer ${app.key}` });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('no API proxy') });
    });
  });

  it('who may proxy: API key, tokens with the proxy scope, an account-bound token for its own account only, never another app', async () => {
    const app = await newApp();
    const [mine, other] = [await connect(app), await connect(app)];
    const stranger = await newApp();
    const get = (token: string, accountId: string) => send(proxyUrl(accountId, 'echo'), 'GET', { authorization: `Bearer ${token}` });

    expect((await get(app.key, mine.id)).status).toBe(200);
    expect((await get(await clientCredentials(app, 'proxy'), mine.id)).status).toBe(200);
    const readOnly = await get(await clientCredentials(app, 'accounts:read'), mine.id);
    expect(readOnly.status).toBe(403);
    expect(JSON.parse(readOnly.text).error).toBe('insufficient_scope');

    const { accessToken: bound } = await issueTokens(h.gatehouse.services.db, Date.now(), { appId: app.id, grantId: null, accountId: mine.id, scope: ['proxy'], withRefresh: false });
    recordSecret(bound);
    expect((await get(bound, mine.id)).status).toBe(200);
    expect((await get(bound, other.id)).status).toBe(404);
    expect((await get(stranger.key, mine.id)).status).toBe(404);
    const anonymous = await send(proxyUrl(mine.id, 'echo'), 'GET', {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer /);
    expect((await get('ghk_not-a-key', mine.id)).status).toBe(401);
  });

  it('raw form: X-Raw-URI and X-Raw-Method map onto the same proxy', async () => {
    const app = await newApp();
    const account = await connect(app);
    const raw = `${h.gatehouse.url}/v1/accounts/${account.id}/raw`;
    const put = await send(raw, 'POST', { authorization: `Bearer ${app.key}`, 'x-raw-uri': '/echo?x=1', 'x-raw-method': 'PUT', 'content-type': 'text/plain' }, 'raw body');
    expect(put.status).toBe(200);
    const echoed = JSON.parse(put.text);
    expect(echoed).toMatchObject({ method: 'PUT', url: '/api/echo?x=1', body: 'raw body' });
    expect(echoed.headers['x-raw-uri']).toBeUndefined();
    expect(echoed.headers['x-raw-method']).toBeUndefined();
    expect(echoed.headers.authorization).toBe(`Bearer ${account.access}`);
    const full = await send(raw, 'POST', { authorization: `Bearer ${app.key}`, 'x-raw-uri': `${h.upstream.base}/api/echo?y=2`, 'x-raw-method': 'GET' });
    expect(JSON.parse(full.text)).toMatchObject({ method: 'GET', url: '/api/echo?y=2' });
    expect((await send(raw, 'POST', { authorization: `Bearer ${app.key}` })).status).toBe(400);
    expect((await send(raw, 'POST', { authorization: `Bearer ${app.key}`, 'x-raw-uri': '/echo', 'x-raw-method': 'TRACE' })).status).toBe(400);
  });

  it('credentials: off by default (403); when allowed, the fresh token for the API key only, no-store, every read audited', async () => {
    const app = await newApp();
    const account = await connect(app);
    const url = `${h.gatehouse.url}/v1/accounts/${account.id}/credentials`;
    const off = await send(url, 'GET', { authorization: `Bearer ${app.key}` });
    expect(off.status).toBe(403);
    expect(JSON.parse(off.text).error).toBe('access_denied');
    expect(off.text).not.toContain(account.access);

    await updateApp(h.gatehouse.services, app.id, { allowCredentials: true });
    const on = await send(url, 'GET', { authorization: `Bearer ${app.key}` });
    expect(on.status).toBe(200);
    expect(on.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(on.text) as { access_token: string; token_type: string; expires_at: string };
    expect(body).toEqual({ access_token: account.access, token_type: 'bearer', expires_at: expect.any(String) });

    // an expired token is refreshed before it is handed out
    await h.gatehouse.services.db.updateTable('account_tokens').set({ expires_at: Date.now() - 1000 }).where('account_id', '=', account.id).execute();
    const grants = h.upstream.refreshGrants();
    const refreshed = JSON.parse((await send(url, 'GET', { authorization: `Bearer ${app.key}` })).text) as { access_token: string; token_type: string };
    expect(h.upstream.refreshGrants()).toBe(grants + 1);
    expect(refreshed.access_token).not.toBe(account.access);
    expect(refreshed.token_type).toBe('bearer');

    const audit = await h.gatehouse.services.db.selectFrom('audit_log').selectAll().where('subject', '=', account.id).where('action', '=', 'account.credentials_read').execute();
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ app_id: app.id, actor: `app:${app.id}` });
    expect(audit[0]!.detail).not.toContain(account.access);

    const token = await clientCredentials(app, 'proxy accounts:read');
    const refused = await send(url, 'GET', { authorization: `Bearer ${token}` });
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain('access_token"');
  });
});
