import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../../packages/server/test/support/chromium.ts';
import { STORE_KINDS } from '../../../packages/server/test/support/stores.ts';
import { ALICE, BOB, DemoStack } from './support.ts';

// The real example in Debian's Chromium: the seed's popup page and the server-flow variant, end to
// end through Gatehouse and the sandbox provider; the file is then checked in the sandbox itself.
// A browser flow is a few seconds; on a loaded 2-core machine it can take longer than the default 30 s.
const BROWSER_TEST_MS = 90_000;

describe.each(STORE_KINDS)('cloud-text-upload in Chromium on %s', (kind) => {
  const stack = new DemoStack();
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    await stack.start(kind);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack.close();
  });

  /** Waits for a popup to close (it may have closed already: then no close event comes any more). */
  const closed = async (popup: Page) => {
    if (!popup.isClosed()) await popup.waitForEvent('close');
  };

  /** Signs in at the sandbox and allows there, then allows at Gatehouse's consent page. */
  async function signIn(page: Page, who: typeof ALICE, decision: 'Allow' | 'Deny' = 'Allow') {
    await page.waitForURL((u) => u.href.startsWith(stack.sandbox.url));
    await page.fill('#login', who.login);
    await page.fill('#password', who.password);
    await page.click('button[type=submit].primary');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${stack.gatehouse.url}/oauth/consent`));
    await page.getByRole('button', { name: decision }).click();
  }

  it('popup: Connect → sandbox sign-in → consent → popup closes → upload → the file is in the drive', async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${stack.exampleUrl}/`);
    expect(await page.isDisabled('#upload')).toBe(true);

    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#auth')]);
    await signIn(popup, ALICE);
    await closed(popup);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Connected'));
    expect(await page.textContent('#status')).toContain(ALICE.email);
    expect(await page.inputValue('#access_token')).toMatch(/^gha_/);

    await page.fill('#fileName', 'from-chromium.txt');
    await page.fill('#file_body', 'Typed in a real browser');
    await Promise.all([page.waitForURL(`${stack.exampleUrl}/post`), page.click('#upload')]);
    expect(await page.textContent('#saved')).toContain('from-chromium.txt');
    expect(await page.textContent('#listing')).toContain('from-chromium.txt');
    expect(stack.fileText(ALICE.id, 'from-chromium.txt')).toBe('Typed in a real browser');
    expect(errors).toEqual([]);
    await context.close();
  }, BROWSER_TEST_MS);

  it('popup: the user denies at the consent page → access_denied, nothing connected', async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.exampleUrl}/`);
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#auth')]);
    await signIn(popup, BOB, 'Deny');
    await closed(popup);
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-error') === 'access_denied');
    expect(await page.isDisabled('#upload')).toBe(true);
    expect(await page.inputValue('#access_token')).toBe('');
    await context.close();
  }, BROWSER_TEST_MS);

  // Closed on a Gatehouse page, the popup reports at once; on the provider's page the authenticator
  // waits popup_timeout (2 minutes) for a result first, by design (see the README).
  it('popup: the user closes the popup at Gatehouse\'s consent page → popup_closed, nothing connected', async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.exampleUrl}/`);
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#auth')]);
    await popup.waitForURL((u) => u.href.startsWith(stack.sandbox.url));
    await popup.fill('#login', ALICE.login);
    await popup.fill('#password', ALICE.password);
    await popup.click('button[type=submit].primary');
    await popup.getByRole('button', { name: 'Allow' }).click();
    await popup.waitForURL((u) => u.href.startsWith(`${stack.gatehouse.url}/oauth/consent`));
    await popup.close();
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-error') === 'popup_closed');
    expect(await page.isDisabled('#upload')).toBe(true);
    expect(await page.inputValue('#access_token')).toBe('');
    await context.close();
  }, BROWSER_TEST_MS);

  it('server flow: Connect (redirect) → sandbox sign-in → consent → upload → the file is in the drive', async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.exampleUrl}/server`);
    await page.click('#connect');
    await signIn(page, BOB);
    await page.waitForURL(`${stack.exampleUrl}/server`);
    expect(await page.textContent('#status')).toContain(BOB.email);
    await page.fill('#fileName', 'server-flow.txt');
    await page.fill('#file_body', 'Saved by the server flow');
    await Promise.all([page.waitForURL(/\/server\?saved=/), page.click('#upload')]);
    expect(await page.textContent('#listing')).toContain('server-flow.txt');
    expect(stack.fileText(BOB.id, 'server-flow.txt')).toBe('Saved by the server flow');
    await context.close();
  }, BROWSER_TEST_MS);
});
