import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../../sandbox/src/index.ts';
import { createApp, type CreatedApp } from '../../server/src/authorization/index.ts';
import { launchChromium } from '../../server/test/support/chromium.ts';
import { integrate } from '../../server/test/support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from '../../server/test/support/gatehouse.ts';
import { recordSecret } from '../../server/test/support/secrets.ts';
import { STORE_KINDS } from '../../server/test/support/stores.ts';
import { startOidcUpstream, type OidcUpstream } from '../../server/test/support/upstreams.ts';
import { startAppSite, startForeignSite, type TestSite } from './support/pages.ts';

// The browser authenticator in Debian's Chromium: an app page on its own loopback origin, Gatehouse,
// and the sandbox provider (started in-process), driven like a person would.
type Result = Record<string, unknown> & { error?: string; access_token?: string; account?: { id: string; provider: string; email: string } };
const SANDBOX_SECRET = `sandbox-client-secret-${Math.random().toString(36).slice(2)}${Date.now()}`;
const POPUP_TIMEOUT = 2500;

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe.each(STORE_KINDS)('authenticator in Chromium on %s', (kind) => {
  let sandbox: RunningSandbox;
  let gatehouse: RunningGatehouse;
  let site: TestSite;
  let foreign: TestSite;
  let spa: CreatedApp;
  let web: CreatedApp;
  let multi: CreatedApp;
  let oidc: OidcUpstream;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    recordSecret(SANDBOX_SECRET);
    sandbox = await startSandbox({ port: 0 });
    gatehouse = await startGatehouse({ kind, env: { GATEHOUSE_SANDBOX_URL: sandbox.url } });
    await sandbox.addClient({ client_id: 'gatehouse-test', client_secret: SANDBOX_SECRET, redirect_uris: [`${gatehouse.url}/connect/callback`] });
    site = await startAppSite(gatehouse.url);
    foreign = await startForeignSite();
    spa = await createApp(gatehouse.services, {
      name: 'Cloud Text Upload',
      redirectUris: [`${site.origin}/return`],
      scopes: ['storage', 'accounts:read', 'proxy', 'offline_access'],
      defaultScopes: ['storage', 'accounts:read'],
      trustedOrigins: [site.origin],
      public: true,
    });
    web = await createApp(gatehouse.services, {
      name: 'Cloud Text Upload (backend)',
      redirectUris: [`${site.origin}/server/callback`],
      scopes: ['storage', 'accounts:read'],
      trustedOrigins: [site.origin],
    });
    // an app with two providers: its users see Gatehouse's chooser first
    multi = await createApp(gatehouse.services, { name: 'Two Providers', redirectUris: [`${site.origin}/return`], scopes: ['accounts:read'], trustedOrigins: [site.origin], public: true });
    oidc = await startOidcUpstream(`${gatehouse.url}/connect/callback`);
    recordSecret(spa.apiKey, web.apiKey, web.clientSecret, multi.apiKey);
    for (const app of [spa, web, multi]) await integrate(gatehouse.services, app.app.id, 'sandbox-drive', { clientId: 'gatehouse-test', clientSecret: SANDBOX_SECRET });
    await integrate(gatehouse.services, multi.app.id, 'oidc', { clientId: oidc.clientId, clientSecret: oidc.clientSecret, issuer: oidc.issuer });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    recordSecret(...(sandbox?.issuedTokens() ?? []), ...(oidc?.issuedTokens() ?? []));
    await oidc?.close();
    await site?.close();
    await foreign?.close();
    await gatehouse?.close();
    await sandbox?.close();
  });

  async function openApp(options: Record<string, unknown> = {}, path = '/'): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    // every authorization code that crosses a URL (relay page, redirect mode) is a secret for the log scan
    context.on('request', (request) => recordSecret(new URL(request.url()).searchParams.get('code')));
    const page = await context.newPage();
    const all = { client_id: spa.app.id, scope: 'storage accounts:read', popup_timeout: POPUP_TIMEOUT, ...options };
    await page.goto(`${site.origin}${path}?options=${encodeURIComponent(JSON.stringify(all))}`);
    await page.waitForFunction(() => typeof (window as unknown as { auth?: unknown }).auth === 'object');
    return page;
  }

  /** Clicks Connect and returns the popup, with the authorize request's rid and state. */
  async function connect(page: Page): Promise<{ popup: Page; rid: string; state: string }> {
    const authorize = page.context().waitForEvent('request', (r) => r.url().startsWith(`${gatehouse.url}/oauth/authorize?`));
    const popupOpened = page.waitForEvent('popup');
    await page.click('#connect');
    const popup = await popupOpened;
    const url = new URL((await authorize).url());
    const relay = new URL(url.searchParams.get('redirect_uri')!);
    expect(relay.origin + relay.pathname).toBe(`${gatehouse.url}/sdk/relay`);
    expect(relay.searchParams.get('origin')).toBe(site.origin);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    return { popup, rid: relay.searchParams.get('rid')!, state: url.searchParams.get('state')! };
  }

  async function signInAtSandbox(popup: Page, login = 'alice', password = 'alice-demo'): Promise<void> {
    await popup.waitForURL((u) => u.href.startsWith(`${sandbox.url}/interaction/`));
    await popup.fill('#login', login);
    await popup.fill('#password', password);
    await popup.click('button.primary');
    await popup.getByText('wants to access your Sandbox Drive').waitFor();
    await popup.click('button.primary');
  }

  async function atGatehouseConsent(popup: Page): Promise<void> {
    await popup.waitForURL((u) => u.href.startsWith(`${gatehouse.url}/oauth/consent`));
    await popup.getByText('wants to use your Sandbox Drive account').waitFor();
  }

  const results = (page: Page) => page.evaluate(() => (window as unknown as { results: unknown[] }).results) as Promise<Result[]>;
  async function firstResult(page: Page): Promise<Result> {
    await page.waitForFunction(() => (window as unknown as { results: unknown[] }).results.length > 0, undefined, { timeout: 20_000 });
    const [result] = await results(page);
    recordSecret(result?.access_token as string | undefined, result?.refresh_token as string | undefined, result?.code as string | undefined);
    return result!;
  }

  it('connects an account: click, popup, sandbox login and consent, Gatehouse consent, popup closes, callback gets account and token', async () => {
    const page = await openApp({ scope: 'storage accounts:read proxy' });
    const { popup } = await connect(page);
    await signInAtSandbox(popup);
    await atGatehouseConsent(popup);
    const closed = popup.waitForEvent('close');
    await popup.click('button[value=allow]');
    await closed;
    const result = await firstResult(page);
    expect(result.error).toBeUndefined();
    expect(result.account).toMatchObject({ provider: 'sandbox-drive', email: 'alice@sandbox.test' });
    expect(result.access_token).toMatch(/^gha_/);
    expect(result.scope).toBe('storage accounts:read proxy');
    // the token is Gatehouse's, for this app and this account (the seed's confused-deputy check)
    const bearer = { authorization: `Bearer ${result.access_token}` };
    const verified = await fetch(`${gatehouse.url}/v1/oauth/token`, { headers: bearer });
    expect(await verified.json()).toMatchObject({ client_id: spa.app.id, account_id: result.account!.id });
    expect(await results(page)).toHaveLength(1);
    // and it writes into the sandbox drive through Gatehouse's proxy (sandbox-drive's proxy.baseUrl)
    const proxy = `${gatehouse.url}/v1/accounts/${result.account!.id}/proxy/files`;
    const put = await fetch(`${proxy}/note.txt`, { method: 'PUT', headers: { ...bearer, 'content-type': 'text/plain' }, body: 'Hello from the popup' });
    expect(put.status).toBe(201);
    const listing = (await (await fetch(proxy, { headers: bearer })).json()) as { files: { name: string }[] };
    expect(listing.files.map((f) => f.name)).toContain('note.txt');
    expect(sandbox.drives.files('u-alice').get('note.txt')?.content.toString()).toBe('Hello from the popup');
  });

  it('shows the chooser when several providers fit; its link leads on to the provider', async () => {
    const page = await openApp({ client_id: multi.app.id, scope: 'accounts:read' });
    const { popup } = await connect(page);
    await popup.waitForURL((u) => u.href.startsWith(`${gatehouse.url}/oauth/authorize?`));
    await popup.getByText('Connect an account to Two Providers').waitFor();
    expect(await popup.locator('body').getAttribute('data-opener-origin')).toBe(site.origin);
    await popup.click('text=Sandbox Drive');
    await signInAtSandbox(popup);
    await atGatehouseConsent(popup);
    await popup.click('button[value=allow]');
    const result = await firstResult(page);
    expect(result.account).toMatchObject({ provider: 'sandbox-drive' });
    expect(result.scope).toBe('accounts:read');
  });

  it('ignores messages from a foreign origin, or with another request id or state', async () => {
    const page = await openApp();
    const { popup, rid, state } = await connect(page);
    await signInAtSandbox(popup);
    await atGatehouseConsent(popup);
    const forged = { source: 'gatehouse', type: 'gatehouse:result', rid, state, code: 'forged-code' };
    // a page of another origin posts a perfect copy (right rid and state) to the app page
    const frame = `${foreign.origin}/forge#${encodeURIComponent(JSON.stringify(forged))}`;
    await page.evaluate((src) => {
      const iframe = document.createElement('iframe');
      iframe.src = src;
      document.body.append(iframe);
    }, frame);
    await page.frameLocator('iframe').locator('script').waitFor({ state: 'attached' });
    await expect.poll(() => page.frames()[1]?.title()).toBe('sent');
    // Gatehouse's own origin (the popup), but another state, then another request id
    await popup.evaluate((m) => window.opener.postMessage({ ...m, state: 'not-this-one' }, '*'), forged);
    await popup.evaluate((m) => window.opener.postMessage({ ...m, rid: 'another-request-id-0000000' }, '*'), forged);
    await page.waitForTimeout(300);
    expect(await results(page)).toEqual([]);
    await popup.click('button[value=allow]');
    const result = await firstResult(page);
    expect(result.access_token).toMatch(/^gha_/);
    expect(await results(page)).toHaveLength(1);
  });

  it('answers access_denied when the user denies at Gatehouse', async () => {
    const page = await openApp();
    const { popup } = await connect(page);
    await signInAtSandbox(popup, 'bob', 'bob-demo');
    await atGatehouseConsent(popup);
    await popup.click('button[value=deny]');
    expect(await firstResult(page)).toMatchObject({ error: 'access_denied' });
  });

  it('answers access_denied when the user denies at the provider', async () => {
    const page = await openApp();
    const { popup } = await connect(page);
    await popup.waitForURL((u) => u.href.startsWith(`${sandbox.url}/interaction/`));
    await popup.click('text=Cancel');
    expect(await firstResult(page)).toMatchObject({ error: 'access_denied' });
  });

  it('answers popup_closed at once when the user closes the popup on a Gatehouse page', async () => {
    const page = await openApp({ popup_timeout: 60_000 });
    const { popup } = await connect(page);
    await signInAtSandbox(popup);
    await atGatehouseConsent(popup);
    await page.waitForTimeout(300); // a heartbeat arrives
    await popup.close();
    expect(await firstResult(page)).toMatchObject({ error: 'popup_closed' });
  });

  it('works from an app page that sets COOP itself (no opener link at all)', async () => {
    const page = await openApp({ popup_timeout: 20_000 }, '/isolated');
    const { popup } = await connect(page);
    await signInAtSandbox(popup);
    await atGatehouseConsent(popup);
    expect(await popup.evaluate(() => window.opener)).toBeNull();
    await popup.click('button[value=allow]');
    const result = await firstResult(page);
    expect(result.access_token).toMatch(/^gha_/);
    if (!popup.isClosed()) await popup.close();
  });

  describe('with Cross-Origin-Opener-Policy on the provider pages', () => {
    beforeAll(() => {
      sandbox.pageHeaders['cross-origin-opener-policy'] = 'same-origin';
    });
    afterAll(() => {
      delete sandbox.pageHeaders['cross-origin-opener-policy'];
    });

    it('still delivers the result (through the mailbox) though the popup looks closed', async () => {
      const page = await openApp({ popup_timeout: 20_000 });
      const { popup } = await connect(page);
      await signInAtSandbox(popup);
      await atGatehouseConsent(popup);
      expect(await popup.evaluate(() => window.opener)).toBeNull();
      await popup.click('button[value=allow]');
      const result = await firstResult(page);
      expect(result.account).toMatchObject({ provider: 'sandbox-drive' });
      expect(result.access_token).toMatch(/^gha_/);
      if (!popup.isClosed()) await popup.close();
    });

    it('answers popup_closed when the user closes the popup on the provider page', async () => {
      const page = await openApp();
      const { popup } = await connect(page);
      await popup.waitForURL((u) => u.href.startsWith(`${sandbox.url}/interaction/`));
      await popup.locator('#login').waitFor();
      await popup.close();
      expect(await firstResult(page)).toMatchObject({ error: 'popup_closed' });
    });
  });

  it('hands the code to the page of a confidential app (response: "code"); its backend exchanges it with the secret', async () => {
    const page = await openApp({ client_id: web.app.id, response: 'code' });
    const { popup, state } = await connect(page);
    await signInAtSandbox(popup);
    await atGatehouseConsent(popup);
    await popup.click('button[value=allow]');
    const result = (await firstResult(page)) as Result & { code: string; code_verifier: string; redirect_uri: string };
    expect(result.access_token).toBeUndefined();
    expect(result.state).toBe(state);
    // what the page posts to its backend, which exchanges it with the client secret
    const tokens = await fetch(`${gatehouse.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${web.app.id}:${web.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: result.code, code_verifier: result.code_verifier, redirect_uri: result.redirect_uri }),
    });
    const body = (await tokens.json()) as { access_token: string; account: { provider: string } };
    recordSecret(body.access_token);
    expect(tokens.status).toBe(200);
    expect(body.account.provider).toBe('sandbox-drive');
  });

  it('stops listening to clicks after Gatehouse.stop(element)', async () => {
    const page = await openApp();
    await page.evaluate(() => (window as unknown as { Gatehouse: { stop(target: string): void } }).Gatehouse.stop('#connect'));
    let opened = false;
    page.on('popup', () => (opened = true));
    await page.click('#connect');
    await page.waitForTimeout(300);
    expect(opened).toBe(false);
    expect(await results(page)).toEqual([]);
  });

  it('answers popup_blocked when the browser blocks the popup (no click)', async () => {
    // page.evaluate would run with a user gesture: the page launches by itself while loading instead
    const page = await openApp({ launch_on_load: true });
    expect(await firstResult(page)).toMatchObject({ error: 'popup_blocked' });
  });

  it('answers invalid_state in redirect mode when the answer is not for this tab\'s request', async () => {
    const page = await openApp({ mode: 'redirect', redirect_uri: `${site.origin}/return` });
    await page.click('#connect');
    await page.waitForURL((u) => u.href.startsWith(`${sandbox.url}/interaction/`));
    // an answer carrying another state lands on the redirect URI (e.g. a link an attacker sent)
    await page.goto(`${site.origin}/return?code=planted-code&state=someone-elses-state&iss=${encodeURIComponent(gatehouse.url)}`);
    expect(await firstResult(page)).toMatchObject({ error: 'invalid_state' });
    // and with no flow started in this tab at all
    await page.goto(`${site.origin}/return?code=planted-code&state=x`);
    expect(await firstResult(page)).toMatchObject({ error: 'invalid_state' });
  });

  it('connects in redirect mode: the page goes to Gatehouse and comes back to its redirect URI', async () => {
    const page = await openApp({ mode: 'redirect', redirect_uri: `${site.origin}/return` });
    await page.click('#connect');
    await signInAtSandbox(page);
    await atGatehouseConsent(page);
    await page.click('button[value=allow]');
    await page.waitForURL((u) => u.href.startsWith(`${site.origin}/return`));
    const result = await firstResult(page);
    expect(result.account).toMatchObject({ provider: 'sandbox-drive' });
    expect(result.access_token).toMatch(/^gha_/);
    expect(page.url()).toBe(`${site.origin}/return`);
  });
});
