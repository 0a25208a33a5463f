import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect } from 'vitest';
import { createApp } from '../../src/authorization/index.ts';
import { startApiUpstream, type ApiUpstream } from './api-upstream.ts';
import { integrate } from './fixtures.ts';
import { freePort } from './processes.ts';
import { startGatehouse, type RunningGatehouse } from './gatehouse.ts';
import { recordSecret } from './secrets.ts';
import type { StoreKind } from './stores.ts';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A request as sent, byte for byte: the path goes out unparsed (a URL string would have its dot segments and backslashes resolved). */
export function send(url: string, method: string, headers: Record<string, string | string[]>, body?: Buffer | string | Readable): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { hostname, port, origin } = new URL(url);
    const req = httpRequest({ hostname, port, path: url.slice(origin.length), method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

export interface TestApp {
  id: string;
  key: string;
  secret: string;
}

export interface ProxyHarness {
  gatehouse: RunningGatehouse;
  upstream: ApiUpstream;
  /** An app (scopes incl. proxy) with integrations for the test providers. */
  newApp(options?: { allowCredentials?: boolean }): Promise<TestApp>;
  /** Imports an account through the API, as an app would; the upstream user is new. */
  connect(app: TestApp, provider?: string, extra?: Record<string, unknown>): Promise<{ id: string; subject: string; access: string; refresh: string }>;
  proxyUrl(accountId: string, path: string): string;
  clientCredentials(app: TestApp, scope: string): Promise<string>;
}

/**
 * A Gatehouse (proxy timeout 800 ms) in front of the test provider API (test/support/api-upstream.ts),
 * plus `test-down`, a provider whose API port nobody listens on. Fields are set once beforeAll ran.
 */
export function useProxyHarness(kind: StoreKind): ProxyHarness {
  const harness = {} as ProxyHarness;
  beforeAll(async () => {
    const upstream = await startApiUpstream();
    const closedPort = await freePort();
    writeFileSync(
      join(upstream.providersDir, 'test-down.json'),
      JSON.stringify({
        id: 'test-down',
        name: 'Down',
        categories: ['storage'],
        authorizationUrl: `${upstream.base}/authorize`,
        tokenUrl: `${upstream.base}/token`,
        scopes: { default: [] },
        pkce: true,
        tokenEndpointAuthMethod: 'client_secret_post',
        identity: { source: 'profile', url: `${upstream.base}/me`, id: 'id' },
        proxy: { baseUrl: `http://127.0.0.1:${closedPort}/api` },
      }),
    );
    harness.upstream = upstream;
    harness.gatehouse = await startGatehouse({ kind, providersDir: upstream.providersDir, env: { GATEHOUSE_PROXY_TIMEOUT_MS: '800' } });
  });
  afterAll(async () => {
    await harness.gatehouse?.close();
    await harness.upstream?.close();
  });

  harness.newApp = async (options = {}) => {
    const created = await createApp(harness.gatehouse.services, {
      name: `proxy-${randomBytes(4).toString('hex')}`,
      redirectUris: ['http://127.0.0.1:9/callback'],
      scopes: ['accounts:read', 'accounts:write', 'proxy'],
      allowCredentials: options.allowCredentials,
    });
    recordSecret(created.clientSecret, created.apiKey);
    for (const provider of ['test-api', 'test-tenant', 'test-noproxy', 'test-down']) {
      await integrate(harness.gatehouse.services, created.app.id, provider, { clientId: 'api-client', clientSecret: 'api-client-secret-0123456789' });
    }
    return { id: created.app.id, key: created.apiKey, secret: created.clientSecret! };
  };
  harness.connect = async (app, provider = 'test-api', extra = {}) => {
    const subject = `user-${randomBytes(4).toString('hex')}`;
    const pair = harness.upstream.issue(subject);
    const response = await fetch(`${harness.gatehouse.url}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider, access_token: pair.access, refresh_token: pair.refresh, expires_in: 3600, ...extra }),
    });
    expect(response.status).toBe(201);
    const account = (await response.json()) as { id: string };
    return { id: account.id, subject, ...pair };
  };
  harness.proxyUrl = (accountId, path) => `${harness.gatehouse.url}/v1/accounts/${accountId}/proxy/${path}`;
  harness.clientCredentials = async (app, scope) => {
    const response = await fetch(`${harness.gatehouse.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.id, client_secret: app.secret, scope }),
    });
    const token = ((await response.json()) as { access_token: string }).access_token;
    recordSecret(token);
    return token;
  };
  return harness;
}
