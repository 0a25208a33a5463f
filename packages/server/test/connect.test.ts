import { readFileSync, existsSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './support/browser.ts';
import { registerApp, integrate } from './support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { signInAtOidcUpstream, startOAuth2Upstream, startOidcUpstream, type OAuth2Upstream, type OidcUpstream } from './support/upstreams.ts';

describe.each(STORE_KINDS)('upstream connect on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let oidc: OidcUpstream;
  let oauth2: OAuth2Upstream;
  let appId: string;
  let secrets: string[] = [];
  let clockOffset = 0;

  beforeAll(async () => {
    oauth2 = await startOAuth2Upstream();
    gatehouse = await startGatehouse({ kind, providersDir: oauth2.providersDir, clock: () => Date.now() + clockOffset });
    oidc = await startOidcUpstream(`${gatehouse.url}/connect/callback`);
    const app = await registerApp(gatehouse.services);
    appId = app.app.id;
    await integrate(gatehouse.services, appId, 'oidc', { clientId: oidc.clientId, clientSecret: oidc.clientSecret, issuer: oidc.issuer });
    await integrate(gatehouse.services, appId, 'test-oauth2', { clientId: 'mock-client', clientSecret: 'mock-client-secret-0123456789' });
    secrets = [app.clientSecret!, app.apiKey, oidc.clientSecret, 'mock-client-secret-0123456789'];
  });

  afterAll(async () => {
    await gatehouse?.close();
    await oidc?.close();
    await oauth2?.close();
  });

  const accounts = () => gatehouse.services.db.selectFrom('accounts').selectAll().orderBy('created_at').execute();

  /** Starts a connect and returns the upstream authorization URL Gatehouse redirected to. */
  async function start(browser: TestBrowser, provider: string, query = ''): Promise<URL> {
    const response = await browser.request(`${gatehouse.url}/connect/${provider}?app=${appId}${query}`);
    expect(response.status).toBe(303);
    return new URL(response.headers.get('location')!);
  }

  async function connectOidc(login: string) {
    const browser = new TestBrowser();
    const authorize = await start(browser, 'oidc');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    const callback = await signInAtOidcUpstream(browser, authorize.href, login, `${gatehouse.url}/connect/callback`);
    expect(callback.searchParams.get('iss')).toBe(oidc.issuer);
    const done = await browser.request(callback.href);
    return { done, html: await done.text(), browser };
  }

  it('connects a node-oidc-provider account: login, consent, back, stored sealed', async () => {
    const { done, html } = await connectOidc('alice');
    expect(done.status).toBe(200);
    expect(html).toContain('alice@example.test');
    expect(done.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const rows = await accounts();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ provider: 'oidc', upstream_subject: 'alice', email: 'alice@example.test', name: 'User alice', status: 'active' });
    const tokens = await gatehouse.services.db.selectFrom('account_tokens').selectAll().where('account_id', '=', rows[0]!.id).executeTakeFirstOrThrow();
    expect(tokens.access_token_sealed).toMatch(/^v1\.test1\./);
    expect(tokens.refresh_token_sealed).toMatch(/^v1\.test1\./);
    expect(tokens.expires_at).toBeGreaterThan(Date.now());
    const opened = gatehouse.services.vault.open(tokens.access_token_sealed!, { table: 'account_tokens', id: rows[0]!.id, field: 'access_token' });
    expect(oidc.issuedTokens()).toContain(opened);
    recordSecret(...oidc.issuedTokens());
  });

  it('reconnecting the same upstream subject updates the account instead of duplicating it', async () => {
    const before = await accounts();
    const { done } = await connectOidc('alice');
    expect(done.status).toBe(200);
    const after = await accounts();
    expect(after).toHaveLength(before.length);
    expect(after[0]!.id).toBe(before[0]!.id);
    const audit = await gatehouse.services.db.selectFrom('audit_log').select('action').where('subject', '=', before[0]!.id).execute();
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['account.connected', 'account.reconnected']));
  });

  it('connects a plain OAuth 2.0 upstream whose identity comes from a profile endpoint', async () => {
    const browser = new TestBrowser();
    const authorize = await start(browser, 'test-oauth2');
    expect(authorize.searchParams.has('nonce')).toBe(false);
    const { url: callback } = await browser.follow(authorize.href, {}, (u) => u.pathname === '/connect/callback');
    const done = await browser.request(callback.href);
    expect(done.status).toBe(200);
    const row = (await accounts()).find((a) => a.provider === 'test-oauth2');
    expect(row).toMatchObject({ upstream_subject: '4242', email: 'octo@example.test', name: 'Octo Cat' });
    recordSecret(...oauth2.issuedTokens());
  });

  it('one end user may hold several accounts of one provider', async () => {
    const session = await fetch(`${gatehouse.url}/v1/connect/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets[1]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ end_user: { id: 'user-7' } }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    recordSecret(session.token);
    for (const login of ['bob', 'carol']) {
      const browser = new TestBrowser();
      const authorize = await start(browser, 'oidc', `&session=${session.token}`);
      const callback = await signInAtOidcUpstream(browser, authorize.href, login, `${gatehouse.url}/connect/callback`);
      expect((await browser.request(callback.href)).status).toBe(200);
    }
    const owned = (await accounts()).filter((a) => a.end_user_id === 'user-7');
    expect(owned.map((a) => a.upstream_subject).sort()).toEqual(['bob', 'carol']);
  });

  it('keeps no upstream token, client secret or API key in clear in the database', async () => {
    const needles = [...secrets, ...oidc.issuedTokens(), ...oauth2.issuedTokens()];
    expect(needles.length).toBeGreaterThan(6);
    let haystack: string;
    if (kind === 'sqlite') {
      const path = gatehouse.database.sqlitePath!;
      haystack = [path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p).toString('latin1')).join('\n');
    } else {
      // every table there is, so a table added later is scanned too
      const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(
        gatehouse.services.db,
      );
      expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['accounts', 'account_tokens', 'integrations', 'api_keys']));
      const dumps = await Promise.all(rows.map((r) => sql`select * from ${sql.table(r.name)}`.execute(gatehouse.services.db)));
      haystack = JSON.stringify(dumps.map((d) => d.rows));
    }
    expect(haystack.length).toBeGreaterThan(1000);
    for (const needle of needles) expect(haystack.includes(needle), `found a secret in clear: ${needle.slice(0, 6)}…`).toBe(false);
    // and the sealed values are there, so the scan looked at the right bytes
    expect(haystack).toMatch(/v1\.test1\./);
  });

  describe('errors give a clear page and create nothing', () => {
    let count: number;
    beforeAll(async () => {
      count = (await accounts()).length;
    });

    async function expectPage(response: Response, status: number, code: string) {
      const html = await response.text();
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(html).toContain(`<code>${code}</code>`);
      expect(html).toMatch(/Reference: <code>[0-9a-f-]{36}<\/code>/);
      expect(await accounts()).toHaveLength(count);
    }

    it('upstream access_denied', async () => {
      const browser = new TestBrowser();
      const authorize = await start(browser, 'oidc');
      const state = authorize.searchParams.get('state')!;
      const response = await browser.request(`${gatehouse.url}/connect/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(oidc.issuer)}`);
      await expectPage(response, 403, 'access_denied');
    });

    it('state mismatch', async () => {
      const browser = new TestBrowser();
      const authorize = await start(browser, 'oidc');
      const callback = await signInAtOidcUpstream(browser, authorize.href, 'dave', `${gatehouse.url}/connect/callback`);
      callback.searchParams.set('state', 'forged-state-value');
      await expectPage(await browser.request(callback.href), 400, 'invalid_state');
    });

    it('missing state', async () => {
      await expectPage(await fetch(`${gatehouse.url}/connect/callback?code=abc`), 400, 'invalid_state');
    });

    it('replayed flow', async () => {
      const browser = new TestBrowser();
      const authorize = await start(browser, 'oidc');
      const callback = await signInAtOidcUpstream(browser, authorize.href, 'erin', `${gatehouse.url}/connect/callback`);
      const tampered = new URL(callback);
      tampered.searchParams.set('code', 'not-the-code');
      await expectPage(await browser.request(tampered.href), 502, 'upstream_error');
      // the flow was used up by the failed attempt: the genuine callback no longer works
      await expectPage(await browser.request(callback.href), 400, 'invalid_state');
    });

    it('expired flow', async () => {
      const browser = new TestBrowser();
      const authorize = await start(browser, 'oidc');
      const callback = await signInAtOidcUpstream(browser, authorize.href, 'frank', `${gatehouse.url}/connect/callback`);
      clockOffset = 11 * 60 * 1000;
      try {
        await expectPage(await browser.request(callback.href), 400, 'invalid_state');
      } finally {
        clockOffset = 0;
      }
    });

    it('bad ID token (nonce does not match the flow)', async () => {
      const browser = new TestBrowser();
      const authorize = await start(browser, 'oidc');
      await gatehouse.services.db.updateTable('connect_flows').set({ nonce: 'another-nonce' }).execute();
      const callback = await signInAtOidcUpstream(browser, authorize.href, 'grace', `${gatehouse.url}/connect/callback`);
      const response = await browser.request(callback.href);
      await expectPage(response, 502, 'upstream_error');
    });

    it('wrong issuer in the authorization response (RFC 9207)', async () => {
      const browser = new TestBrowser();
      const authorize = await start(browser, 'oidc');
      const callback = await signInAtOidcUpstream(browser, authorize.href, 'heidi', `${gatehouse.url}/connect/callback`);
      callback.searchParams.set('iss', 'http://127.0.0.1:1/evil');
      await expectPage(await browser.request(callback.href), 502, 'upstream_error');
    });

    it('unknown app or provider', async () => {
      await expectPage(await fetch(`${gatehouse.url}/connect/oidc?app=app_nope`), 400, 'invalid_request');
      await expectPage(await fetch(`${gatehouse.url}/connect/no-such-provider?app=${appId}`), 404, 'not_found');
      await expectPage(await fetch(`${gatehouse.url}/connect/github?app=${appId}`), 400, 'invalid_request');
    });
  });
});
