import * as oauth from 'oauth4webapi';
import { expect } from 'vitest';
import { createApp, type CreatedApp } from '../../src/authorization/index.ts';
import { TestBrowser } from './browser.ts';
import { integrate } from './fixtures.ts';
import { startGatehouse, type RunningGatehouse } from './gatehouse.ts';
import { recordSecret } from './secrets.ts';
import type { StoreKind } from './stores.ts';
import { signInAtOidcUpstream, startOidcUpstream, type OidcUpstream } from './upstreams.ts';

export const REDIRECT = 'http://127.0.0.1:9/cb';
export const SPA_REDIRECT = 'http://127.0.0.1:9/spa';
export const SCOPE = 'accounts:read offline_access oidc';
export const insecure = { [oauth.allowInsecureRequests]: true };

export interface Flow {
  browser: TestBrowser;
  consent: Response;
  html: string;
  handle: string;
  state: string;
  verifier: string | undefined;
  app: CreatedApp;
  redirect: string;
}

/**
 * A Gatehouse, a real upstream (node-oidc-provider) and two apps integrated with it, plus an
 * independent client (oauth4webapi) and cookie-keeping browsers to drive the authorization
 * code flow. Members are arrow functions so a test can destructure them.
 */
export class AuthorizationHarness {
  gatehouse!: RunningGatehouse;
  oidc!: OidcUpstream;
  as!: oauth.AuthorizationServer;
  /** A confidential app. */
  web!: CreatedApp;
  /** A public app (PKCE, no secret). */
  spa!: CreatedApp;
  readonly browsers: TestBrowser[] = [];

  start = async (kind: StoreKind): Promise<void> => {
    this.gatehouse = await startGatehouse({ kind });
    this.oidc = await startOidcUpstream(`${this.gatehouse.url}/connect/callback`);
    this.web = await this.makeApp('Acme Notes', false, REDIRECT);
    this.spa = await this.makeApp('Acme SPA', true, SPA_REDIRECT);
    const issuer = new URL(this.gatehouse.url);
    this.as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  };

  close = async (): Promise<void> => {
    recordSecret(...(this.oidc?.issuedTokens() ?? []));
    await this.gatehouse?.close();
    await this.oidc?.close();
  };

  makeApp = async (name: string, isPublic: boolean, redirect: string): Promise<CreatedApp> => {
    const created = await createApp(this.gatehouse.services, {
      name,
      redirectUris: [redirect],
      scopes: ['accounts:read', 'proxy', 'offline_access', 'oidc'],
      public: isPublic,
    });
    recordSecret(created.clientSecret, created.apiKey);
    await this.integrateOidc(created);
    return created;
  };

  integrateOidc = (app: CreatedApp) =>
    integrate(this.gatehouse.services, app.app.id, 'oidc', { clientId: this.oidc.clientId, clientSecret: this.oidc.clientSecret, issuer: this.oidc.issuer });

  client = (app: CreatedApp): oauth.Client => ({ client_id: app.app.id });
  auth = (app: CreatedApp) => (app.clientSecret ? oauth.ClientSecretBasic(app.clientSecret) : oauth.None());

  newBrowser = (): TestBrowser => {
    const browser = new TestBrowser();
    this.browsers.push(browser);
    return browser;
  };

  authorizeUrl = (params: Record<string, string | undefined>): string => {
    const url = new URL(this.as.authorization_endpoint!);
    for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
    return url.href;
  };

  /** authorize → (chooser skipped: one provider) → upstream sign-in → callback → consent page. */
  toConsent = async (login: string, options: { app?: CreatedApp; pkce?: boolean; extra?: Record<string, string> } = {}): Promise<Flow> => {
    const app = options.app ?? this.web;
    const redirect = app.app.redirectUris[0]!;
    const browser = this.newBrowser();
    const verifier = options.pkce === false ? undefined : oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const start = await browser.request(
      this.authorizeUrl({
        response_type: 'code',
        client_id: app.app.id,
        redirect_uri: redirect,
        scope: SCOPE,
        state,
        code_challenge: verifier ? await oauth.calculatePKCECodeChallenge(verifier) : undefined,
        code_challenge_method: verifier ? 'S256' : undefined,
        ...options.extra,
      }),
    );
    expect(start.status).toBe(303);
    const upstream = new URL(start.headers.get('location')!);
    expect(upstream.origin).toBe(this.oidc.issuer);
    const callback = await signInAtOidcUpstream(browser, upstream.href, login, `${this.gatehouse.url}/connect/callback`);
    const back = await browser.request(callback.href);
    expect(back.status).toBe(303);
    const consentUrl = new URL(back.headers.get('location')!, this.gatehouse.url);
    expect(consentUrl.pathname).toBe('/oauth/consent');
    const consent = await browser.request(consentUrl.href);
    const html = await consent.text();
    expect(consent.status).toBe(200);
    const handle = /name="request" value="([^"]+)"/.exec(html)![1]!;
    return { browser, consent, html, handle, state, verifier, app, redirect };
  };

  /** Submits the consent form; returns the app redirect URI Gatehouse sent the browser to (not requested). */
  decide = async (flow: Flow, decision: 'allow' | 'deny'): Promise<URL> => {
    const step = await flow.browser.postForm(`${this.gatehouse.url}/oauth/consent`, { request: flow.handle, decision }, (u) => u.href.startsWith(flow.redirect));
    expect(step.response).toBeUndefined();
    if (step.url.searchParams.has('code')) recordSecret(step.url.searchParams.get('code'));
    return step.url;
  };

  /** The app's side: validate the response (state, iss) and exchange the code at the token endpoint. */
  exchange = async (flow: Flow, redirected: URL, verifier: string | typeof oauth.nopkce = flow.verifier ?? oauth.nopkce) => {
    const { as, client, auth } = this;
    const params = oauth.validateAuthResponse(as, client(flow.app), redirected, flow.state);
    const response = await oauth.authorizationCodeGrantRequest(as, client(flow.app), auth(flow.app), params, flow.redirect, verifier, insecure);
    const result = await oauth.processAuthorizationCodeResponse(as, client(flow.app), response);
    recordSecret(result.access_token, result.refresh_token);
    return result;
  };

  refresh = async (app: CreatedApp, token: string) => {
    const response = await oauth.refreshTokenGrantRequest(this.as, this.client(app), this.auth(app), token, insecure);
    const result = await oauth.processRefreshTokenResponse(this.as, this.client(app), response);
    recordSecret(result.access_token, result.refresh_token);
    return result;
  };

  /** GET /v1/oauth/token, the verify endpoint. */
  verify = (token: string) => fetch(`${this.gatehouse.url}/v1/oauth/token`, { headers: { authorization: `Bearer ${token}` } });
}

export async function expectOAuthError(promise: Promise<unknown>, error: string): Promise<void> {
  const err = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { error?: string } | undefined;
  expect(err, `expected ${error}`).toBeDefined();
  expect(err!.error).toBe(error);
}

export const codeOf = (url: URL): string => url.searchParams.get('code')!;
