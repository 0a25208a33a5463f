import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type CreatedApp } from '../src/authorization/index.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { seedAccount } from './support/fixtures.ts';

// Gatehouse's authorization server, driven by an independent client (oauth4webapi), not our SDK.
describe.each(STORE_KINDS)('authorization server (client credentials, introspection, revocation) on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let as: oauth.AuthorizationServer;
  let first: CreatedApp;
  let second: CreatedApp;
  const insecure = { [oauth.allowInsecureRequests]: true };

  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind });
    const make = async (name: string, isPublic = false) => {
      const created = await createApp(gatehouse.services, {
        name,
        redirectUris: ['http://127.0.0.1:9/cb'],
        scopes: ['accounts:read', 'accounts:write', 'proxy'],
        defaultScopes: ['accounts:read'],
        public: isPublic,
      });
      recordSecret(created.clientSecret, created.apiKey);
      return created;
    };
    first = await make('first');
    second = await make('second');
    const issuer = new URL(gatehouse.url);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  });
  afterAll(() => gatehouse?.close());

  const clientOf = (app: CreatedApp): oauth.Client => ({ client_id: app.app.id });

  async function clientCredentials(app: CreatedApp, auth: oauth.ClientAuth, scope?: string) {
    const response = await oauth.clientCredentialsGrantRequest(as, clientOf(app), auth, scope ? { scope } : {}, insecure);
    const result = await oauth.processClientCredentialsResponse(as, clientOf(app), response);
    recordSecret(result.access_token);
    return result;
  }

  it('publishes RFC 8414 metadata naming exactly what it supports', () => {
    expect(as.issuer).toBe(gatehouse.url);
    expect(as.token_endpoint).toBe(`${gatehouse.url}/oauth/token`);
    expect(as.authorization_endpoint).toBe(`${gatehouse.url}/oauth/authorize`);
    expect(as.response_types_supported).toEqual(['code']);
    expect(as.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    expect(as.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none']);
  });

  it('issues client-credentials tokens with client_secret_basic and client_secret_post', async () => {
    const basic = await clientCredentials(first, oauth.ClientSecretBasic(first.clientSecret!));
    expect(basic).toMatchObject({ token_type: 'bearer', scope: 'accounts:read', expires_in: 3600 });
    expect(basic.access_token).toMatch(/^gha_[0-9a-f]{11}[A-Za-z0-9_-]{43}$/);
    expect(basic.refresh_token).toBeUndefined();
    const post = await clientCredentials(first, oauth.ClientSecretPost(first.clientSecret!), 'accounts:read proxy');
    expect(post.scope).toBe('accounts:read proxy');
  });

  it('answers token requests with Cache-Control: no-store', async () => {
    const response = await oauth.clientCredentialsGrantRequest(as, clientOf(first), oauth.ClientSecretBasic(first.clientSecret!), {}, insecure);
    expect(response.headers.get('cache-control')).toBe('no-store');
    recordSecret(((await response.json()) as { access_token: string }).access_token);
  });

  it('verifies, introspects and revokes a token for its own client only', async () => {
    const { access_token: token } = await clientCredentials(first, oauth.ClientSecretBasic(first.clientSecret!));
    const verify = await fetch(`${gatehouse.url}/v1/oauth/token`, { headers: { authorization: `Bearer ${token}` } });
    expect(await verify.json()).toMatchObject({ client_id: first.app.id, account_id: null, scope: 'accounts:read' });

    const introspected = await oauth.processIntrospectionResponse(
      as,
      clientOf(first),
      await oauth.introspectionRequest(as, clientOf(first), oauth.ClientSecretBasic(first.clientSecret!), token, insecure),
    );
    expect(introspected).toMatchObject({ active: true, client_id: first.app.id, scope: 'accounts:read' });

    const foreign = await oauth.processIntrospectionResponse(
      as,
      clientOf(second),
      await oauth.introspectionRequest(as, clientOf(second), oauth.ClientSecretPost(second.clientSecret!), token, insecure),
    );
    expect(foreign).toEqual({ active: false });

    // another client cannot revoke it …
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, clientOf(second), oauth.ClientSecretPost(second.clientSecret!), token, insecure),
    );
    expect((await fetch(`${gatehouse.url}/v1/oauth/token`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // … its own client can
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, clientOf(first), oauth.ClientSecretBasic(first.clientSecret!), token, insecure),
    );
    const after = await fetch(`${gatehouse.url}/v1/oauth/token`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('a client-credentials token reaches its own app accounts, within its scope only', async () => {
    const seed = (appId: string, subject: string) => seedAccount(gatehouse.services.db, appId, subject);
    const mine = await seed(first.app.id, 'mine');
    const theirs = await seed(second.app.id, 'theirs');
    const { access_token: readOnly } = await clientCredentials(first, oauth.ClientSecretBasic(first.clientSecret!), 'accounts:read');
    const api = (path: string, token: string, init: RequestInit = {}) =>
      fetch(`${gatehouse.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });

    const list = (await (await api('/v1/accounts', readOnly)).json()) as { data: { id: string }[] };
    expect(list.data.map((a) => a.id)).toEqual([mine.id]);
    expect((await api(`/v1/accounts/${mine.id}`, readOnly)).status).toBe(200);
    expect((await api(`/v1/accounts/${theirs.id}`, readOnly)).status).toBe(404);
    const patch = await api(`/v1/accounts/${mine.id}`, readOnly, { method: 'PATCH', body: JSON.stringify({ metadata: { a: 1 } }) });
    expect(patch.status).toBe(403);
    expect(await patch.json()).toMatchObject({ error: 'insufficient_scope' });
  });

  describe('refuses bad requests with RFC 6749 §5.2 errors', () => {
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${gatehouse.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(body),
      });
    const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

    it('wrong secret → 401 invalid_client with WWW-Authenticate', async () => {
      const response = await post({ grant_type: 'client_credentials' }, basic(first.app.id, 'ghcs_wrong'));
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    });

    it('two authentication methods in one request → invalid_request', async () => {
      const response = await post({ grant_type: 'client_credentials', client_secret: first.clientSecret! }, basic(first.app.id, first.clientSecret!));
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('a scope outside the allow-list → invalid_scope', async () => {
      const response = await post({ grant_type: 'client_credentials', scope: 'accounts:read admin' }, basic(first.app.id, first.clientSecret!));
      expect(await response.json()).toMatchObject({ error: 'invalid_scope' });
    });

    it('an unknown grant type, and the implicit/password grants → unsupported_grant_type', async () => {
      for (const grant of ['password', 'implicit', 'urn:nope']) {
        const response = await post({ grant_type: grant }, basic(first.app.id, first.clientSecret!));
        expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
      }
    });

    it('a public client cannot use client_credentials', async () => {
      const publicApp = await createApp(gatehouse.services, { name: 'spa', redirectUris: ['http://127.0.0.1:9/cb'], scopes: ['accounts:read'], public: true });
      recordSecret(publicApp.apiKey);
      const response = await post({ grant_type: 'client_credentials', client_id: publicApp.app.id });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'unauthorized_client' });
    });

    it('a JSON body, a missing grant_type, an unknown client', async () => {
      const json = await fetch(`${gatehouse.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(json.status).toBe(415);
      expect(await json.json()).toMatchObject({ error: 'invalid_request' });
      expect(await (await post({}, basic(first.app.id, first.clientSecret!))).json()).toMatchObject({ error: 'invalid_request' });
      expect((await post({ grant_type: 'client_credentials' }, basic('app_unknown', 'x'))).status).toBe(401);
    });

    it('introspection without client authentication → 401', async () => {
      const response = await fetch(`${gatehouse.url}/oauth/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: 'gha_x' }),
      });
      expect(response.status).toBe(401);
    });
  });
});
