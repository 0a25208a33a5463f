import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { recordSecret } from './secrets.ts';

/** What the provider's API received on one call. */
export interface ReceivedCall {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

export interface ApiUpstream {
  base: string;
  /** A providers folder with `test-api` (proxy base `<base>/api`) and `test-tenant` (`http://{tenant}.invalid/api`). */
  providersDir: string;
  /** Calls to /api/*, oldest first. */
  calls: ReceivedCall[];
  /** refresh_token grants the token endpoint answered. */
  refreshGrants(): number;
  /** /api responses whose connection closed before they were complete (the proxy let go of them). */
  abandoned(): number;
  /** How long the token endpoint takes to answer (ms). */
  tokenDelayMs: number;
  /** A fresh token pair for an upstream user (the API accepts the access token from now on). */
  issue(subject: string): { access: string; refresh: string };
  /** Makes the API refuse every access token issued so far for this user (as a provider that revoked them would). */
  revokeAccessTokens(subject: string): void;
  close(): Promise<void>;
}

const PATTERN = Buffer.alloc(64 * 1024, 'gatehouse-stream-');

/**
 * A small provider API on loopback written for the proxy tests: a token endpoint that counts
 * refresh grants, a profile endpoint, and `/api/*` behaviours (echo, upload, download, 429,
 * flaky, hang) that record what they received.
 */
export async function startApiUpstream(): Promise<ApiUpstream> {
  const subjects = new Map<string, string>(); // access token -> subject
  const refreshTokens = new Map<string, string>(); // refresh token -> subject
  const flaky = new Map<string, number>();
  const calls: ReceivedCall[] = [];
  let grants = 0;
  let abandoned = 0;
  const hanging = new Set<ServerResponse>();

  const upstream: ApiUpstream = {
    base: '',
    providersDir: '',
    calls,
    refreshGrants: () => grants,
    abandoned: () => abandoned,
    tokenDelayMs: 0,
    issue(subject) {
      const access = `up-at-${randomBytes(18).toString('hex')}`;
      const refresh = `up-rt-${randomBytes(18).toString('hex')}`;
      recordSecret(access, refresh);
      subjects.set(access, subject);
      refreshTokens.set(refresh, subject);
      return { access, refresh };
    },
    revokeAccessTokens(subject) {
      for (const [token, owner] of subjects) if (owner === subject) subjects.delete(token);
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  async function readBody(req: IncomingMessage): Promise<{ bytes: number; text: string; sha256: string }> {
    const hash = createHash('sha256');
    let bytes = 0;
    const kept: Buffer[] = [];
    for await (const chunk of req) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (bytes <= 65536) kept.push(chunk as Buffer);
    }
    return { bytes, text: Buffer.concat(kept).toString('utf8'), sha256: hash.digest('hex') };
  }

  async function token(req: IncomingMessage, res: ServerResponse) {
    const form = new URLSearchParams((await readBody(req)).text);
    if (form.get('grant_type') !== 'refresh_token') return json(res, 400, { error: 'unsupported_grant_type' });
    grants++;
    const subject = refreshTokens.get(form.get('refresh_token') ?? '');
    if (tokenDelay() > 0) await new Promise((r) => setTimeout(r, tokenDelay()));
    if (!subject) return json(res, 400, { error: 'invalid_grant' });
    refreshTokens.delete(form.get('refresh_token')!);
    const pair = upstream.issue(subject);
    json(res, 200, { access_token: pair.access, token_type: 'Bearer', expires_in: 3600, refresh_token: pair.refresh }, { 'cache-control': 'no-store' });
  }
  const tokenDelay = () => upstream.tokenDelayMs;

  async function api(req: IncomingMessage, res: ServerResponse, url: URL) {
    res.once('close', () => {
      if (!res.writableFinished) abandoned++;
    });
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const route = url.pathname.slice('/api'.length);
    if (route === '/upload') {
      const body = await readBody(req);
      calls.push({ method: req.method!, url: req.url!, headers: req.headers, bodyBytes: body.bytes });
      if (!bearer || !subjects.has(bearer)) return json(res, 401, { error: 'invalid_token' });
      return json(res, 200, { bytes: body.bytes, sha256: body.sha256 });
    }
    const body = await readBody(req);
    calls.push({ method: req.method!, url: req.url!, headers: req.headers, bodyBytes: body.bytes });
    if (!bearer || !subjects.has(bearer)) {
      return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (route === '/download') {
      const size = Number(url.searchParams.get('bytes'));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          const chunk = PATTERN.subarray(0, Math.min(PATTERN.length, size - sent));
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (route === '/chunked') {
      // no Content-Length: `parts` chunks of `size` bytes, `gapMs` apart; `cut` drops the connection after the first
      const parts = Number(url.searchParams.get('parts') ?? 2);
      const size = Number(url.searchParams.get('size') ?? 10);
      const gapMs = Number(url.searchParams.get('gapMs') ?? 0);
      res.writeHead(200, { 'content-type': 'application/json' });
      const part = (i: number) => Buffer.alloc(size, 97 + (i % 26));
      res.write(part(0));
      if (url.searchParams.has('cut')) return void res.destroy();
      let i = 1;
      const next = () => {
        if (i >= parts) return void res.end();
        res.write(part(i++));
        if (gapMs > 0) setTimeout(next, gapMs);
        else next();
      };
      return gapMs > 0 ? void setTimeout(next, gapMs) : next();
    }
    if (route === '/page') {
      res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': "script-src 'unsafe-inline'", 'clear-site-data': '"*"' });
      return res.end('<script>document.title = "provider page"</script>');
    }
    if (route === '/limited') return json(res, 429, { error: 'rate_limited' }, { 'retry-after': '7' });
    if (route === '/hinted') {
      // 103 Early Hints first, the answer a little later: an interim answer is not the answer
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      return void setTimeout(() => json(res, 200, { hinted: true }), 30);
    }
    if (route === '/flaky') {
      const key = url.searchParams.get('key') ?? '';
      const seen = (flaky.get(key) ?? 0) + 1;
      flaky.set(key, seen);
      const status = Number(url.searchParams.get('status') ?? 503);
      if (seen <= Number(url.searchParams.get('fail') ?? 1)) {
        return json(res, status, { error: 'try_later' }, status === 429 ? { 'retry-after': '0' } : {});
      }
      return json(res, 200, { calls: seen, body: body.text });
    }
    if (route === '/hang') {
      hanging.add(res);
      return;
    }
    // echo: what arrived, with headers a proxy must not pass back (Set-Cookie, hop-by-hop)
    json(
      res,
      Number(url.searchParams.get('status') ?? 200),
      { method: req.method, url: req.url, headers: req.headers, body: body.text },
      {
        'x-upstream': 'yes',
        'cache-control': 'private, max-age=60',
        link: ['</next>; rel="next"', '</prev>; rel="prev"'],
        'set-cookie': 'upstream_session=should-not-pass; Path=/',
        'strict-transport-security': 'max-age=63072000; includeSubDomains',
        'alt-svc': 'h3=":443"',
        connection: 'x-upstream-private',
        'x-upstream-private': 'hop',
        'keep-alive': 'timeout=5',
      },
    );
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    const handle =
      url.pathname === '/token' && req.method === 'POST'
        ? token(req, res)
        : url.pathname === '/me'
          ? (async () => {
              await readBody(req);
              const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
              const subject = bearer ? subjects.get(bearer) : undefined;
              if (!subject) return json(res, 401, { error: 'invalid_token' });
              json(res, 200, { id: subject, email: `${subject}@example.test`, name: `User ${subject}` });
            })()
          : url.pathname.startsWith('/api/')
            ? api(req, res, url)
            : Promise.resolve(json(res, 404, { error: 'not_found' }));
    handle.catch(() => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  upstream.providersDir = mkdtempSync(join(tmpdir(), 'gatehouse-proxy-providers-'));
  const entry = (id: string, proxyBase: string, extra: Record<string, unknown> = {}) => ({
    id,
    name: `Test ${id}`,
    categories: ['storage'],
    authorizationUrl: `${upstream.base}/authorize`,
    tokenUrl: `${upstream.base}/token`,
    scopes: { default: ['files'] },
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    identity: { source: 'profile', url: `${upstream.base}/me`, id: 'id', email: 'email', name: 'name' },
    proxy: { baseUrl: proxyBase },
    ...extra,
  });
  writeFileSync(join(upstream.providersDir, 'test-api.json'), JSON.stringify(entry('test-api', `${upstream.base}/api`)));
  writeFileSync(
    join(upstream.providersDir, 'test-tenant.json'),
    JSON.stringify(entry('test-tenant', 'http://{tenant}.invalid/api', { templateParams: ['tenant'] })),
  );
  const { proxy: _none, ...noProxy } = entry('test-noproxy', '');
  writeFileSync(join(upstream.providersDir, 'test-noproxy.json'), JSON.stringify(noProxy));
  return upstream;
}
