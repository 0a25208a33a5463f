import { expect } from 'vitest';
import { createApp, type CreatedApp } from '../../server/src/authorization/index.ts';
import { TestBrowser } from '../../server/test/support/browser.ts';
import { integrate } from '../../server/test/support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from '../../server/test/support/gatehouse.ts';
import { recordSecret } from '../../server/test/support/secrets.ts';
import type { StoreKind } from '../../server/test/support/stores.ts';
import { signInAtOidcUpstream, startOAuth2Upstream, startOidcUpstream, type OAuth2Upstream, type OidcUpstream } from '../../server/test/support/upstreams.ts';
import { Gatehouse, generateNonce, generateState, type AuthorizeOptions } from '../src/index.ts';

export const WEB_REDIRECT = 'http://127.0.0.1:9/auth/callback';
export const SPA_REDIRECT = 'http://127.0.0.1:9/spa/callback';
export const SCOPE = 'accounts:read accounts:write offline_access oidc';
export const MOCK_SECRET = 'mock-upstream-secret-0123456789';

/** A flow stopped at the app's redirect URI: what the app's session holds, and where the browser was sent. */
export interface Redirected {
  state: string;
  nonce: string;
  url: URL;
}

/**
 * A running Gatehouse (real HTTP on 127.0.0.1) with node-oidc-provider as the upstream, a
 * confidential and a public app, each seen through its own SDK instance, and a browser driver.
 */
export class SdkHarness {
  gatehouse!: RunningGatehouse;
  oidc!: OidcUpstream;
  oauth2!: OAuth2Upstream;
  web!: CreatedApp;
  spa!: CreatedApp;
  /** The confidential app's backend. */
  sdk!: Gatehouse;
  /** The public app (no secret). */
  publicSdk!: Gatehouse;

  start = async (kind: StoreKind): Promise<void> => {
    this.oauth2 = await startOAuth2Upstream();
    this.gatehouse = await startGatehouse({ kind, providersDir: this.oauth2.providersDir });
    this.oidc = await startOidcUpstream(`${this.gatehouse.url}/connect/callback`);
    this.web = await this.makeApp('Cloud Text', false, WEB_REDIRECT);
    this.spa = await this.makeApp('Cloud Text SPA', true, SPA_REDIRECT);
    await integrate(this.gatehouse.services, this.web.app.id, 'test-oauth2', { clientId: 'mock-client', clientSecret: MOCK_SECRET });
    this.sdk = new Gatehouse({
      baseUrl: this.gatehouse.url,
      clientId: this.web.app.id,
      clientSecret: this.web.clientSecret!,
      redirectUri: WEB_REDIRECT,
      apiKey: this.web.apiKey,
    });
    this.publicSdk = new Gatehouse({ baseUrl: this.gatehouse.url, clientId: this.spa.app.id, redirectUri: SPA_REDIRECT });
  };

  close = async (): Promise<void> => {
    recordSecret(...(this.oidc?.issuedTokens() ?? []), ...(this.oauth2?.issuedTokens() ?? []));
    await this.gatehouse?.close();
    await this.oidc?.close();
    await this.oauth2?.close();
  };

  private makeApp = async (name: string, isPublic: boolean, redirect: string): Promise<CreatedApp> => {
    const created = await createApp(this.gatehouse.services, {
      name,
      redirectUris: [redirect],
      scopes: ['accounts:read', 'accounts:write', 'proxy', 'offline_access', 'oidc', 'test-oauth2'],
      public: isPublic,
    });
    recordSecret(created.clientSecret, created.apiKey);
    await integrate(this.gatehouse.services, created.app.id, 'oidc', { clientId: this.oidc.clientId, clientSecret: this.oidc.clientSecret, issuer: this.oidc.issuer });
    return created;
  };

  /**
   * The user's side of the server flow: the browser opens the SDK's authorize URL, signs in at the
   * upstream as `login`, and answers the consent page; returns the redirect to the app (not requested).
   */
  authorize = async (sdk: Gatehouse, login: string, options: AuthorizeOptions & { decision?: 'allow' | 'deny' } = {}): Promise<Redirected> => {
    const state = generateState();
    const nonce = generateNonce();
    recordSecret(state, nonce);
    const { decision = 'allow', ...authorizeOptions } = options;
    const url = sdk.getAuthorizeUrl(state, nonce, { scope: SCOPE, ...authorizeOptions });
    const browser = new TestBrowser();
    const start = await browser.request(url);
    expect(start.status).toBe(303);
    const upstream = new URL(start.headers.get('location')!);
    expect(upstream.origin).toBe(this.oidc.issuer);
    const callback = await signInAtOidcUpstream(browser, upstream.href, login, `${this.gatehouse.url}/connect/callback`);
    const back = await browser.request(callback.href);
    expect(back.status).toBe(303);
    const consentUrl = new URL(back.headers.get('location')!, this.gatehouse.url);
    expect(consentUrl.pathname).toBe('/oauth/consent');
    const html = await (await browser.request(consentUrl.href)).text();
    const handle = /name="request" value="([^"]+)"/.exec(html)![1]!;
    const redirect = options.redirectUri ?? (sdk === this.sdk ? WEB_REDIRECT : SPA_REDIRECT);
    const step = await browser.postForm(`${this.gatehouse.url}/oauth/consent`, { request: handle, decision }, (u) => u.href.startsWith(redirect));
    expect(step.response).toBeUndefined();
    recordSecret(step.url.searchParams.get('code'));
    return { state, nonce, url: step.url };
  };

  /** An access token the plain OAuth 2.0 upstream issues (its /userinfo answers `oauth2.profile`), for imports. */
  mockUpstreamToken = async (): Promise<string> => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'mock-client', client_secret: MOCK_SECRET });
    const { access_token } = (await (await fetch(`${this.oauth2.base}/token`, { method: 'POST', body: form })).json()) as { access_token: string };
    recordSecret(access_token);
    return access_token;
  };
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<Error & { code?: string; error?: string; status?: number }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
