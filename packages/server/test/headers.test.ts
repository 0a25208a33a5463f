import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/authorization/index.ts';
import { BODY_LIMIT_BYTES } from '../src/app.ts';
import { STYLESHEET_PATH } from '../src/pages/index.ts';
import { AuthorizationHarness, REDIRECT } from './support/authorization.ts';
import { integrate } from './support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';
import { signInAtOidcUpstream } from './support/upstreams.ts';

/** One answer of each kind Gatehouse gives: pages people see and answers programs read. */
interface Answer {
  kind: string;
  page: boolean;
  response: Response;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe.each(STORE_KINDS)('security headers on every kind of answer (%s)', (kind) => {
  const h = new AuthorizationHarness();
  const answers: Answer[] = [];
  const tokenAnswers: Answer[] = [];

  beforeAll(async () => {
    await h.start(kind);
    const { gatehouse, web, oidc } = h;
    const add = (list: Answer[], kind: string, page: boolean, response: Response) => list.push({ kind, page, response });

    // pages
    add(answers, 'error page', true, await fetch(`${gatehouse.url}/connect/callback?state=nope`));
    const chooserApp = await createApp(gatehouse.services, { name: 'Chooser', redirectUris: [REDIRECT], scopes: ['accounts:read'] });
    recordSecret(chooserApp.clientSecret, chooserApp.apiKey);
    await integrate(gatehouse.services, chooserApp.app.id, 'oidc', { clientId: oidc.clientId, clientSecret: oidc.clientSecret, issuer: oidc.issuer });
    await integrate(gatehouse.services, chooserApp.app.id, 'github', { clientId: 'gh-client', clientSecret: 'gh-secret-0123456789' });
    add(answers, 'chooser page', true, await h.newBrowser().request(h.authorizeUrl({ response_type: 'code', client_id: chooserApp.app.id, state: 's' })));
    const flow = await h.toConsent('alice');
    add(answers, 'consent page', true, flow.consent);
    const browser = h.newBrowser();
    const started = await browser.request(`${gatehouse.url}/connect/oidc?app=${web.app.id}`);
    const callback = await signInAtOidcUpstream(browser, started.headers.get('location')!, 'bob', `${gatehouse.url}/connect/callback`);
    add(answers, 'connect result page', true, await browser.request(callback.href));
    add(answers, 'docs page', true, await fetch(`${gatehouse.url}/docs`));
    add(answers, 'redirect', true, started);

    // programs
    const form = (path: string, fields: Record<string, string>) =>
      fetch(`${gatehouse.url}${path}`, {
        method: 'POST',
        headers: { authorization: basic(web.app.id, web.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      });
    const issued = await form('/oauth/token', { grant_type: 'client_credentials', scope: 'accounts:read' });
    add(tokenAnswers, 'token answer', false, issued);
    const { access_token: token } = (await issued.clone().json()) as { access_token: string };
    recordSecret(token);
    add(tokenAnswers, 'token error', false, await form('/oauth/token', { grant_type: 'password' }));
    add(tokenAnswers, 'introspection', false, await form('/oauth/introspect', { token }));
    add(tokenAnswers, 'verify', false, await fetch(`${gatehouse.url}/v1/oauth/token`, { headers: { authorization: `Bearer ${token}` } }));
    add(
      tokenAnswers,
      'connect session',
      false,
      await fetch(`${gatehouse.url}/v1/connect/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${web.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ end_user: { id: 'u1' } }),
      }),
    );
    add(answers, 'API answer', false, await fetch(`${gatehouse.url}/v1/accounts`, { headers: { authorization: `Bearer ${web.apiKey}` } }));
    add(answers, 'API error', false, await fetch(`${gatehouse.url}/v1/accounts`));
    add(answers, 'metadata', false, await fetch(`${gatehouse.url}/.well-known/oauth-authorization-server`));
    add(answers, 'OpenAPI document', false, await fetch(`${gatehouse.url}/docs/openapi.json`));
    add(answers, 'unknown route', false, await fetch(`${gatehouse.url}/nowhere`));
    answers.push(...tokenAnswers);
  });
  afterAll(() => h.close());

  const all = () => {
    expect(answers.length).toBeGreaterThan(15);
    return answers;
  };

  it('the kinds of answer checked are what they claim', () => {
    for (const a of all()) {
      const type = a.response.headers.get('content-type') ?? '';
      if (a.kind.endsWith('page')) expect(type, a.kind).toMatch(/^text\/html/);
      if (!a.page) expect(type, a.kind).toMatch(/^application\/json/);
    }
    expect(answers.find((a) => a.kind === 'chooser page')!.response.status).toBe(200);
    expect(answers.find((a) => a.kind === 'connect result page')!.response.status).toBe(200);
    expect(answers.find((a) => a.kind === 'error page')!.response.status).toBe(400);
  });

  it('Content-Security-Policy: strict on pages (no inline script or style, nothing framed), locked down on API answers', () => {
    for (const a of all()) {
      const csp = a.response.headers.get('content-security-policy') ?? '';
      expect(csp, a.kind).toContain("default-src 'none'");
      expect(csp, a.kind).toContain("frame-ancestors 'none'");
      expect(csp, a.kind).not.toMatch(/unsafe-inline|unsafe-eval|script-src|\*/);
      if (a.kind.endsWith('page')) expect(csp, a.kind).toContain("base-uri 'none'");
    }
  });

  it('Referrer-Policy: no-referrer', () => {
    for (const a of all()) expect(a.response.headers.get('referrer-policy'), a.kind).toBe('no-referrer');
  });

  it('X-Content-Type-Options: nosniff', () => {
    for (const a of all()) expect(a.response.headers.get('x-content-type-options'), a.kind).toBe('nosniff');
  });

  it('X-Frame-Options: DENY (for browsers without frame-ancestors)', () => {
    for (const a of all()) expect(a.response.headers.get('x-frame-options'), a.kind).toBe('DENY');
  });

  it('no Strict-Transport-Security while the base URL is http', () => {
    for (const a of all()) expect(a.response.headers.get('strict-transport-security'), a.kind).toBeNull();
  });

  it('Cache-Control: no-store on every answer carrying a token, and on the pages of a flow', () => {
    for (const a of tokenAnswers) expect(a.response.headers.get('cache-control'), a.kind).toBe('no-store');
    for (const a of tokenAnswers.filter((t) => t.kind.startsWith('token'))) expect(a.response.headers.get('pragma'), a.kind).toBe('no-cache');
    for (const a of answers.filter((x) => ['consent page', 'chooser page', 'connect result page', 'error page', 'redirect'].includes(x.kind))) {
      expect(a.response.headers.get('cache-control'), a.kind).toBe('no-store');
    }
  });

  it('Cache-Control: no-store and Pragma: no-cache on every answer that says nothing of caching itself; what a route says is kept', async () => {
    const silent = ['API answer', 'API error', 'metadata', 'unknown route', 'error page', 'token answer', 'token error', 'introspection', 'verify'];
    for (const a of all().filter((x) => silent.includes(x.kind))) {
      expect(a.response.headers.get('cache-control'), a.kind).toBe('no-store');
      expect(a.response.headers.get('pragma'), a.kind).toBe('no-cache');
    }
    const stylesheet = await fetch(`${h.gatehouse.url}${STYLESHEET_PATH}`);
    expect(stylesheet.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(stylesheet.headers.get('pragma')).toBeNull();
    expect(stylesheet.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answers.find((a) => a.kind === 'docs page')!.response.headers.get('cache-control')).toBe('no-cache');
  });
});

describe.each(STORE_KINDS)('HSTS with an https base URL (%s)', (kind) => {
  let gatehouse: RunningGatehouse;
  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind, env: { GATEHOUSE_BASE_URL: 'https://gatehouse.example' } });
  });
  afterAll(() => gatehouse?.close());

  it('Strict-Transport-Security on pages, API answers and errors', async () => {
    for (const path of ['/healthz', '/docs', '/v1/accounts', '/connect/callback?state=x', '/nowhere']) {
      const response = await fetch(`${gatehouse.url}${path}`);
      expect(response.headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains');
    }
  });
});

/** Sends raw bytes and reads the answer until the server closes or answers in full. */
function raw(url: string, bytes: string | Buffer, options: { end?: boolean } = {}): Promise<{ status: number; head: string; body: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 10 s'));
    }, 10_000);
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), head: text.slice(0, split), body: text.slice(split + 4), ms: Date.now() - started });
    };
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', finish);
    socket.on('error', () => {});
    socket.write(bytes);
    if (options.end) socket.end();
  });
}

describe.each(STORE_KINDS)('body size limit, request timeout and trust proxy (%s)', (kind) => {
  let gatehouse: RunningGatehouse;
  let direct: RunningGatehouse;
  let trusting: RunningGatehouse;
  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind, env: { GATEHOUSE_REQUEST_TIMEOUT_MS: '400' } });
    // 1 request a minute per source address on the API, so the address each request counts as shows
    direct = await startGatehouse({ kind, env: { GATEHOUSE_RATE_LIMIT_API: '100/1' } });
    trusting = await startGatehouse({ kind, env: { GATEHOUSE_RATE_LIMIT_API: '100/1', GATEHOUSE_TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await gatehouse?.close();
    await direct?.close();
    await trusting?.close();
  });

  it(`a body over ${BODY_LIMIT_BYTES} bytes gets 413 in the RFC 6749 shape (form and JSON)`, async () => {
    for (const [path, type] of [
      ['/oauth/token', 'application/x-www-form-urlencoded'],
      ['/v1/connect/sessions', 'application/json'],
    ] as const) {
      const response = await fetch(`${gatehouse.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body: 'a'.repeat(BODY_LIMIT_BYTES + 1) });
      expect(response.status, path).toBe(413);
      expect(await response.json()).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    }
  });

  it('a request that does not arrive within GATEHOUSE_REQUEST_TIMEOUT_MS gets 408 in the RFC 6749 shape and is closed', async () => {
    const host = new URL(gatehouse.url).host;
    // headers in full, but only 3 of the 100 body bytes announced
    const slowBody = await raw(gatehouse.url, `POST /oauth/token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nabc`);
    expect(slowBody.status).toBe(408);
    expect(JSON.parse(slowBody.body)).toEqual({ error: 'invalid_request', error_description: 'the request took too long to arrive' });
    expect(slowBody.ms).toBeGreaterThanOrEqual(350);
    // headers never finished
    const slowHeaders = await raw(gatehouse.url, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `);
    expect(slowHeaders.status).toBe(408);
  });

  it('GATEHOUSE_TRUST_PROXY=false: X-Forwarded-For is ignored, every request counts as the peer address', async () => {
    const first = await fetch(`${direct.url}/v1/accounts`, { headers: { 'x-forwarded-for': '203.0.113.1' } });
    expect(first.status).toBe(401);
    const second = await fetch(`${direct.url}/v1/accounts`, { headers: { 'x-forwarded-for': '203.0.113.2' } });
    expect(second.status).toBe(429);
  });

  it('GATEHOUSE_TRUST_PROXY=true: the client address comes from X-Forwarded-For', async () => {
    const one = await fetch(`${trusting.url}/v1/accounts`, { headers: { 'x-forwarded-for': '203.0.113.1' } });
    const other = await fetch(`${trusting.url}/v1/accounts`, { headers: { 'x-forwarded-for': '203.0.113.2' } });
    expect([one.status, other.status]).toEqual([401, 401]);
    const again = await fetch(`${trusting.url}/v1/accounts`, { headers: { 'x-forwarded-for': '203.0.113.1' } });
    expect(again.status).toBe(429);
  });
});
