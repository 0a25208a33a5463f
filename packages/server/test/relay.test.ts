import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, parseRelayUri, type CreatedApp } from '../src/authorization/index.ts';
import { AuthorizationHarness } from './support/authorization.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';

// The browser authenticator's server side: the relay redirect URI, the relay page, the mailbox,
// the script, and CORS on /oauth/token (trusted origins only; never on /oauth/authorize).
const APP_ORIGIN = 'https://app.example';
const EVIL_ORIGIN = 'https://evil.example';

describe('relay redirect URI', () => {
  const base = 'https://gh.example';
  const ok = `${base}/sdk/relay?client_id=app_1&origin=${encodeURIComponent(APP_ORIGIN)}&rid=${'a'.repeat(32)}`;
  it('is exactly <base>/sdk/relay with client_id, origin and rid, once each', () => {
    expect(parseRelayUri(base, ok)).toEqual({ clientId: 'app_1', origin: APP_ORIGIN, rid: 'a'.repeat(32) });
    for (const bad of [
      `${ok}&extra=1`,
      `${ok}&rid=${'b'.repeat(32)}`,
      ok.replace('a'.repeat(32), 'short'),
      ok.replace(base, 'https://other.example'),
      ok.replace('/sdk/relay', '/sdk/relay/x'),
      `${ok}#frag`,
    ]) {
      expect(parseRelayUri(base, bad)).toBeUndefined();
    }
  });
});

describe.each(STORE_KINDS)('authenticator relay on %s', (kind) => {
  const h = new AuthorizationHarness();
  let app: CreatedApp;
  let gh: string;

  beforeAll(async () => {
    await h.start(kind);
    gh = h.gatehouse.url;
    app = await createApp(h.gatehouse.services, {
      name: 'Relay SPA',
      redirectUris: ['https://app.example/return'],
      scopes: ['accounts:read', 'offline_access', 'oidc'],
      trustedOrigins: [APP_ORIGIN],
      public: true,
    });
    recordSecret(app.apiKey);
    await h.integrateOidc(app);
  });
  afterAll(() => h.close());

  const relayUri = (origin = APP_ORIGIN, rid = randomBytes(24).toString('base64url')) =>
    `${gh}/sdk/relay?${new URLSearchParams({ client_id: app.app.id, origin, rid })}`;
  const mailbox = (rid: string, origin: string, clientId = app.app.id) =>
    fetch(`${gh}/sdk/relay/result`, { method: 'POST', headers: { origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: clientId, rid }) });

  it('runs a popup flow to the relay page, which posts to the exact trusted origin; the mailbox gives the result once; the token endpoint answers the origin', async () => {
    const rid = randomBytes(24).toString('base64url');
    const redirect = relayUri(APP_ORIGIN, rid);
    const flow = await h.toConsent('relay-user', { app, extra: { redirect_uri: redirect } });
    expect(flow.html).toContain(`data-opener-origin="${APP_ORIGIN}"`);
    expect(flow.html).toContain('<script src="/sdk/popup.js" defer></script>');
    expect(flow.consent.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(flow.consent.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    const back = await flow.browser.postForm(`${gh}/oauth/consent`, { request: flow.handle, decision: 'allow' }, (u) => u.href.startsWith(`${gh}/sdk/relay?`));
    const relayed = back.url;
    const code = relayed.searchParams.get('code')!;
    recordSecret(code);
    expect(relayed.searchParams.get('state')).toBe(flow.state);

    const page = await fetch(relayed);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain(`data-opener-origin="${APP_ORIGIN}"`);
    expect(html).toContain(`data-rid="${rid}"`);
    expect(html).toContain('data-relay');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(html).not.toContain(code); // the script reads the code from the URL; the page never repeats it

    expect((await mailbox(rid, EVIL_ORIGIN)).status).toBe(403);
    const taken = await mailbox(rid, APP_ORIGIN);
    expect(taken.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(await taken.json()).toEqual({ status: 'done', result: { code, state: flow.state, iss: gh } });
    expect(await (await mailbox(rid, APP_ORIGIN)).json()).toEqual({ status: 'pending' });

    const exchange = (origin: string, codeValue: string) =>
      fetch(`${gh}/oauth/token`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: codeValue, redirect_uri: redirect, client_id: app.app.id, code_verifier: flow.verifier! }),
      });
    const refused = await exchange(EVIL_ORIGIN, 'not-a-code');
    expect(refused.status).toBe(400);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const failed = await exchange(APP_ORIGIN, 'not-a-code');
    expect(failed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN); // the page can read why
    const tokens = await exchange(APP_ORIGIN, code);
    const body = (await tokens.json()) as { access_token: string; account: { provider: string } };
    recordSecret(body.access_token);
    expect(tokens.status).toBe(200);
    expect(tokens.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(body.account.provider).toBe('oidc');
  });

  it('refuses a relay redirect URI naming an origin the app does not trust, without redirecting', async () => {
    const browser = h.newBrowser();
    const response = await browser.request(
      h.authorizeUrl({ response_type: 'code', client_id: app.app.id, redirect_uri: relayUri(EVIL_ORIGIN), scope: 'accounts:read oidc', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }),
      { headers: { origin: APP_ORIGIN } },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('access-control-allow-origin')).toBeNull(); // never CORS on /oauth/authorize
  });

  it('serves no relay page for an untrusted origin, and nothing from the mailbox to it', async () => {
    const rid = randomBytes(24).toString('base64url');
    const page = await fetch(`${relayUri(EVIL_ORIGIN, rid)}&code=x&state=y`);
    expect(page.status).toBe(400);
    expect(await page.text()).not.toContain('data-opener-origin');
    expect((await mailbox(rid, APP_ORIGIN)).status).toBe(200);
    expect((await mailbox(rid, APP_ORIGIN, 'app_unknown')).status).toBe(403);
  });

  it('serves the authenticator script to any origin, and its size stays small', async () => {
    const response = await fetch(`${gh}/sdk/authenticator.js`);
    const script = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(script).toContain('var Gatehouse=');
    expect(script.length).toBeLessThan(20_000);
    const popup = await fetch(`${gh}/sdk/popup.js`);
    expect(popup.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(createHash('sha256').update(await popup.text()).digest('hex')).toHaveLength(64);
  });
});
