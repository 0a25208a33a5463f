import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshAccessToken } from '../src/accounts/index.ts';
import { createApp, issueTokens, updateApp } from '../src/authorization/index.ts';
import { startApiUpstream, type ApiUpstream } from './support/api-upstream.ts';
import { integrate } from './support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A request as sent, byte for byte (fetch would normalise "..", drop some headers). */
function send(url: string, method: string, headers: Record<string, string | string[]>, body?: Buffer | string | Readable): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // the path goes out unparsed: a URL string would have its dot segments and backslashes resolved
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

describe.each(STORE_KINDS)('provider proxy on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let upstream: ApiUpstream;
  let closedPort: number;

  beforeAll(async () => {
    upstream = await startApiUpstream();
    // a provider whose API is down: a port nobody listens on
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
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
    gatehouse = await startGatehouse({ kind, providersDir: upstream.providersDir, env: { GATEHOUSE_PROXY_TIMEOUT_MS: '800' } });
  });

  afterAll(async () => {
    console.log('closing gatehouse', Date.now());
    const t = setInterval(() => console.log('open connections', (gatehouse.app.server as any)._connections), 2000);
    await gatehouse.app.close();
    clearInterval(t);
    console.log('app closed', Date.now());
    await gatehouse?.close();
    console.log('closing upstream', Date.now());
    await upstream?.close();
    console.log('closed', Date.now());
  });

  /** An app (scopes incl. proxy) with integrations for the test providers. */
  async function newApp(options: { allowCredentials?: boolean } = {}) {
    const created = await createApp(gatehouse.services, {
      name: `proxy-${randomBytes(4).toString('hex')}`,
      redirectUris: ['http://127.0.0.1:9/callback'],
      scopes: ['accounts:read', 'accounts:write', 'proxy'],
      allowCredentials: options.allowCredentials,
    });
    recordSecret(created.clientSecret, created.apiKey);
    for (const provider of ['test-api', 'test-tenant', 'test-noproxy', 'test-down']) {
      await integrate(gatehouse.services, created.app.id, provider, { clientId: 'api-client', clientSecret: 'api-client-secret-0123456789' });
    }
    return { id: created.app.id, key: created.apiKey, secret: created.clientSecret! };
  }

  /** Imports an account through the API, as an app would. */
  async function connect(app: { key: string }, provider = 'test-api', extra: Record<string, unknown> = {}) {
    const subject = `user-${randomBytes(4).toString('hex')}`;
    const pair = upstream.issue(subject);
    const response = await fetch(`${gatehouse.url}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider, access_token: pair.access, refresh_token: pair.refresh, expires_in: 3600, ...extra }),
    });
    expect(response.status).toBe(201);
    const account = (await response.json()) as { id: string };
    return { id: account.id, subject, ...pair };
  }

  const proxyUrl = (accountId: string, path: string) => `${gatehouse.url}/v1/accounts/${accountId}/proxy/${path}`;

  async function clientCredentials(app: { id: string; secret: string }, scope: string) {
    const response = await fetch(`${gatehouse.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.id, client_secret: app.secret, scope }),
    });
    const token = ((await response.json()) as { access_token: string }).access_token;
    recordSecret(token);
    return token;
  }

  it('injects the upstream token, strips the caller\'s credentials, hop-by-hop and Gatehouse-* headers, forwards status and headers back', async () => {
    const app = await newApp();
    const account = await connect(app);
    const before = upstream.calls.length;
    const answer = await send(
      proxyUrl(account.id, 'echo?status=201&q=a%20b'),
      'POST',
      {
        authorization: `Bearer ${app.key}`,
        cookie: 'caller_session=caller-cookie-value',
        connection: 'keep-alive, x-caller-private',
        'x-caller-private': 'private-to-this-hop',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic cHJveHk6cHJveHk=',
        'gatehouse-retries': '0',
        'gatehouse-trace': 'x',
        'x-custom': 'kept',
        'content-type': 'application/json',
      },
      '{"hello":"world"}',
    );
    expect(answer.status).toBe(201);
    expect(upstream.calls.length).toBe(before + 1);
    const received = upstream.calls.at(-1)!;
    expect(received.method).toBe('POST');
    expect(received.url).toBe('/api/echo?status=201&q=a%20b');
    expect(received.headers.authorization).toBe(`Bearer ${account.access}`);
    expect(received.headers.host).toBe(new URL(upstream.base).host);
    expect(received.headers['x-custom']).toBe('kept');
    expect(received.headers['content-type']).toBe('application/json');
    for (const name of ['cookie', 'x-caller-private', 'keep-alive', 'te', 'proxy-authorization', 'gatehouse-retries', 'gatehouse-trace']) {
      expect(received.headers[name], name).toBeUndefined();
    }
    expect(JSON.parse(answer.text).body).toBe('{"hello":"world"}');
    // the provider's answer, without its cookie and hop-by-hop fields
    expect(answer.headers['x-upstream']).toBe('yes');
    expect(answer.headers.via).toBe('1.1 gatehouse');
    expect(received.headers.via).toBe('1.1 gatehouse');
    expect(answer.headers['cache-control']).toBe('private, max-age=60');
    expect(answer.headers.link).toBe('</next>; rel="next", </prev>; rel="prev"');
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect(answer.headers['x-upstream-private']).toBeUndefined();
  });

  it('passes the path and query through as sent, percent-encoding included', async () => {
    const app = await newApp();
    const account = await connect(app);
    const answer = await send(proxyUrl(account.id, 'files/a%20b/group%2Fproject/alice%40example.com?list=1&list=2&q=x%2By'), 'GET', {
      authorization: `Bearer ${app.key}`,
    });
    expect(answer.status).toBe(200);
    expect(upstream.calls.at(-1)!.url).toBe('/api/files/a%20b/group%2Fproject/alice%40example.com?list=1&list=2&q=x%2By');
  });

  it('streams bodies both ways (5 MB up, 5 MB down), intact', async () => {
    const app = await newApp();
    const account = await connect(app);
    const size = 5 * 1024 * 1024;
    const payload = randomBytes(size);
    const up = await send(proxyUrl(account.id, 'upload'), 'PUT', { authorization: `Bearer ${app.key}`, 'content-type': 'application/octet-stream' }, Readable.from([payload.subarray(0, size / 2), payload.subarray(size / 2)]));
    expect(up.status).toBe(200);
    expect(JSON.parse(up.text)).toEqual({ bytes: size, sha256: createHash('sha256').update(payload).digest('hex') });
    const down = await fetch(proxyUrl(account.id, `download?bytes=${size}`), { headers: { authorization: `Bearer ${app.key}` } });
    expect(down.status).toBe(200);
    expect(down.headers.get('content-length')).toBe(String(size));
    expect((await down.arrayBuffer()).byteLength).toBe(size);
  });

  it('HEAD answers headers only; a caller that goes away lets go of the provider call too', async () => {
    const app = await newApp();
    const account = await connect(app);
    const head = await send(proxyUrl(account.id, 'download?bytes=10'), 'HEAD', { authorization: `Bearer ${app.key}` });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('10');
    expect(head.text).toBe('');

    const until = async (done: () => boolean) => {
      for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
      return done();
    };
    // gone mid-download: the provider's response is closed before it is complete
    const { hostname, port } = new URL(gatehouse.url);
    let abandoned = upstream.abandoned();
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ hostname, port, agent: false, path: `/v1/accounts/${account.id}/proxy/download?bytes=${500 * 1024 * 1024}`, headers: { authorization: `Bearer ${app.key}` } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? resolve() : reject(err)));
      req.end();
    });
    expect(await until(() => upstream.abandoned() > abandoned)).toBe(true);
    // gone while the provider has not answered yet
    abandoned = upstream.abandoned();
    const waiting = httpRequest({ hostname, port, path: `/v1/accounts/${account.id}/proxy/hang`, headers: { authorization: `Bearer ${app.key}` }, agent: false });
    waiting.on('error', () => {});
    waiting.end();
    await until(() => upstream.calls.at(-1)?.url === '/api/hang');
    waiting.destroy();
    expect(await until(() => upstream.abandoned() > abandoned)).toBe(true);
  });

  describe('SSRF guard', () => {
    const attempts = [
      '../token',
      '..%2Ftoken',
      '%2e%2e/token',
      '%2E%2E/%2E%2E/token',
      '.%2e/token',
      'files/..%5C..%5Ctoken',
      'files\\..\\..\\token',
      '/127.0.0.1:1/x',
      'https://169.254.169.254/latest/meta-data',
      'http:%2F%2Fevil.example/x',
      '@evil.example/x',
      'x@evil.example',
      '%00/x',
    ];
    it.each(attempts)('refuses the path %j with 400 and sends nothing upstream', async (path) => {
      const app = await newApp();
      const account = await connect(app);
      const before = upstream.calls.length;
      const grants = upstream.refreshGrants();
      const answer = await send(proxyUrl(account.id, path), 'GET', { authorization: `Bearer ${app.key}` });
      expect(answer.status, answer.text).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('below the provider') });
      expect(upstream.calls.length).toBe(before);
      expect(upstream.refreshGrants()).toBe(grants);
    });

    it('raw form: X-Raw-URI outside the base is refused, whatever its spelling', async () => {
      const app = await newApp();
      const account = await connect(app);
      const before = upstream.calls.length;
      const host = new URL(upstream.base).host;
      for (const raw of [
        'http://evil.example/api/echo',
        `${upstream.base}/token`,
        `${upstream.base}/api/../token`,
        `${upstream.base}/api/%2e%2e/token`,
        `${upstream.base}/apix/echo`,
        `http://localhost:${new URL(upstream.base).port}/api/echo`,
        `http://user:pw@${host}/api/echo`,
        `//evil.example/api/echo`,
        '../token',
      ]) {
        const answer = await send(`${gatehouse.url}/v1/accounts/${account.id}/raw`, 'POST', { authorization: `Bearer ${app.key}`, 'x-raw-uri': raw, 'x-raw-method': 'GET' });
        expect(answer.status, raw).toBe(400);
        expect(JSON.parse(answer.text).error).toBe('invalid_request');
      }
      expect(upstream.calls.length).toBe(before);
    });

    it('a template value that is more than one host label (it could change the host) is refused', async () => {
      const app = await newApp();
      for (const tenant of ['evil.example', 'evil.example.com']) {
        const account = await connect(app, 'test-tenant', { template_values: { tenant } });
        const answer = await send(proxyUrl(account.id, 'x'), 'GET', { authorization: `Bearer ${app.key}` });
        expect(answer.status).toBe(400);
        expect(JSON.parse(answer.text).error_description).toMatch(/single host name label/);
      }
    });

    it('a provider without proxy.baseUrl answers a clear 400', async () => {
      const app = await newApp();
      const account = await connect(app, 'test-noproxy');
      const answer = await send(proxyUrl(account.id, 'x'), 'GET', { authorization: `Bearer ${app.key}` });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('no API proxy') });
    });
  });

  it('upstream 401: one forced refresh, the request is replayed with the new token and succeeds', async () => {
    const app = await newApp();
    const account = await connect(app);
    upstream.revokeAccessTokens(account.subject);
    const grants = upstream.refreshGrants();
    const before = upstream.calls.length;
    const answer = await send(proxyUrl(account.id, 'echo'), 'POST', { authorization: `Bearer ${app.key}`, 'content-type': 'text/plain' }, 'replay me');
    expect(answer.status).toBe(200);
    expect(upstream.refreshGrants()).toBe(grants + 1);
    const [refused, replayed] = upstream.calls.slice(before);
    expect(refused!.headers.authorization).toBe(`Bearer ${account.access}`);
    expect(replayed!.headers.authorization).not.toBe(`Bearer ${account.access}`);
    expect(replayed!.bodyBytes).toBe('replay me'.length);
    expect(JSON.parse(answer.text).body).toBe('replay me');
    const stored = await freshAccessToken(gatehouse.services, app.id, account.id);
    expect(replayed!.headers.authorization).toBe(`Bearer ${stored.accessToken}`);
  });

  it('upstream 401 on a streamed (large) body: the 401 goes back, the token is refreshed for the next call', async () => {
    const app = await newApp();
    const account = await connect(app);
    upstream.revokeAccessTokens(account.subject);
    const grants = upstream.refreshGrants();
    const big = randomBytes(200 * 1024);
    const first = await send(proxyUrl(account.id, 'upload'), 'POST', { authorization: `Bearer ${app.key}`, 'content-length': String(big.length) }, big);
    expect(first.status).toBe(401);
    expect(upstream.refreshGrants()).toBe(grants + 1);
    const second = await send(proxyUrl(account.id, 'upload'), 'POST', { authorization: `Bearer ${app.key}`, 'content-length': String(big.length) }, big);
    expect(second.status).toBe(200);
    expect(JSON.parse(second.text).bytes).toBe(big.length);
  });

  it('429 passes through with Retry-After', async () => {
    const app = await newApp();
    const account = await connect(app);
    const answer = await send(proxyUrl(account.id, 'limited'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('7');
    expect(JSON.parse(answer.text)).toEqual({ error: 'rate_limited' });
  });

  it('Gatehouse-Retries: N retries 429/503 with backoff for a replayable request, then passes the last answer through', async () => {
    const app = await newApp();
    const account = await connect(app);
    const auth = { authorization: `Bearer ${app.key}` };
    const key = randomBytes(4).toString('hex');
    expect((await send(proxyUrl(account.id, `flaky?key=${key}a&fail=1`), 'GET', auth)).status).toBe(503);
    const retried = await send(proxyUrl(account.id, `flaky?key=${key}b&fail=2`), 'POST', { ...auth, 'gatehouse-retries': '2', 'content-type': 'text/plain' }, 'again');
    expect(retried.status).toBe(200);
    expect(JSON.parse(retried.text)).toEqual({ calls: 3, body: 'again' });
    const exhausted = await send(proxyUrl(account.id, `flaky?key=${key}c&fail=3`), 'GET', { ...auth, 'gatehouse-retries': '1' });
    expect(exhausted.status).toBe(503);
    const limited = await send(proxyUrl(account.id, `flaky?key=${key}d&fail=1&status=429`), 'GET', { ...auth, 'gatehouse-retries': '1' });
    expect(limited.status).toBe(200);
    // a Retry-After beyond the cap is not waited for
    const long = await send(proxyUrl(account.id, 'limited'), 'GET', { ...auth, 'gatehouse-retries': '3' });
    expect(long.status).toBe(429);
    for (const bad of ['4', '-1', 'many']) {
      const refused = await send(proxyUrl(account.id, 'echo'), 'GET', { ...auth, 'gatehouse-retries': bad });
      expect(refused.status, bad).toBe(400);
    }
  });

  it('a provider that does not answer in time: 504; one that cannot be reached: 502', async () => {
    const app = await newApp();
    const account = await connect(app);
    const slow = await send(proxyUrl(account.id, 'hang'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.text)).toEqual({ error: 'upstream_timeout', error_description: expect.stringContaining('800 ms') });
    const down = await connect(app, 'test-down');
    const unreachable = await send(proxyUrl(down.id, 'x'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(unreachable.status).toBe(502);
    expect(JSON.parse(unreachable.text).error).toBe('upstream_error');
  });

  it('needs_reauth answers 409, a refresh in backoff 424', async () => {
    const app = await newApp();
    const account = await connect(app);
    const db = gatehouse.services.db;
    await db.updateTable('account_tokens').set({ expires_at: Date.now() - 1000, refresh_retry_at: Date.now() + 60_000, refresh_error: 'HTTP 500' }).where('account_id', '=', account.id).execute();
    const backoff = await send(proxyUrl(account.id, 'echo'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(backoff.status).toBe(424);
    expect(JSON.parse(backoff.text).error).toBe('upstream_backoff');
    await db.updateTable('accounts').set({ status: 'needs_reauth' }).where('id', '=', account.id).execute();
    const reauth = await send(proxyUrl(account.id, 'echo'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(reauth.status).toBe(409);
    expect(JSON.parse(reauth.text).error).toBe('needs_reauth');
  });

  it('who may proxy: API key, tokens with the proxy scope, an account-bound token for its own account only, never another app', async () => {
    const app = await newApp();
    const [mine, other] = [await connect(app), await connect(app)];
    const stranger = await newApp();
    const get = (token: string, accountId: string) => send(proxyUrl(accountId, 'echo'), 'GET', { authorization: `Bearer ${token}` });

    expect((await get(app.key, mine.id)).status).toBe(200);
    expect((await get(await clientCredentials(app, 'proxy'), mine.id)).status).toBe(200);
    const readOnly = await get(await clientCredentials(app, 'accounts:read'), mine.id);
    expect(readOnly.status).toBe(403);
    expect(JSON.parse(readOnly.text).error).toBe('insufficient_scope');

    const { accessToken: bound } = await issueTokens(gatehouse.services.db, Date.now(), { appId: app.id, grantId: null, accountId: mine.id, scope: ['proxy'], withRefresh: false });
    recordSecret(bound);
    expect((await get(bound, mine.id)).status).toBe(200);
    expect((await get(bound, other.id)).status).toBe(404);
    expect((await get(stranger.key, mine.id)).status).toBe(404);
    const anonymous = await send(proxyUrl(mine.id, 'echo'), 'GET', {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer /);
    expect((await get('ghk_not-a-key', mine.id)).status).toBe(401);
  });

  it('raw form: X-Raw-URI and X-Raw-Method map onto the same proxy', async () => {
    const app = await newApp();
    const account = await connect(app);
    const raw = `${gatehouse.url}/v1/accounts/${account.id}/raw`;
    const put = await send(raw, 'POST', { authorization: `Bearer ${app.key}`, 'x-raw-uri': '/echo?x=1', 'x-raw-method': 'PUT', 'content-type': 'text/plain' }, 'raw body');
    expect(put.status).toBe(200);
    const echoed = JSON.parse(put.text);
    expect(echoed).toMatchObject({ method: 'PUT', url: '/api/echo?x=1', body: 'raw body' });
    expect(echoed.headers['x-raw-uri']).toBeUndefined();
    expect(echoed.headers['x-raw-method']).toBeUndefined();
    expect(echoed.headers.authorization).toBe(`Bearer ${account.access}`);
    const full = await send(raw, 'POST', { authorization: `Bearer ${app.key}`, 'x-raw-uri': `${upstream.base}/api/echo?y=2`, 'x-raw-method': 'GET' });
    expect(JSON.parse(full.text)).toMatchObject({ method: 'GET', url: '/api/echo?y=2' });
    expect((await send(raw, 'POST', { authorization: `Bearer ${app.key}` })).status).toBe(400);
    expect((await send(raw, 'POST', { authorization: `Bearer ${app.key}`, 'x-raw-uri': '/echo', 'x-raw-method': 'TRACE' })).status).toBe(400);
  });

  it('credentials: off by default (403); when allowed, the fresh token for the API key only, no-store, every read audited', async () => {
    const app = await newApp();
    const account = await connect(app);
    const url = `${gatehouse.url}/v1/accounts/${account.id}/credentials`;
    const off = await send(url, 'GET', { authorization: `Bearer ${app.key}` });
    expect(off.status).toBe(403);
    expect(JSON.parse(off.text).error).toBe('access_denied');
    expect(off.text).not.toContain(account.access);

    await updateApp(gatehouse.services, app.id, { allowCredentials: true });
    const on = await send(url, 'GET', { authorization: `Bearer ${app.key}` });
    expect(on.status).toBe(200);
    expect(on.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(on.text) as { access_token: string; token_type: string; expires_at: string };
    expect(body).toEqual({ access_token: account.access, token_type: 'bearer', expires_at: expect.any(String) });

    // an expired token is refreshed before it is handed out
    await gatehouse.services.db.updateTable('account_tokens').set({ expires_at: Date.now() - 1000 }).where('account_id', '=', account.id).execute();
    const grants = upstream.refreshGrants();
    const refreshed = JSON.parse((await send(url, 'GET', { authorization: `Bearer ${app.key}` })).text) as { access_token: string; token_type: string };
    expect(upstream.refreshGrants()).toBe(grants + 1);
    expect(refreshed.access_token).not.toBe(account.access);
    expect(refreshed.token_type).toBe('bearer');

    const audit = await gatehouse.services.db.selectFrom('audit_log').selectAll().where('subject', '=', account.id).where('action', '=', 'account.credentials_read').execute();
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ app_id: app.id, actor: `app:${app.id}` });
    expect(audit[0]!.detail).not.toContain(account.access);

    const token = await clientCredentials(app, 'proxy accounts:read');
    const refused = await send(url, 'GET', { authorization: `Bearer ${token}` });
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain('access_token"');
  });
});
