import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { OAuth2Server } from 'oauth2-mock-server';
import { TestBrowser } from './browser.ts';

export interface OidcUpstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  provider: Provider;
  /** Every access and refresh token the upstream issued, for the secret scans. */
  issuedTokens(): string[];
  close(): Promise<void>;
}

/** Real node-oidc-provider v8 on loopback with its dev login and consent interactions. */
export async function startOidcUpstream(redirectUri: string): Promise<OidcUpstream> {
  const clientId = 'gatehouse-test-client';
  const clientSecret = `upstream-secret-${Math.random().toString(36).slice(2)}${Date.now()}`;
  const issued: string[] = [];
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        claims: async () => ({ sub, email: `${sub}@example.test`, email_verified: true, name: `User ${sub}` }),
      };
    },
    issueRefreshToken: async () => true,
    cookies: { keys: ['test-cookie-key-0123456789'] },
    pkce: { required: () => true, methods: ['S256'] },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86400, Grant: 86400, Interaction: 600, Session: 86400 },
  });
  provider.on('access_token.saved', (token: { jti: string }) => issued.push(token.jti));
  provider.on('refresh_token.saved', (token: { jti: string }) => issued.push(token.jti));
  server.on('request', provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    provider,
    issuedTokens: () => [...issued],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Drives node-oidc-provider's dev interactions like a person: submit the login form as `login`,
 * then the consent form, and stop at the redirect to `callbackPrefix` (not requested).
 */
export async function signInAtOidcUpstream(browser: TestBrowser, authorizeUrl: string, login: string, callbackPrefix: string): Promise<URL> {
  const atCallback = (url: URL) => url.href.startsWith(callbackPrefix);
  let step = await browser.follow(authorizeUrl, {}, atCallback);
  for (let i = 0; i < 4 && step.response; i++) {
    const page = await step.response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    if (!action || !prompt) throw new Error(`unexpected upstream page at ${step.url.href}: ${page.slice(0, 200)}`);
    const fields: Record<string, string> = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt };
    step = await browser.postForm(new URL(action, step.url).href, fields, atCallback);
  }
  if (step.response) throw new Error(`the upstream did not redirect back (last page ${step.url.href})`);
  return step.url;
}

export interface OAuth2Upstream {
  server: OAuth2Server;
  base: string;
  providersDir: string;
  /** The profile the upstream's profile endpoint answers (GitHub-like: numeric id, login). */
  profile: { id: number; login: string; email: string; name: string };
  issuedTokens(): string[];
  close(): Promise<void>;
}

/**
 * A plain OAuth 2.0 upstream (oauth2-mock-server): no ID token, identity from a profile endpoint.
 * Writes its catalog entry `test-oauth2` into a fresh providers folder.
 */
export async function startOAuth2Upstream(): Promise<OAuth2Upstream> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const base = server.issuer.url!.replace(/\/$/, '');
  const issued: string[] = [];
  const profile = { id: 4242, login: 'octo', email: 'octo@example.test', name: 'Octo Cat' };
  server.service.on('beforeResponse', (response: { body: Record<string, unknown> }) => {
    delete response.body.id_token;
    for (const key of ['access_token', 'refresh_token'] as const) {
      if (typeof response.body[key] === 'string') issued.push(response.body[key] as string);
    }
  });
  server.service.on('beforeUserinfo', (response: { body: unknown }) => {
    response.body = profile;
  });
  const providersDir = mkdtempSync(join(tmpdir(), 'gatehouse-providers-'));
  writeFileSync(
    join(providersDir, 'test-oauth2.json'),
    JSON.stringify({
      id: 'test-oauth2',
      name: 'Test OAuth2',
      categories: ['code'],
      aliases: ['testo'],
      authorizationUrl: `${base}/authorize`,
      tokenUrl: `${base}/token`,
      revocationUrl: `${base}/revoke`,
      scopes: { default: ['read:user', 'repo'], descriptions: { 'read:user': 'Read your profile', repo: 'Read and write your repositories' } },
      scopeSeparator: ' ',
      pkce: true,
      tokenEndpointAuthMethod: 'client_secret_post',
      identity: { source: 'profile', url: `${base}/userinfo`, id: 'id', email: 'email', name: 'name' },
      proxy: { baseUrl: `${base}/api` },
    }),
  );
  return { server, base, providersDir, profile, issuedTokens: () => [...issued], close: () => server.stop() };
}
