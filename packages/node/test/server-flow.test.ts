import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSecret } from '../../server/test/support/secrets.ts';
import { STORE_KINDS } from '../../server/test/support/stores.ts';
import {
  AuthorizationResponseError,
  codes,
  Gatehouse,
  generateNonce,
  generateState,
  OperationProcessingError,
  pkceChallenge,
  ResponseBodyError,
} from '../src/index.ts';
import { rejection, SCOPE, SdkHarness, WEB_REDIRECT } from './support.ts';

// The Flux-style server flow, driven by the SDK against a running Gatehouse and a real upstream
// (node-oidc-provider); the browser's part is played by a cookie-keeping HTTP client.
describe.each(STORE_KINDS)('@gatehouse/node server flow on %s', (kind) => {
  const h = new SdkHarness();
  beforeAll(() => h.start(kind));
  afterAll(() => h.close());

  it('builds the authorize URL: PKCE S256 from the nonce, state, scope, redirect and the options', () => {
    const url = new URL(h.sdk.getAuthorizeUrl('st-1', 'n'.repeat(43), { scope: 'oidc proxy', provider: 'oidc', loginHint: 'a@b.test' }));
    expect(url.origin + url.pathname).toBe(`${h.gatehouse.url}/oauth/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: h.web.app.id,
      redirect_uri: WEB_REDIRECT,
      scope: 'oidc proxy',
      state: 'st-1',
      code_challenge: pkceChallenge('n'.repeat(43)),
      code_challenge_method: 'S256',
      provider: 'oidc',
      login_hint: 'a@b.test',
    });
    expect(url.href).not.toContain('n'.repeat(43));
  });

  it('runs the server flow end to end: authorize, upstream sign-in, consent, exchangeCredentials, verifyToken', async () => {
    const { state, nonce, url } = await h.authorize(h.sdk, 'alice');
    expect(url.searchParams.get('iss')).toBe(h.gatehouse.url);
    const credentials = await h.sdk.exchangeCredentials(state, nonce, Object.fromEntries(url.searchParams));
    recordSecret(credentials.access_token, credentials.refresh_token);
    expect(credentials).toMatchObject({ token_type: 'Bearer', scope: SCOPE, account: { provider: 'oidc', email: 'alice@example.test', name: 'User alice' } });
    expect(credentials.access_token).toMatch(/^gha_/);
    expect(credentials.refresh_token).toMatch(/^ghr_/);

    const info = await h.sdk.verifyToken(credentials.access_token, { accountId: credentials.account!.id });
    expect(info).toMatchObject({ client_id: h.web.app.id, account_id: credentials.account!.id, scope: SCOPE });
    // the code is single use: the same redirect a second time is refused by Gatehouse
    const again = await rejection(h.sdk.exchangeCredentials(state, nonce, url));
    expect(again).toBeInstanceOf(ResponseBodyError);
    expect(again).toMatchObject({ code: codes.RESPONSE_BODY_ERROR, error: 'invalid_grant', status: 400 });
  });

  it('a public app (no secret) gets tokens with PKCE alone; verifyToken refuses another app\'s token and another account', async () => {
    const { state, nonce, url } = await h.authorize(h.publicSdk, 'bob');
    const credentials = await h.publicSdk.exchangeCredentials(state, nonce, url.search);
    recordSecret(credentials.access_token, credentials.refresh_token);
    expect(credentials.account).toMatchObject({ provider: 'oidc', email: 'bob@example.test' });
    expect(await h.publicSdk.verifyToken(credentials.access_token)).toMatchObject({ client_id: h.spa.app.id });

    const foreign = await rejection(h.sdk.verifyToken(credentials.access_token));
    expect(foreign).toBeInstanceOf(OperationProcessingError);
    expect(foreign.code).toBe(codes.CLIENT_MISMATCH);
    const otherAccount = await rejection(h.publicSdk.verifyToken(credentials.access_token, { accountId: 'acc_someone_else' }));
    expect(otherAccount.code).toBe(codes.ACCOUNT_MISMATCH);
    const invalid = await rejection(h.sdk.verifyToken('gha_not-a-real-token'));
    expect(invalid).toMatchObject({ code: codes.RESPONSE_BODY_ERROR, status: 401, error: 'invalid_token' });
  });

  it('refuses a redirect with another state, another or no iss, a doubled parameter; the code stays usable', async () => {
    const { state, nonce, url } = await h.authorize(h.sdk, 'carol');
    const tampered = (change: (p: URLSearchParams) => void) => {
      const params = new URLSearchParams(url.searchParams);
      change(params);
      return params;
    };
    const stateMismatch = await rejection(h.sdk.exchangeCredentials(generateState(), nonce, url));
    expect(stateMismatch).toBeInstanceOf(OperationProcessingError);
    expect(stateMismatch.code).toBe(codes.STATE_MISMATCH);
    expect((await rejection(h.sdk.exchangeCredentials('', nonce, url))).code).toBe(codes.STATE_MISMATCH);
    expect((await rejection(h.sdk.exchangeCredentials(state, nonce, tampered((p) => p.delete('state'))))).code).toBe(codes.STATE_MISMATCH);
    expect((await rejection(h.sdk.exchangeCredentials(state, nonce, tampered((p) => p.set('iss', 'https://evil.example'))))).code).toBe(codes.ISSUER_MISMATCH);
    expect((await rejection(h.sdk.exchangeCredentials(state, nonce, tampered((p) => p.delete('iss'))))).code).toBe(codes.ISSUER_MISMATCH);
    expect((await rejection(h.sdk.exchangeCredentials(state, nonce, tampered((p) => p.append('code', 'other'))))).code).toBe(codes.INVALID_PARAMETER);
    expect((await rejection(h.sdk.exchangeCredentials(state, nonce, tampered((p) => p.delete('code'))))).code).toBe(codes.INVALID_PARAMETER);

    // none of those reached Gatehouse: the code is still good for this session
    const credentials = await h.sdk.exchangeCredentials(state, nonce, url);
    recordSecret(credentials.access_token, credentials.refresh_token);
    expect(credentials.account?.email).toBe('carol@example.test');
  });

  it('a code redeemed with another session\'s nonce (PKCE verifier) is refused, and is spent', async () => {
    const { state, nonce, url } = await h.authorize(h.sdk, 'carol');
    const wrongVerifier = await rejection(h.sdk.exchangeCredentials(state, generateNonce(), url));
    expect(wrongVerifier).toMatchObject({ code: codes.RESPONSE_BODY_ERROR, error: 'invalid_grant' });
    expect((await rejection(h.sdk.exchangeCredentials(state, nonce, url))).error).toBe('invalid_grant');
  });

  it('the user denies: AuthorizationResponseError access_denied; an error with a foreign state is not believed', async () => {
    const { state, nonce, url } = await h.authorize(h.sdk, 'dave', { decision: 'deny' });
    expect(url.searchParams.get('error')).toBe('access_denied');
    const denied = await rejection(h.sdk.exchangeCredentials(state, nonce, url));
    expect(denied).toBeInstanceOf(AuthorizationResponseError);
    expect(denied).toMatchObject({ code: codes.AUTHORIZATION_RESPONSE_ERROR, error: 'access_denied' });
    expect((await rejection(h.sdk.exchangeCredentials(generateState(), nonce, url))).code).toBe(codes.STATE_MISMATCH);
  });

  it('refuses openid (Gatehouse issues no ID tokens, and its authorization endpoint says invalid_scope) and a nonce that cannot be a PKCE verifier', async () => {
    const openid = await rejection(() => h.sdk.getAuthorizeUrl(generateState(), generateNonce(), { scope: 'openid oidc' }));
    expect(openid).toMatchObject({ code: codes.UNSUPPORTED });
    expect(openid.message).toMatch(/no ID tokens/);
    expect((await rejection(() => h.sdk.getAuthorizeUrl(generateState(), 'short'))).code).toBe(codes.INVALID_ARGUMENT);

    // what Gatehouse itself does with openid: the error goes back to the redirect URI
    const url = new URL(`${h.gatehouse.url}/oauth/authorize`);
    const state = generateState();
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: h.web.app.id,
      redirect_uri: WEB_REDIRECT,
      scope: 'openid',
      state,
      code_challenge: pkceChallenge(generateNonce()),
      code_challenge_method: 'S256',
    }).toString();
    const answer = await fetch(url, { redirect: 'manual' });
    const back = new URL(answer.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('invalid_scope');
    const refused = await rejection(h.sdk.exchangeCredentials(state, generateNonce(), back));
    expect(refused).toMatchObject({ code: codes.AUTHORIZATION_RESPONSE_ERROR, error: 'invalid_scope' });
  });

  it('refresh rotates the refresh token (the old one is then refused); revoke ends the tokens', async () => {
    const { state, nonce, url } = await h.authorize(h.sdk, 'erin');
    const first = await h.sdk.exchangeCredentials(state, nonce, url);
    recordSecret(first.access_token, first.refresh_token);
    const second = await h.sdk.refresh(first.refresh_token!);
    recordSecret(second.access_token, second.refresh_token);
    expect(second.refresh_token).toMatch(/^ghr_/);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.account?.id ?? (await h.sdk.verifyToken(second.access_token)).account_id).toBe(first.account!.id);

    const narrowed = await h.sdk.refresh(second.refresh_token!, { scope: 'accounts:read offline_access' });
    recordSecret(narrowed.access_token, narrowed.refresh_token);
    expect(narrowed.scope).toBe('accounts:read offline_access');

    await h.sdk.revoke(narrowed.access_token, { hint: 'access_token' });
    expect((await rejection(h.sdk.verifyToken(narrowed.access_token))).status).toBe(401);
    await h.sdk.revoke(narrowed.refresh_token!);
    expect((await rejection(h.sdk.refresh(narrowed.refresh_token!))).error).toBe('invalid_grant');

    // a rotated-away refresh token is reuse: refused
    expect((await rejection(h.sdk.refresh(first.refresh_token!))).error).toBe('invalid_grant');
  });

  it('a wrong client secret is invalid_client; a base URL whose metadata names another issuer is refused', async () => {
    const wrong = new Gatehouse({ baseUrl: h.gatehouse.url, clientId: h.web.app.id, clientSecret: 'ghcs_wrong-secret-0000', redirectUri: WEB_REDIRECT });
    expect(await rejection(wrong.refresh('ghr_whatever'))).toMatchObject({ status: 401, error: 'invalid_client' });
    const viaLocalhost = new Gatehouse({ baseUrl: h.gatehouse.url.replace('127.0.0.1', 'localhost'), clientId: h.web.app.id, redirectUri: WEB_REDIRECT });
    expect((await rejection(viaLocalhost.metadata())).code).toBe(codes.ISSUER_MISMATCH);
  });
});
