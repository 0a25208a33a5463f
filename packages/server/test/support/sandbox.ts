import { expect } from 'vitest';
import type { TestBrowser } from './browser.ts';

/** A demo user of the sandbox provider, as its login form takes it. */
export interface SandboxLogin {
  login: string;
  password: string;
}

/**
 * A person going through an authorization that leads to the sandbox provider: from `start`, signs
 * in at the sandbox and allows there, follows redirects (through Gatehouse's callback) to
 * Gatehouse's consent page and answers it; returns the first URL `stopAt` matches (not requested).
 */
export async function signInThroughSandbox(
  browser: TestBrowser,
  urls: { sandbox: string; gatehouse: string },
  start: string,
  user: SandboxLogin,
  stopAt: (u: URL) => boolean,
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  const toLogin = await browser.follow(start, {}, stopAt);
  const loginPage = await toLogin.response!.text();
  const uid = /action="\/interaction\/([^/]+)\/login"/.exec(loginPage)?.[1];
  expect(uid, `the sandbox login page (at ${toLogin.url.href})`).toBeDefined();
  const consent = await browser.postForm(`${urls.sandbox}/interaction/${uid}/login`, { login: user.login, password: user.password }, stopAt);
  const uid2 = /action="\/interaction\/([^/]+)\/confirm"/.exec(await consent.response!.text())?.[1];
  expect(uid2, 'the sandbox consent page').toBeDefined();
  const atGatehouseConsent = await browser.postForm(`${urls.sandbox}/interaction/${uid2}/confirm`, {}, stopAt);
  const handle = /name="request" value="([^"]+)"/.exec(await atGatehouseConsent.response!.text())?.[1];
  expect(handle, `Gatehouse's consent page (at ${atGatehouseConsent.url.href})`).toBeDefined();
  const back = await browser.postForm(`${urls.gatehouse}/oauth/consent`, { request: handle!, decision }, stopAt);
  expect(back.response).toBeUndefined();
  return back.url;
}
