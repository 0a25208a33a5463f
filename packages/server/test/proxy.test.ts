import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { freshAccessToken } from '../src/accounts/index.ts';
import { send, useProxyHarness } from './support/proxy-harness.ts';
import { STORE_KINDS } from './support/stores.ts';

/** The provider proxy's forwarding: headers, bodies, refresh-and-replay, retries, timeouts. Access rules are in proxy-access.test.ts. */
describe.each(STORE_KINDS)('provider proxy on %s', (kind) => {
  const h = useProxyHarness(kind);
  const { newApp, connect, proxyUrl } = h;

  it('injects the upstream token, strips the caller\'s credentials, hop-by-hop and Gatehouse-* headers, forwards status and headers back', async () => {
    const app = await newApp();
    const account = await connect(app);
    const before = h.upstream.calls.length;
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
    expect(h.upstream.calls.length).toBe(before + 1);
    const received = h.upstream.calls.at(-1)!;
    expect(received.method).toBe('POST');
    expect(received.url).toBe('/api/echo?status=201&q=a%20b');
    expect(received.headers.authorization).toBe(`Bearer ${account.access}`);
    expect(received.headers.host).toBe(new URL(h.upstream.base).host);
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
    // whatever it claims to be, a provider's answer runs nothing on Gatehouse's origin
    expect(answer.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; sandbox");
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect(answer.headers['x-upstream-private']).toBeUndefined();
    expect(answer.headers['strict-transport-security']).toBeUndefined();
    expect(answer.headers['alt-svc']).toBeUndefined();
  });

  it("a provider's HTML runs nothing on Gatehouse's origin: its CSP and Clear-Site-Data are replaced by a sandbox", async () => {
    const app = await newApp();
    const account = await connect(app);
    const page = await send(proxyUrl(account.id, 'page'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html');
    expect(page.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; sandbox");
    expect(page.headers['clear-site-data']).toBeUndefined();
    // it said nothing of caching: nothing may keep it
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('passes the path and query through as sent, percent-encoding included', async () => {
    const app = await newApp();
    const account = await connect(app);
    const answer = await send(proxyUrl(account.id, 'files/a%20b/group%2Fproject/alice%40example.com?list=1&list=2&q=x%2By'), 'GET', {
      authorization: `Bearer ${app.key}`,
    });
    expect(answer.status).toBe(200);
    expect(h.upstream.calls.at(-1)!.url).toBe('/api/files/a%20b/group%2Fproject/alice%40example.com?list=1&list=2&q=x%2By');
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
    const { hostname, port } = new URL(h.gatehouse.url);
    let abandoned = h.upstream.abandoned();
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
    expect(await until(() => h.upstream.abandoned() > abandoned)).toBe(true);
    // gone while the provider has not answered yet
    abandoned = h.upstream.abandoned();
    const waiting = httpRequest({ hostname, port, path: `/v1/accounts/${account.id}/proxy/hang`, headers: { authorization: `Bearer ${app.key}` }, agent: false });
    waiting.on('error', () => {});
    waiting.end();
    await until(() => h.upstream.calls.at(-1)?.url === '/api/hang');
    waiting.destroy();
    expect(await until(() => h.upstream.abandoned() > abandoned)).toBe(true);
  });

  it('upstream 401: one forced refresh, the request is replayed with the new token and succeeds', async () => {
    const app = await newApp();
    const account = await connect(app);
    h.upstream.revokeAccessTokens(account.subject);
    const grants = h.upstream.refreshGrants();
    const before = h.upstream.calls.length;
    const answer = await send(proxyUrl(account.id, 'echo'), 'POST', { authorization: `Bearer ${app.key}`, 'content-type': 'text/plain' }, 'replay me');
    expect(answer.status).toBe(200);
    expect(h.upstream.refreshGrants()).toBe(grants + 1);
    const [refused, replayed] = h.upstream.calls.slice(before);
    expect(refused!.headers.authorization).toBe(`Bearer ${account.access}`);
    expect(replayed!.headers.authorization).not.toBe(`Bearer ${account.access}`);
    expect(replayed!.bodyBytes).toBe('replay me'.length);
    expect(JSON.parse(answer.text).body).toBe('replay me');
    const stored = await freshAccessToken(h.gatehouse.services, app.id, account.id);
    expect(replayed!.headers.authorization).toBe(`Bearer ${stored.accessToken}`);
  });

  it('upstream 401 on a streamed (large) body: the 401 goes back, the token is refreshed for the next call', async () => {
    const app = await newApp();
    const account = await connect(app);
    h.upstream.revokeAccessTokens(account.subject);
    const grants = h.upstream.refreshGrants();
    const big = randomBytes(200 * 1024);
    const first = await send(proxyUrl(account.id, 'upload'), 'POST', { authorization: `Bearer ${app.key}`, 'content-length': String(big.length) }, big);
    expect(first.status).toBe(401);
    expect(h.upstream.refreshGrants()).toBe(grants + 1);
    const second = await send(proxyUrl(account.id, 'upload'), 'POST', { authorization: `Bearer ${app.key}`, 'content-length': String(big.length) }, big);
    expect(second.status).toBe(200);
    expect(JSON.parse(second.text).bytes).toBe(big.length);
  });

  it('a chunked answer: whole in one piece when it arrived at once, streamed when it comes slowly or is large, 502 when it breaks off', async () => {
    const app = await newApp();
    const account = await connect(app);
    const auth = { authorization: `Bearer ${app.key}` };
    const expected = (parts: number, size: number) => Array.from({ length: parts }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(size)).join('');
    const small = await send(proxyUrl(account.id, 'chunked?parts=3&size=10'), 'GET', auth);
    expect(small.status).toBe(200);
    expect(small.text).toBe(expected(3, 10));
    expect(small.headers['content-length']).toBe('30');
    const slow = await send(proxyUrl(account.id, 'chunked?parts=3&size=10&gapMs=30'), 'GET', auth);
    expect(slow.status).toBe(200);
    expect(slow.text).toBe(expected(3, 10));
    expect(slow.headers['transfer-encoding']).toBe('chunked');
    const large = await send(proxyUrl(account.id, 'chunked?parts=20&size=8192'), 'GET', auth);
    expect(large.status).toBe(200);
    expect(large.text).toBe(expected(20, 8192));
    // broken off: a 502 when it broke before anything went to the caller, else the caller's answer is cut too
    const cut = await send(proxyUrl(account.id, 'chunked?parts=3&size=10&cut'), 'GET', auth).then(
      (answer) => `${answer.status} ${answer.status === 502 ? JSON.parse(answer.text).error : answer.text}`,
      (err: Error) => err.message,
    );
    expect(['502 upstream_error', 'aborted']).toContain(cut);
  });

  it('an interim 103 from the provider is skipped: the caller gets the final answer', async () => {
    const app = await newApp();
    const account = await connect(app);
    const answer = await send(proxyUrl(account.id, 'hinted'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ hinted: true });
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
    const db = h.gatehouse.services.db;
    await db.updateTable('account_tokens').set({ expires_at: Date.now() - 1000, refresh_retry_at: Date.now() + 60_000, refresh_error: 'HTTP 500' }).where('account_id', '=', account.id).execute();
    const backoff = await send(proxyUrl(account.id, 'echo'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(backoff.status).toBe(424);
    expect(JSON.parse(backoff.text).error).toBe('upstream_backoff');
    await db.updateTable('accounts').set({ status: 'needs_reauth' }).where('id', '=', account.id).execute();
    const reauth = await send(proxyUrl(account.id, 'echo'), 'GET', { authorization: `Bearer ${app.key}` });
    expect(reauth.status).toBe(409);
    expect(JSON.parse(reauth.text).error).toBe('needs_reauth');
  });
});
