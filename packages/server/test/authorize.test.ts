import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type CreatedApp } from '../src/authorization/index.ts';
import { sweepExpired } from '../src/store/index.ts';
import { AuthorizationHarness, codeOf, expectOAuthError, insecure, REDIRECT, SCOPE, SPA_REDIRECT } from './support/authorization.ts';
import { integrate } from './support/fixtures.ts';
import type { RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import type { OidcUpstream } from './support/upstreams.ts';

// Gatehouse's authorization endpoint, driven end to end by an independent client (oauth4webapi)
// through a real upstream (node-oidc-provider) and a cookie-keeping test browser.
describe.each(STORE_KINDS)('authorization code flow on %s', (kind) => {
  const h = new AuthorizationHarness();
  const { toConsent, decide, exchange, verify, authorizeUrl, client, auth, newBrowser, refresh } = h;
  let gatehouse: RunningGatehouse;
  let oidc: OidcUpstream;
  let as: oauth.AuthorizationServer;
  let web: CreatedApp;
  let spa: CreatedApp;

  beforeAll(async () => {
    await h.start(kind);
    ({ gatehouse, oidc, as, web, spa } = h);
  });
  afterAll(() => h.close());


  it('runs the whole flow: authorize, upstream sign-in, consent, code, verify, introspect, refresh, revoke', async () => {
    const flow = await toConsent('alice');
    expect(flow.html).toContain('Acme Notes');
    expect(flow.html).toContain('OpenID Connect (generic)');
    expect(flow.html).toContain('alice@example.test');
    const redirected = await decide(flow, 'allow');
    recordSecret(codeOf(redirected));
    expect(redirected.searchParams.get('iss')).toBe(gatehouse.url);
    const tokens = await exchange(flow, redirected);
    expect(tokens.access_token).toMatch(/^gha_/);
    expect(tokens.refresh_token).toMatch(/^ghr_/);
    expect(tokens.scope).toBe(SCOPE);
    const account = tokens.account as { id: string; provider: string; email: string };
    expect(account).toMatchObject({ provider: 'oidc', email: 'alice@example.test', name: 'User alice' });
    expect(typeof tokens.created_at).toBe('number');

    expect(await (await verify(tokens.access_token)).json()).toMatchObject({ client_id: web.app.id, account_id: account.id });
    const introspected = await oauth.processIntrospectionResponse(
      as,
      client(web),
      await oauth.introspectionRequest(as, client(web), auth(web), tokens.access_token, insecure),
    );
    expect(introspected).toMatchObject({ active: true, client_id: web.app.id, account_id: account.id });

    const rotated = await h.refresh(web, tokens.refresh_token!);
    expect(rotated.refresh_token).toMatch(/^ghr_/);
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect(await (await verify(rotated.access_token)).json()).toMatchObject({ client_id: web.app.id, account_id: account.id });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client(web), auth(web), rotated.refresh_token!, insecure));
    expect((await verify(rotated.access_token)).status).toBe(401);
    expect((await verify(tokens.access_token)).status).toBe(401);
  });

  it('shows the chooser when several providers fit, and connects the chosen one', async () => {
    const app = await createApp(gatehouse.services, { name: 'Chooser App', redirectUris: [REDIRECT], scopes: ['accounts:read'] });
    recordSecret(app.clientSecret, app.apiKey);
    await integrate(gatehouse.services, app.app.id, 'oidc', { clientId: oidc.clientId, clientSecret: oidc.clientSecret, issuer: oidc.issuer });
    await integrate(gatehouse.services, app.app.id, 'github', { clientId: 'gh-client', clientSecret: 'gh-secret-0123456789' });
    const browser = newBrowser();
    const chooser = await browser.request(authorizeUrl({ response_type: 'code', client_id: app.app.id, state: 'xyz' }));
    expect(chooser.status).toBe(200);
    const html = await chooser.text();
    expect(html).toContain('GitHub');
    expect(html).toContain('OpenID Connect (generic)');
    const link = /href="(\/oauth\/authorize\/connect\?[^"]+provider=oidc)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    const go = await browser.request(new URL(link, gatehouse.url).href);
    expect(go.status).toBe(303);
    expect(new URL(go.headers.get('location')!).origin).toBe(oidc.issuer);
  });

  it('a connect session puts the account on its end user; another app\'s session is refused', async () => {
    const session = await fetch(`${gatehouse.url}/v1/connect/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${web.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ end_user: { id: 'user-9' }, allowed_providers: ['oidc'] }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    recordSecret(session.token);
    const flow = await toConsent('ivan', { extra: { session_token: session.token } });
    const tokens = await exchange(flow, await decide(flow, 'allow'));
    const account = await gatehouse.services.db.selectFrom('accounts').selectAll().where('id', '=', (tokens.account as { id: string }).id).executeTakeFirstOrThrow();
    expect(account.end_user_id).toBe('user-9');
    const grant = await gatehouse.services.db.selectFrom('grants').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(grant.end_user_id).toBe('user-9');

    const foreign = await fetch(
      authorizeUrl({ response_type: 'code', client_id: spa.app.id, redirect_uri: SPA_REDIRECT, state: 'f', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', session_token: session.token }),
      { redirect: 'manual' },
    );
    expect(new URL(foreign.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('end users: their accounts are listed; signing them out revokes their tokens and keeps the account', async () => {
    const api = (path: string, token: string, init: RequestInit = {}) =>
      fetch(`${gatehouse.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    const session = (await (await api('/v1/connect/sessions', web.apiKey, { method: 'POST', body: JSON.stringify({ end_user: { id: 'user-10' } }) })).json()) as { token: string };
    recordSecret(session.token);
    const flow = await toConsent('judy', { extra: { session_token: session.token } });
    const tokens = await exchange(flow, await decide(flow, 'allow'));
    const accountId = (tokens.account as { id: string }).id;
    const other = await gatehouse.services.db.selectFrom('accounts').select('id').where('app_id', '=', web.app.id).where('id', '!=', accountId).executeTakeFirstOrThrow();

    // an account-bound token reaches its own account only
    expect((await api(`/v1/accounts/${accountId}`, tokens.access_token)).status).toBe(200);
    expect((await api(`/v1/accounts/${other.id}`, tokens.access_token)).status).toBe(404);
    const listed = (await (await api('/v1/accounts', tokens.access_token)).json()) as { data: { id: string }[] };
    expect(listed.data.map((a) => a.id)).toEqual([accountId]);
    expect((await api('/v1/end-users/user-10/tokens', tokens.access_token, { method: 'DELETE' })).status).toBe(403);

    const mine = (await (await api('/v1/end-users/user-10/accounts', web.apiKey)).json()) as { data: { id: string }[] };
    expect(mine.data.map((a) => a.id)).toEqual([accountId]);
    const signOut = await api('/v1/end-users/user-10/tokens', web.apiKey, { method: 'DELETE' });
    expect(await signOut.json()).toEqual({ revoked_grants: 1 });
    expect((await verify(tokens.access_token)).status).toBe(401);
    await expectOAuthError(refresh(web, tokens.refresh_token!), 'invalid_grant');
    // the upstream side is untouched: the account works again on the next sign-in
    const account = await gatehouse.services.db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirstOrThrow();
    expect(account.status).toBe('active');
    expect(await gatehouse.services.db.selectFrom('account_tokens').select('account_id').where('account_id', '=', accountId).executeTakeFirst()).toBeDefined();
  });

  it('an unknown scope is invalid_scope, sent back to the app', async () => {
    const response = await fetch(authorizeUrl({ response_type: 'code', client_id: web.app.id, redirect_uri: REDIRECT, scope: 'accounts:read admin', state: 'sc' }), { redirect: 'manual' });
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe('sc');
  });

  it('sweeps expired authorization requests, codes and access tokens', async () => {
    const db = gatehouse.services.db;
    const count = async () =>
      Promise.all((['authorization_requests', 'authorization_codes', 'access_tokens'] as const).map(async (t) => (await db.selectFrom(t).select('id').execute()).length));
    const before = await count();
    expect(before.every((n) => n > 0)).toBe(true);
    const swept = await sweepExpired(db, Date.now() + 2 * 3600 * 1000);
    expect(swept.authorization_requests).toBe(before[0]);
    expect(await count()).toEqual([0, 0, 0]);
  });

  it('an upstream refusal goes back to the app as access_denied, with its state and iss', async () => {
    const browser = newBrowser();
    const state = 'upstream-denied';
    const challenge = await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier());
    const start = await browser.request(
      authorizeUrl({ response_type: 'code', client_id: web.app.id, redirect_uri: REDIRECT, scope: SCOPE, state, code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    const upstreamState = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const back = await browser.request(`${gatehouse.url}/connect/callback?error=access_denied&state=${upstreamState}&iss=${encodeURIComponent(oidc.issuer)}`);
    expect(back.status).toBe(303);
    const redirected = new URL(back.headers.get('location')!);
    expect(redirected.href.startsWith(REDIRECT)).toBe(true);
    expect(Object.fromEntries(redirected.searchParams)).toMatchObject({ error: 'access_denied', state, iss: gatehouse.url });
  });

  describe('RFC 9700 rules', () => {
    it('exact redirect URI match: a trailing slash or an added query is an error page, not a redirect', async () => {
      for (const redirect of [`${REDIRECT}/`, `${REDIRECT}?x=1`, 'http://127.0.0.1:9/CB']) {
        const response = await fetch(authorizeUrl({ response_type: 'code', client_id: web.app.id, redirect_uri: redirect, state: 's' }), { redirect: 'manual' });
        expect(response.status).toBe(400);
        expect(response.headers.get('location')).toBeNull();
        expect(response.headers.get('content-type')).toContain('text/html');
      }
    });

    it('no open redirect: an unknown client gets a page, never a redirect', async () => {
      const response = await fetch(authorizeUrl({ response_type: 'code', client_id: 'app_unknown', redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual' });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toContain('<code>invalid_request</code>');
    });

    it('PKCE downgrade: a code_verifier for a code issued without a challenge is invalid_grant', async () => {
      const flow = await toConsent('bob', { pkce: false });
      const redirected = await decide(flow, 'allow');
      recordSecret(codeOf(redirected));
      await expectOAuthError(exchange(flow, redirected, oauth.generateRandomCodeVerifier()), 'invalid_grant');
      // and the reverse: a challenged code without its verifier
      const challenged = await toConsent('bob');
      const second = await decide(challenged, 'allow');
      recordSecret(codeOf(second));
      await expectOAuthError(exchange(challenged, second, oauth.nopkce), 'invalid_grant');
    });

    it('PKCE is required for public clients, S256 only', async () => {
      const base = { response_type: 'code', client_id: spa.app.id, redirect_uri: SPA_REDIRECT, state: 'st1' };
      for (const extra of [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, { code_challenge: 'short', code_challenge_method: 'S256' }]) {
        const response = await fetch(authorizeUrl({ ...base, ...extra }), { redirect: 'manual' });
        expect(response.status).toBe(303);
        const location = new URL(response.headers.get('location')!);
        expect(location.searchParams.get('error')).toBe('invalid_request');
        expect(location.searchParams.get('state')).toBe('st1');
        expect(location.searchParams.get('iss')).toBe(gatehouse.url);
      }
      // with PKCE a public client gets its tokens with client_id alone (auth method none)
      const flow = await toConsent('pat', { app: spa });
      const tokens = await exchange(flow, await decide(flow, 'allow'));
      expect(tokens.access_token).toMatch(/^gha_/);
    });

    it('code replay: a second use fails and revokes the tokens of the first', async () => {
      const flow = await toConsent('carol');
      const redirected = await decide(flow, 'allow');
      recordSecret(codeOf(redirected));
      const tokens = await exchange(flow, redirected);
      expect((await verify(tokens.access_token)).status).toBe(200);
      await expectOAuthError(exchange(flow, redirected), 'invalid_grant');
      expect((await verify(tokens.access_token)).status).toBe(401);
    });

    it('a code is bound to its client, its redirect URI and 60 seconds', async () => {
      const flow = await toConsent('judy');
      const redirected = await decide(flow, 'allow');
      const params = oauth.validateAuthResponse(as, client(web), redirected, flow.state);
      // another client (the public app) cannot redeem it
      const foreign = await oauth.authorizationCodeGrantRequest(as, client(spa), auth(spa), params, SPA_REDIRECT, flow.verifier!, insecure);
      await expectOAuthError(oauth.processAuthorizationCodeResponse(as, client(spa), foreign), 'invalid_grant');
      // another redirect URI is refused
      const elsewhere = await oauth.authorizationCodeGrantRequest(as, client(web), auth(web), params, `${REDIRECT}/other`, flow.verifier!, insecure);
      await expectOAuthError(oauth.processAuthorizationCodeResponse(as, client(web), elsewhere), 'invalid_grant');
      // an expired code is refused
      const late = await toConsent('judy');
      const lateRedirect = await decide(late, 'allow');
      await gatehouse.services.db.updateTable('authorization_codes').set({ expires_at: 1 }).where('used_at', 'is', null).execute();
      await expectOAuthError(exchange(late, lateRedirect), 'invalid_grant');
    });

    it('refresh token reuse: reusing a rotated token kills the rotated one too', async () => {
      const flow = await toConsent('dave');
      const tokens = await exchange(flow, await decide(flow, 'allow'));
      const refresh = (token: string) => h.refresh(web, token);
      const rotated = await refresh(tokens.refresh_token!);
      recordSecret(rotated.access_token, rotated.refresh_token);
      await expectOAuthError(refresh(tokens.refresh_token!), 'invalid_grant');
      await expectOAuthError(refresh(rotated.refresh_token!), 'invalid_grant');
      expect((await verify(rotated.access_token)).status).toBe(401);
    });

    it('no implicit grant: response_type=token is unsupported_response_type, with no token in the redirect', async () => {
      const response = await fetch(authorizeUrl({ response_type: 'token', client_id: web.app.id, redirect_uri: REDIRECT, state: 'imp' }), { redirect: 'manual' });
      expect(response.status).toBe(303);
      const location = response.headers.get('location')!;
      expect(location).not.toContain('#');
      expect(location).not.toMatch(/access_token|gha_/);
      expect(new URL(location).searchParams.get('error')).toBe('unsupported_response_type');
      expect(new URL(location).searchParams.get('state')).toBe('imp');
    });

    it('303 after POST: the consent answer is a 303 See Other', async () => {
      const flow = await toConsent('erin');
      const response = await flow.browser.request(`${gatehouse.url}/oauth/consent`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request: flow.handle, decision: 'allow' }).toString(),
      });
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get('location')!);
      expect(location.href.startsWith(REDIRECT)).toBe(true);
      recordSecret(codeOf(location));
    });

    it('clickjacking: the consent page may not be framed, and its forms go only to us and the app', async () => {
      const flow = await toConsent('frank');
      const csp = flow.consent.headers.get('content-security-policy')!;
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self' http://127.0.0.1:9");
      expect(csp).not.toMatch(/unsafe-inline|script-src/);
      expect(flow.consent.headers.get('x-frame-options')).toBe('DENY');
      expect(flow.html).not.toMatch(/<script|style=/);
    });

    it('no CORS on /oauth/authorize', async () => {
      const url = authorizeUrl({ response_type: 'code', client_id: web.app.id, redirect_uri: REDIRECT, state: 'c' });
      const get = await fetch(url, { redirect: 'manual', headers: { origin: 'https://evil.example' } });
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('consent without the browser-binding cookie is refused (and the request survives for its own browser)', async () => {
      const flow = await toConsent('grace');
      const stranger = await fetch(`${gatehouse.url}/oauth/consent`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request: flow.handle, decision: 'allow' }),
      });
      expect(stranger.status).toBe(403);
      expect(stranger.headers.get('location')).toBeNull();
      const page = await fetch(`${gatehouse.url}/oauth/consent?request=${encodeURIComponent(flow.handle)}`, { redirect: 'manual' });
      expect(page.status).toBe(403);
      const redirected = await decide(flow, 'allow');
      recordSecret(codeOf(redirected));
      expect(redirected.searchParams.get('code')).toMatch(/^ghac_/);
    });

    it('Deny: access_denied back to the app with state and iss', async () => {
      const flow = await toConsent('heidi');
      const redirected = await decide(flow, 'deny');
      expect(redirected.searchParams.get('error')).toBe('access_denied');
      expect(redirected.searchParams.get('state')).toBe(flow.state);
      expect(redirected.searchParams.get('iss')).toBe(gatehouse.url);
      expect(redirected.searchParams.has('code')).toBe(false);
      const err = (() => {
        try {
          oauth.validateAuthResponse(as, client(web), redirected, flow.state);
        } catch (e) {
          return e as { error?: string };
        }
      })();
      expect(err?.error).toBe('access_denied');
      // the request is used up
      const again = await flow.browser.request(`${gatehouse.url}/oauth/consent?request=${encodeURIComponent(flow.handle)}`);
      expect(again.status).toBe(400);
    });

    it('no tokens in URLs: no page the browsers visited carried an access or refresh token', () => {
      const visited = h.browsers.flatMap((b) => b.visited);
      expect(visited.length).toBeGreaterThan(30);
      for (const url of visited) expect(url).not.toMatch(/gha_|ghr_/);
    });
  });
});
