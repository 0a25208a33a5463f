import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './support/browser.ts';
import { integrate, registerApp } from './support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { signInAtOidcUpstream, startOAuth2Upstream, startOidcUpstream, type OAuth2Upstream, type OidcUpstream } from './support/upstreams.ts';

/** Response bodies are checked field by field below. */
type Json = any;
interface App {
  id: string;
  key: string;
}
const MOCK_SECRET = 'mock-client-secret-0123456789';

describe.each(STORE_KINDS)('accounts API on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let oidc: OidcUpstream;
  let oauth2: OAuth2Upstream;

  beforeAll(async () => {
    oauth2 = await startOAuth2Upstream();
    gatehouse = await startGatehouse({ kind, providersDir: oauth2.providersDir });
    oidc = await startOidcUpstream(`${gatehouse.url}/connect/callback`);
  });

  afterAll(async () => {
    recordSecret(...(oidc?.issuedTokens() ?? []), ...(oauth2?.issuedTokens() ?? []));
    await gatehouse?.close();
    await oidc?.close();
    await oauth2?.close();
  });

  /** A fresh app with its API key and an integration for each provider named. */
  async function newApp(...providers: ('oidc' | 'test-oauth2')[]): Promise<App> {
    const created = await registerApp(gatehouse.services);
    for (const provider of providers) {
      const upstream =
        provider === 'oidc'
          ? { clientId: oidc.clientId, clientSecret: oidc.clientSecret, issuer: oidc.issuer }
          : { clientId: 'mock-client', clientSecret: MOCK_SECRET };
      await integrate(gatehouse.services, created.app.id, provider, upstream);
    }
    return { id: created.app.id, key: created.apiKey };
  }

  /** No response of the API ever carries an upstream token, or a field named like one. */
  function expectNoTokens(text: string) {
    expect(text).not.toMatch(/"(access|refresh|id)_token(_sealed)?"/);
    for (const token of [...oidc.issuedTokens(), ...oauth2.issuedTokens()]) expect(text.includes(token), 'a token in an API response').toBe(false);
  }

  /** One API call over HTTP; a string body is sent as is, anything else as JSON. */
  async function api(app: App | string | null, method: string, path: string, body?: unknown, contentType?: string) {
    const headers: Record<string, string> = {};
    const key = typeof app === 'string' || app === null ? app : app.key;
    if (key !== null) headers.authorization = key.startsWith('ghk_') ? `Bearer ${key}` : key;
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
    const response = await fetch(`${gatehouse.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    expectNoTokens(text);
    return { status: response.status, headers: response.headers, text, body: (text ? JSON.parse(text) : null) as Json };
  }

  function expectError(response: { status: number; body: Json }, status: number, error: string) {
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error, error_description: expect.any(String) });
  }

  /** Connects an oidc account through the real upstream (with a connect session when given); returns its id. */
  async function connectOidc(app: App, login: string, session?: string): Promise<string> {
    const browser = new TestBrowser();
    const start = await browser.request(`${gatehouse.url}/connect/oidc?app=${app.id}${session ? `&session=${session}` : ''}`);
    expect(start.status).toBe(303);
    const callback = await signInAtOidcUpstream(browser, start.headers.get('location')!, login, `${gatehouse.url}/connect/callback`);
    expect((await browser.request(callback.href)).status).toBe(200);
    const row = await gatehouse.services.db
      .selectFrom('accounts')
      .select('id')
      .where('app_id', '=', app.id)
      .where('upstream_subject', '=', login)
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function connectSession(app: App, endUser: string): Promise<string> {
    const created = await api(app, 'POST', '/v1/connect/sessions', { end_user: { id: endUser } });
    expect(created.status).toBe(201);
    recordSecret(created.body.token);
    return created.body.token;
  }

  /** An access token the mock upstream issues (client credentials); its /userinfo answers `oauth2.profile`. */
  async function mockAccessToken(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'mock-client', client_secret: MOCK_SECRET });
    const response = await fetch(`${oauth2.base}/token`, { method: 'POST', body: form });
    const { access_token } = (await response.json()) as { access_token: string };
    recordSecret(access_token);
    return access_token;
  }

  async function importMock(app: App, extra: Record<string, unknown> = {}) {
    return api(app, 'POST', '/v1/accounts', { provider: 'test-oauth2', access_token: await mockAccessToken(), ...extra });
  }

  const tokensRow = (id: string) => gatehouse.services.db.selectFrom('account_tokens').selectAll().where('account_id', '=', id).executeTakeFirst();

  describe('authentication', () => {
    it.each([
      ['missing', null],
      ['malformed (not Bearer)', 'Basic Z2hrXzE6eA=='],
      ['malformed (two values)', 'Bearer ghk_a ghk_b'],
      ['unknown', `ghk_${randomBytes(32).toString('base64url')}`],
    ])('401 with a Bearer challenge and an RFC 6749 error body: %s API key', async (_, key) => {
      for (const [method, path] of [['GET', '/v1/accounts'], ['DELETE', '/v1/accounts/acc_x']] as const) {
        const response = await api(key, method, path);
        expectError(response, 401, 'invalid_token');
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="gatehouse", error="invalid_token"/);
      }
    });
  });

  describe('listing', () => {
    let app: App;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      app = await newApp('oidc', 'test-oauth2');
      for (const login of ['pia', 'quinn', 'rosa']) ids[login] = await connectOidc(app, login);
      const session = await connectSession(app, 'user-9');
      for (const login of ['sam', 'tess']) ids[login] = await connectOidc(app, login, session);
      ids.octo = (await importMock(app)).body.id;
      await gatehouse.services.db.updateTable('accounts').set({ status: 'needs_reauth' }).where('id', '=', ids.rosa!).execute();
    });

    const list = async (query: string) => {
      const response = await api(app, 'GET', `/v1/accounts?${query}`);
      expect(response.status).toBe(200);
      return response.body as { data: { id: string }[]; next_cursor: string | null };
    };

    it('pages with limit and next_cursor until null, every account seen exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { data: { id: string }[]; next_cursor: string | null } = await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data.map((a) => a.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toHaveLength(6);
      expect(new Set(seen)).toEqual(new Set(Object.values(ids)));
    });

    it('filters by provider, end user and status', async () => {
      const idsOf = async (query: string) => (await list(query)).data.map((a) => a.id).sort();
      expect(await idsOf('provider=test-oauth2')).toEqual([ids.octo]);
      expect(await idsOf('provider=oidc')).toEqual([ids.pia, ids.quinn, ids.rosa, ids.sam, ids.tess].sort());
      expect(await idsOf('end_user=user-9')).toEqual([ids.sam, ids.tess].sort());
      expect(await idsOf('end_user=user-9&limit=1')).toHaveLength(1);
      expect(await idsOf('end_user=nobody')).toEqual([]);
      expect(await idsOf('status=needs_reauth')).toEqual([ids.rosa]);
      expect(await idsOf('status=active&provider=oidc')).toEqual([ids.pia, ids.quinn, ids.sam, ids.tess].sort());
    });

    it('refuses a cursor it did not give out, and a limit out of range', async () => {
      expectError(await api(app, 'GET', '/v1/accounts?cursor=not-a-cursor'), 400, 'invalid_request');
      expectError(await api(app, 'GET', `/v1/accounts?cursor=${Buffer.from("acc_x' or 1=1").toString('base64url')}`), 400, 'invalid_request');
      expectError(await api(app, 'GET', '/v1/accounts?limit=1000'), 400, 'invalid_request');
      expectError(await api(app, 'GET', '/v1/accounts?limit=0'), 400, 'invalid_request');
      expectError(await api(app, 'GET', '/v1/accounts?status=deleted'), 400, 'invalid_request');
    });
  });

  describe('one account', () => {
    let app: App;
    beforeAll(async () => {
      app = await newApp('oidc', 'test-oauth2');
    });

    it('GET shows the account and never its tokens', async () => {
      const id = await connectOidc(app, 'alice');
      const response = await api(app, 'GET', `/v1/accounts/${id}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id,
        provider: 'oidc',
        status: 'active',
        end_user_id: null,
        name: 'User alice',
        email: 'alice@example.test',
        scope: expect.stringContaining('openid'),
        metadata: {},
        created_at: expect.any(String),
        updated_at: expect.any(String),
      });
      const sealed = (await tokensRow(id))!;
      const access = gatehouse.services.vault.open(sealed.access_token_sealed!, { table: 'account_tokens', id, field: 'access_token' });
      expect(response.text).not.toContain(access);
      expect(response.text).not.toContain(sealed.access_token_sealed);
    });

    it('PATCH merges metadata, null deletes a key, over 8 KB is refused', async () => {
      const id = await connectOidc(app, 'bruno');
      let response = await api(app, 'PATCH', `/v1/accounts/${id}`, { metadata: { team: 'blue', plan: 'pro' } });
      expect(response.body.metadata).toEqual({ team: 'blue', plan: 'pro' });
      response = await api(app, 'PATCH', `/v1/accounts/${id}`, { metadata: { plan: null, seats: 3 } });
      expect(response.status).toBe(200);
      expect(response.body.metadata).toEqual({ team: 'blue', seats: 3 });
      expectError(await api(app, 'PATCH', `/v1/accounts/${id}`, { metadata: { blob: 'x'.repeat(9000) } }), 400, 'invalid_request');
      expect((await api(app, 'GET', `/v1/accounts/${id}`)).body.metadata).toEqual({ team: 'blue', seats: 3 });
    });

    it('scopes come with the descriptions of the catalog entry', async () => {
      const imported = await importMock(app, { scope: 'read:user repo gist' });
      const response = await api(app, 'GET', `/v1/accounts/${imported.body.id}/scopes`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        provider: 'test-oauth2',
        scopes: [
          { scope: 'read:user', description: 'Read your profile' },
          { scope: 'repo', description: 'Read and write your repositories' },
          { scope: 'gist', description: null },
        ],
      });
    });

    it('DELETE revokes the grant upstream (RFC 7009), wipes the tokens and audits the release', async () => {
      const id = await connectOidc(app, 'carmen');
      const sealed = (await tokensRow(id))!;
      const access = gatehouse.services.vault.open(sealed.access_token_sealed!, { table: 'account_tokens', id, field: 'access_token' });
      const userinfo = () => fetch(`${oidc.issuer}/me`, { headers: { authorization: `Bearer ${access}` } });
      expect((await userinfo()).status).toBe(200);

      const response = await api(app, 'DELETE', `/v1/accounts/${id}`);
      expect(response.status).toBe(200);
      expect(response.body.upstream_revocation).toEqual({ method: 'rfc7009', revoked: true });
      expect(response.body.account).toMatchObject({ id, status: 'revoked' });

      expect((await userinfo()).status).toBe(401);
      expect(await tokensRow(id)).toBeUndefined();
      expect((await api(app, 'GET', `/v1/accounts/${id}`)).body.status).toBe('revoked');
      const audit = await gatehouse.services.db.selectFrom('audit_log').select('action').where('subject', '=', id).execute();
      expect(audit.map((a) => a.action)).toContain('account.released');
    });

    it('DELETE reports a failed upstream revocation and still wipes the tokens', async () => {
      const mockApp = await newApp('test-oauth2');
      const { body: account } = await importMock(mockApp);
      oauth2.server.service.once('beforeRevoke', (res: { statusCode: number }) => {
        res.statusCode = 500;
      });
      const response = await api(mockApp, 'DELETE', `/v1/accounts/${account.id}`);
      expect(response.status).toBe(200);
      expect(response.body.upstream_revocation).toEqual({ method: 'rfc7009', revoked: false, error: expect.any(String) });
      expect(oauth2.server.service.listenerCount('beforeRevoke')).toBe(0); // the upstream was really asked
      expect(response.body.account.status).toBe('revoked');
      expect(await tokensRow(account.id)).toBeUndefined();
    });
  });

  describe('import', () => {
    let app: App;
    beforeAll(async () => {
      app = await newApp('test-oauth2');
    });

    it('imports a token with the identity read from the profile endpoint, and again as the same account', async () => {
      const refresh = `imported-refresh-${randomBytes(16).toString('hex')}`;
      recordSecret(refresh);
      const first = await importMock(app, { refresh_token: refresh, expires_in: 3600 });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ provider: 'test-oauth2', status: 'active', name: oauth2.profile.name, email: oauth2.profile.email });
      expect(first.text).not.toContain(refresh);
      const row = await gatehouse.services.db.selectFrom('accounts').selectAll().where('id', '=', first.body.id).executeTakeFirstOrThrow();
      expect(row.upstream_subject).toBe(String(oauth2.profile.id));
      expect((await tokensRow(first.body.id))!.refresh_token_sealed).toMatch(/^v1\.test1\./);

      const again = await importMock(app);
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(first.body.id);
    });

    it('refuses an unknown provider (404), one without an integration (400), an unknown field (400)', async () => {
      const token = await mockAccessToken();
      expectError(await api(app, 'POST', '/v1/accounts', { provider: 'no-such-provider', access_token: token }), 404, 'not_found');
      expectError(await api(app, 'POST', '/v1/accounts', { provider: 'github', access_token: token }), 400, 'invalid_request');
      expectError(await api(app, 'POST', '/v1/accounts', { provider: 'test-oauth2', access_token: token, owner: 'me' }), 400, 'invalid_request');
    });
  });

  describe('cross-app isolation', () => {
    let owner: App;
    let other: App;
    let id: string;
    beforeAll(async () => {
      owner = await newApp('oidc');
      other = await newApp('oidc');
      id = await connectOidc(owner, 'dora');
      await api(owner, 'PATCH', `/v1/accounts/${id}`, { metadata: { mine: true } });
    });

    it("another app gets 404 (not 403) on every route of the account, and does not list it", async () => {
      expectError(await api(other, 'GET', `/v1/accounts/${id}`), 404, 'not_found');
      expectError(await api(other, 'PATCH', `/v1/accounts/${id}`, { metadata: { mine: false } }), 404, 'not_found');
      expectError(await api(other, 'GET', `/v1/accounts/${id}/scopes`), 404, 'not_found');
      expectError(await api(other, 'DELETE', `/v1/accounts/${id}`), 404, 'not_found');
      expect((await api(other, 'GET', '/v1/accounts')).body.data.map((a: { id: string }) => a.id)).not.toContain(id);
      expect((await api(owner, 'GET', '/v1/accounts')).body.data.map((a: { id: string }) => a.id)).toContain(id);
    });

    it("the owner's account is untouched by the other app's attempts", async () => {
      const response = await api(owner, 'GET', `/v1/accounts/${id}`);
      expect(response.body).toMatchObject({ status: 'active', metadata: { mine: true } });
      expect(await tokensRow(id)).toBeDefined();
    });
  });

  describe('bad input is refused, never a 500', () => {
    let app: App;
    let id: string;
    beforeAll(async () => {
      app = await newApp('test-oauth2');
      id = (await importMock(app)).body.id;
    });

    it('invalid JSON body', async () => {
      expectError(await api(app, 'PATCH', `/v1/accounts/${id}`, '{"metadata": {'), 400, 'invalid_request');
      expectError(await api(app, 'POST', '/v1/accounts', '{"provider":"test-oauth2",}'), 400, 'invalid_request');
      expectError(await api(app, 'PATCH', `/v1/accounts/${id}`, '[1,2]'), 400, 'invalid_request');
    });

    it('wrong content type (no parser: 415; text/plain is parsed, then fails the schema)', async () => {
      expectError(await api(app, 'POST', '/v1/accounts', '<account/>', 'application/xml'), 415, 'invalid_request');
      expectError(await api(app, 'PATCH', `/v1/accounts/${id}`, 'metadata', 'text/plain'), 400, 'invalid_request');
    });

    it('huge or badly encoded id parameter', async () => {
      // 65 characters fails the schema; 5000 exceeds the router's parameter limit; %E0%A4%A is not UTF-8
      for (const id of [`acc_${'x'.repeat(61)}`, `acc_${'x'.repeat(5000)}`, '%E0%A4%A']) {
        for (const [method, path] of [['GET', `/v1/accounts/${id}`], ['DELETE', `/v1/accounts/${id}`], ['GET', `/v1/accounts/${id}/scopes`]] as const) {
          const response = await api(app, method, path);
          expectError(response, 400, 'invalid_request');
          expect(response.text.length).toBeLessThan(300);
        }
      }
    });

    it('non-integer limit', async () => {
      for (const limit of ['abc', '1.5', '-1', '1e3', '']) {
        expectError(await api(app, 'GET', `/v1/accounts?limit=${limit}`), 400, 'invalid_request');
      }
    });
  });
});
