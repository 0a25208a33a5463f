import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from '../../packages/server/test/support/browser.ts';
import { recordSecret } from '../../packages/server/test/support/secrets.ts';
import { startSandbox, type RunningSandbox } from '../src/index.ts';

const REDIRECT = 'http://127.0.0.1:9/cb';
const client: oauth.Client = { client_id: 'gatehouse-sandbox-test' };
const secret = `sandbox-secret-${Math.random().toString(36).slice(2)}${Date.now()}`;
const insecure = { [oauth.allowInsecureRequests]: true };
const TTL_S = 1;

let sandbox: RunningSandbox;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  recordSecret(secret);
  sandbox = await startSandbox({ port: 0, clients: [{ client_id: client.client_id, client_secret: secret, redirect_uris: [REDIRECT] }] });
  const issuer = new URL(sandbox.url);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
});

afterAll(async () => {
  recordSecret(...sandbox.issuedTokens());
  await sandbox.close();
});

/** Authorize → login form → consent form, like a person; returns the redirect back (not requested). */
async function signIn(login: string, password: string, decision: 'confirm' | 'abort' = 'confirm') {
  const browser = new TestBrowser();
  const state = oauth.generateRandomState();
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid email profile offline_access drive',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const atApp = (u: URL) => u.href.startsWith(REDIRECT);
  const login1 = await browser.follow(url.href, {}, atApp);
  const loginPage = await login1.response!.text();
  expect(loginPage).toContain('Sign in to Sandbox Drive');
  expect(loginPage).toContain('alice-demo');
  const uid = /action="\/interaction\/([^/]+)\/login"/.exec(loginPage)![1]!;
  const wrong = await browser.postForm(`${sandbox.url}/interaction/${uid}/login`, { login, password: 'not-it' }, atApp);
  expect(await wrong.response!.text()).toContain('Wrong user name or password');
  const consent = await browser.postForm(`${sandbox.url}/interaction/${uid}/login`, { login, password }, atApp);
  const consentPage = await consent.response!.text();
  expect(consentPage).toContain('wants to access your Sandbox Drive');
  const uid2 = /action="\/interaction\/([^/]+)\/confirm"/.exec(consentPage)![1]!;
  const back = await browser.postForm(`${sandbox.url}/interaction/${uid2}/${decision}`, {}, atApp);
  expect(back.response).toBeUndefined();
  return { callback: back.url, state, verifier };
}

async function connect(login = 'alice', password = 'alice-demo') {
  const { callback, state, verifier } = await signIn(login, password);
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(secret), params, REDIRECT, verifier, insecure);
  return oauth.processAuthorizationCodeResponse(as, client, response);
}

const drive = (token: string, path = '/drive/files', init: RequestInit = {}) =>
  fetch(`${sandbox.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

describe('sandbox provider', () => {
  it('signs a demo user in through its login and consent pages and issues tokens with an ID token', async () => {
    const tokens = await connect();
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    expect(oauth.getValidatedIdTokenClaims(tokens)).toMatchObject({ sub: 'u-alice', email: 'alice@sandbox.test', name: 'Alice Example' });
    expect(tokens.scope?.split(' ')).toContain('drive');
  });

  it('answers access_denied when the user denies', async () => {
    const { callback, state } = await signIn('bob', 'bob-demo', 'abort');
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(state);
  });

  it('keeps each user\'s files: upload, list, download; bad names are refused', async () => {
    const alice = await connect();
    const bob = await connect('bob', 'bob-demo');
    const put = await drive(alice.access_token, '/drive/files/hello.txt', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'Hello, drive' });
    expect(put.status).toBe(201);
    const list = (await (await drive(alice.access_token)).json()) as { files: { name: string; size: number }[] };
    expect(list.files).toEqual([expect.objectContaining({ name: 'hello.txt', size: 12 })]);
    const get = await drive(alice.access_token, '/drive/files/hello.txt');
    expect(get.headers.get('content-type')).toBe('text/plain');
    expect(await get.text()).toBe('Hello, drive');
    expect(((await (await drive(bob.access_token)).json()) as { files: unknown[] }).files).toEqual([]);
    expect((await drive(bob.access_token, '/drive/files/hello.txt')).status).toBe(404);
    expect((await drive(alice.access_token, '/drive/files/..%2Fx', { method: 'PUT', body: 'x' })).status).toBe(400);
  });

  it('refuses a missing, unknown or expired bearer token', async () => {
    expect((await fetch(`${sandbox.url}/drive/files`)).status).toBe(401);
    const unknown = await drive('not-a-token');
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    sandbox.setAccessTokenTtl(TTL_S);
    const tokens = await connect();
    sandbox.setAccessTokenTtl(3600);
    expect(tokens.expires_in).toBeLessThanOrEqual(TTL_S);
    await new Promise((resolve) => setTimeout(resolve, TTL_S * 1000 + 1100));
    expect((await drive(tokens.access_token)).status).toBe(401);
  });

  it('rotates refresh tokens: the new pair works, the old refresh token does not', async () => {
    const first = await connect();
    const refresh = (token: string) => oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretBasic(secret), token, insecure);
    const second = await oauth.processRefreshTokenResponse(as, client, await refresh(first.refresh_token!));
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await drive(second.access_token)).status).toBe(200);
    const reused = await refresh(first.refresh_token!);
    await expect(oauth.processRefreshTokenResponse(as, client, reused)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('revokes tokens (RFC 7009): a revoked access token no longer opens the drive', async () => {
    const tokens = await connect();
    expect((await drive(tokens.access_token)).status).toBe(200);
    const response = await oauth.revocationRequest(as, client, oauth.ClientSecretBasic(secret), tokens.access_token, insecure);
    await oauth.processRevocationResponse(response);
    expect((await drive(tokens.access_token)).status).toBe(401);
    const revokeRefresh = await oauth.revocationRequest(as, client, oauth.ClientSecretBasic(secret), tokens.refresh_token!, insecure);
    await oauth.processRevocationResponse(revokeRefresh);
    const after = await oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretBasic(secret), tokens.refresh_token!, insecure);
    await expect(oauth.processRefreshTokenResponse(as, client, after)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
