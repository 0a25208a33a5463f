import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeGrant } from '../../../packages/server/src/authorization/index.ts';
import { TestBrowser } from '../../../packages/server/test/support/browser.ts';
import { recordSecret } from '../../../packages/server/test/support/secrets.ts';
import { STORE_KINDS } from '../../../packages/server/test/support/stores.ts';
import { Gatehouse, generateNonce, generateState } from '@gatehouse/node';
import { ALICE, BOB, DemoStack, signInThroughSandbox } from './support.ts';

// The example over HTTP (a cookie-keeping client plays the browser): the server-flow variant end
// to end, and the popup variant's backend with the seed's confused-deputy check.
describe.each(STORE_KINDS)('cloud-text-upload example on %s', (kind) => {
  const stack = new DemoStack();
  beforeAll(() => stack.start(kind));
  afterAll(() => stack.close());

  /** A token of the popup app for `who`, got the way the authenticator gets it (public client, PKCE). */
  async function popupToken(who: typeof ALICE) {
    const sdk = new Gatehouse({ baseUrl: stack.gatehouse.url, clientId: stack.popupApp.app.id, redirectUri: `${stack.exampleUrl}/` });
    const state = generateState();
    const nonce = generateNonce();
    recordSecret(state, nonce);
    const browser = new TestBrowser();
    const back = await signInThroughSandbox(stack, browser, sdk.getAuthorizeUrl(state, nonce, { scope: 'storage proxy' }), who, (u) => u.href.startsWith(stack.exampleUrl));
    const credentials = await sdk.exchangeCredentials(state, nonce, back);
    recordSecret(credentials.access_token);
    return credentials;
  }

  const post = (fields: Record<string, string>) =>
    fetch(`${stack.exampleUrl}/post`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

  it('serves the seed page with a strict CSP, the authenticator and its own script, no inline script', async () => {
    const response = await fetch(`${stack.exampleUrl}/`);
    const html = await response.text();
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'self' ${stack.gatehouse.url}`);
    expect(csp).not.toContain('unsafe-inline');
    expect(html).toContain(`src="${stack.gatehouse.url}/sdk/authenticator.js"`);
    expect(html).toContain('src="/static/upload.js"');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).toMatch(/<input type="hidden" name="access_token" id="access_token" value="">/);
    expect(html).toMatch(/<button id="upload" type="submit" disabled>/);
  });

  it('popup variant: writes the file through the proxy after verifying the token is ours and for that account', async () => {
    const credentials = await popupToken(ALICE);
    const response = await post({ access_token: credentials.access_token, account_id: credentials.account!.id, fileName: 'notes.txt', file_body: 'Hello from the popup' });
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain('Wrote <strong>notes.txt</strong>');
    expect(html).toMatch(/<td class="name">notes.txt<\/td>/);
    expect(stack.fileText(ALICE.id, 'notes.txt')).toBe('Hello from the popup');
  });

  it('popup variant: refuses a token minted for another app (confused deputy), a token for another account, and a dead token', async () => {
    // the server-flow app is another client of the same Gatehouse: its token for Bob is valid, but not ours
    const foreignSdk = new Gatehouse({
      baseUrl: stack.gatehouse.url,
      clientId: stack.serverApp.app.id,
      clientSecret: stack.serverApp.clientSecret!,
      redirectUri: `${stack.exampleUrl}/server/callback`,
    });
    const state = generateState();
    const nonce = generateNonce();
    const back = await signInThroughSandbox(stack, new TestBrowser(), foreignSdk.getAuthorizeUrl(state, nonce, { scope: 'storage proxy' }), BOB, (u) =>
      u.href.startsWith(stack.exampleUrl),
    );
    const foreign = await foreignSdk.exchangeCredentials(state, nonce, back);
    recordSecret(foreign.access_token);
    const bobAccount = foreign.account!.id;

    const notOurs = await post({ access_token: foreign.access_token, account_id: bobAccount, fileName: 'evil.txt', file_body: 'x' });
    expect(notOurs.status).toBe(403);
    expect(await notOurs.text()).toContain('This token is not ours');
    expect(stack.fileText(BOB.id, 'evil.txt')).toBeUndefined();

    const alice = await popupToken(ALICE);
    const otherAccount = await post({ access_token: alice.access_token, account_id: bobAccount, fileName: 'evil.txt', file_body: 'x' });
    expect(otherAccount.status).toBe(403);
    expect(await otherAccount.text()).toContain('for another account');
    expect(stack.fileText(BOB.id, 'evil.txt')).toBeUndefined();

    const dead = await post({ access_token: 'gha_not-a-token-at-all', account_id: alice.account!.id, fileName: 'x.txt', file_body: 'x' });
    expect(dead.status).toBe(401);
    const noAccount = await post({ access_token: '', account_id: '', fileName: 'x.txt', file_body: 'x' });
    expect(noAccount.status).toBe(400);
    const badName = await post({ access_token: alice.access_token, account_id: alice.account!.id, fileName: '../etc/passwd', file_body: 'x' });
    expect(badName.status).toBe(400);
  });

  it('server flow: connect by redirect, exchange with the client secret, upload, list; CSRF token required; disconnect revokes', async () => {
    const browser = new TestBrowser();
    const home = await browser.request(`${stack.exampleUrl}/server`);
    expect(home.status).toBe(200);
    expect(home.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Lax/);
    expect(await home.text()).toContain('href="/server/connect"');
    const start = await browser.request(`${stack.exampleUrl}/server/connect`);
    expect(start.status).toBe(303);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.origin + authorize.pathname).toBe(`${stack.gatehouse.url}/oauth/authorize`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const back = await signInThroughSandbox(stack, browser, authorize.href, ALICE, (u) => u.href.startsWith(stack.exampleUrl));
    expect(back.pathname).toBe('/server/callback');
    const landed = await browser.request(back.href);
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe('/server');

    const page = await (await browser.request(`${stack.exampleUrl}/server`)).text();
    expect(page).toContain(ALICE.email);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const upload = (fields: Record<string, string>) => browser.postForm(`${stack.exampleUrl}/server/upload`, fields, () => true);
    const saved = await upload({ csrf, fileName: 'server.txt', file_body: 'Written by the server flow' });
    expect(saved.url.pathname + saved.url.search).toBe('/server?saved=server.txt');
    expect(stack.fileText(ALICE.id, 'server.txt')).toBe('Written by the server flow');
    const listing = await (await browser.request(`${stack.exampleUrl}/server?saved=server.txt`)).text();
    expect(listing).toMatch(/<td class="name">server.txt<\/td>/);

    const forged = await browser.request(`${stack.exampleUrl}/server/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: 'x'.repeat(43), fileName: 'forged.txt', file_body: 'x' }).toString(),
    });
    expect(forged.status).toBe(403);
    expect(stack.fileText(ALICE.id, 'forged.txt')).toBeUndefined();

    const replay = await browser.request(back.href);
    expect(replay.status).toBe(400);

    const out = await browser.postForm(`${stack.exampleUrl}/server/disconnect`, { csrf }, () => true);
    expect(out.url.pathname).toBe('/server');
    expect(await (await browser.request(`${stack.exampleUrl}/server`)).text()).toContain('href="/server/connect"');
  });

  it('server flow: when the grant is gone (tokens revoked), the page says so once and then offers Connect again', async () => {
    const browser = new TestBrowser();
    const start = await browser.request(`${stack.exampleUrl}/server/connect`);
    const back = await signInThroughSandbox(stack, browser, start.headers.get('location')!, BOB, (u) => u.href.startsWith(stack.exampleUrl));
    expect((await browser.request(back.href)).status).toBe(303);
    expect(await (await browser.request(`${stack.exampleUrl}/server`)).text()).toContain(BOB.email);
    // every Gatehouse token of the app's grants is revoked behind the session's back
    const grants = await stack.gatehouse.services.db.selectFrom('grants').select('id').where('app_id', '=', stack.serverApp.app.id).execute();
    for (const grant of grants) await revokeGrant(stack.gatehouse.services.db, grant.id, Date.now());
    const ended = await browser.request(`${stack.exampleUrl}/server`);
    expect(ended.status).toBe(401);
    expect(await ended.text()).toContain('Your connection has ended');
    expect(await (await browser.request(`${stack.exampleUrl}/server`)).text()).toContain('href="/server/connect"');
  });

  it('server flow: a callback whose state is not this session\'s is refused', async () => {
    const browser = new TestBrowser();
    await browser.request(`${stack.exampleUrl}/server/connect`);
    const forged = await browser.request(`${stack.exampleUrl}/server/callback?code=abc&state=${generateState()}&iss=${encodeURIComponent(stack.gatehouse.url)}`);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('not valid');
  });
});
