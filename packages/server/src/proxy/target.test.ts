import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors.ts';
import { upstreamRequestHeaders, callerResponseHeaders } from './headers.ts';
import { checkBase, rawTargetUrl, targetUrl } from './target.ts';
import { retryDelay, RETRY_AFTER_CAP_MS } from './forward.ts';

const base = checkBase('https://api.example.com/v2/', false);

const refused = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe('invalid_request');
    return (err as GatehouseError).description;
  }
  throw new Error('not refused');
};

describe('proxy target (SSRF guard)', () => {
  it('builds URLs below the base, keeping the path and query as sent', () => {
    expect(targetUrl(base, 'files/a%20b/group%2Fproject', 'q=x%20y&n=1').href).toBe(
      'https://api.example.com/v2/files/a%20b/group%2Fproject?q=x%20y&n=1',
    );
    expect(targetUrl(base, '', '').href).toBe('https://api.example.com/v2/');
    expect(targetUrl(base, 'users/alice%40example.com', '').pathname).toBe('/v2/users/alice%40example.com');
    expect(targetUrl(checkBase('https://api.example.com', false), 'x', '').href).toBe('https://api.example.com/x');
  });

  it.each([
    ['..', 'parent'],
    ['../admin', 'parent'],
    ['files/../../admin', 'parent, deeper'],
    ['%2e%2e/admin', 'encoded dots'],
    ['%2E%2E/admin', 'encoded dots, upper case'],
    ['.%2e/admin', 'mixed'],
    ['./x', 'dot segment'],
    ['..%2Fadmin', 'dots inside an encoded slash'],
    ['files/..%5cadmin', 'dots inside an encoded backslash'],
    ['files\\..\\admin', 'backslashes'],
    ['/evil.example/x', 'a leading slash (//host)'],
    ['files//x', 'an empty segment'],
    ['https://evil.example/x', 'an absolute URL'],
    ['https:evil.example', 'a scheme'],
    ['@evil.example/x', 'userinfo-like @'],
    ['x@evil.example', '@ in a segment'],
    ['%00/x', 'an encoded NUL'],
    ['a%0d%0aHost:%20evil', 'encoded CRLF'],
    ['%zz', 'bad percent-encoding'],
  ])('refuses %j (%s)', (path) => {
    refused(() => targetUrl(base, path, ''));
  });

  it('any path either is refused as invalid_request or stays below the base (property)', () => {
    const piece = fc.constantFrom('.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '/', '//', '\\', '@', ':', '%40', '%00', '%', '?', '#', 'a', 'files', 'evil.example', 'https:', '%252e', ';', ' ');
    const path = fc.oneof(fc.array(piece, { maxLength: 12 }).map((p) => p.join('')), fc.string({ maxLength: 30 }));
    const query = fc.oneof(fc.constant(''), fc.string({ maxLength: 20 }), fc.array(piece, { maxLength: 6 }).map((p) => p.join('')));
    fc.assert(
      fc.property(path, query, (p, q) => {
        let url: URL;
        try {
          url = targetUrl(base, p, q);
        } catch (err) {
          return err instanceof GatehouseError && err.code === 'invalid_request';
        }
        const again = new URL(url.href); // what the HTTP client parses
        const segments = again.pathname.split('/').map((s) => decodeURIComponent(s));
        return (
          again.origin === 'https://api.example.com' &&
          again.pathname.startsWith('/v2/') &&
          !again.username &&
          !segments.some((s) => s.split(/[/\\]/).some((x) => x === '..' || x === '.'))
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('raw form: a path below the base, or a full URL below it', () => {
    expect(rawTargetUrl(base, '/files?x=1').href).toBe('https://api.example.com/v2/files?x=1');
    expect(rawTargetUrl(base, 'files').href).toBe('https://api.example.com/v2/files');
    expect(rawTargetUrl(base, 'https://API.example.com:443/v2/files/1?y=2').href).toBe('https://api.example.com/v2/files/1?y=2');
  });

  it.each([
    'https://evil.example/v2/files',
    'http://api.example.com/v2/files',
    'https://api.example.com/v2/../admin',
    'https://api.example.com/v2/%2e%2e/admin',
    'https://api.example.com/v2x/files',
    'https://api.example.com/admin',
    'https://user:pw@api.example.com/v2/files',
    'https://api.example.com.evil.example/v2/files',
    '//evil.example/v2/files',
    '../admin',
    'javascript:alert(1)',
  ])('raw form refuses %j', (raw) => {
    refused(() => rawTargetUrl(base, raw));
  });

  it('a base must be https unless insecure upstreams are allowed, without credentials or query', () => {
    refused(() => checkBase('http://api.example.com', false));
    expect(checkBase('http://127.0.0.1:8080/api', true)).toEqual({ origin: 'http://127.0.0.1:8080', prefix: '/api' });
    refused(() => checkBase('https://u:p@api.example.com', false));
    refused(() => checkBase('https://api.example.com/?a=1', false));
    refused(() => checkBase('file:///etc/passwd', true));
  });
});

describe('proxy header hygiene', () => {
  it('drops credentials, hop-by-hop fields (and those Connection names), Host, Expect and Gatehouse-*', () => {
    const out = upstreamRequestHeaders(
      {
        authorization: 'Bearer ghk_x',
        cookie: 'a=b',
        connection: 'keep-alive, X-Private',
        'x-private': '1',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic x',
        te: 'trailers',
        trailer: 'x-sum',
        'transfer-encoding': 'chunked',
        upgrade: 'websocket',
        host: 'gatehouse.example',
        expect: '100-continue',
        'gatehouse-retries': '2',
        'x-raw-uri': '/x',
        accept: 'application/json',
        'content-type': 'text/plain',
        'x-custom': ['a', 'b'],
      },
      ['x-raw-uri'],
    );
    expect(out).toEqual({ accept: 'application/json', 'content-type': 'text/plain', 'x-custom': ['a', 'b'], via: '1.1 gatehouse' });
  });

  it('passes response headers back except hop-by-hop ones and those that would speak for Gatehouse\'s origin', () => {
    expect(
      callerResponseHeaders({
        'content-type': 'application/json',
        'set-cookie': ['s=1'],
        'strict-transport-security': 'max-age=63072000; includeSubDomains',
        'alt-svc': 'h3=":443"',
        'clear-site-data': '"*"',
        'content-security-policy': "script-src 'unsafe-inline'",
        connection: 'x-hop',
        'x-hop': '1',
        'transfer-encoding': 'chunked',
        'retry-after': '7',
        etag: '"1"',
      }),
    ).toEqual({ 'content-type': 'application/json', 'retry-after': '7', etag: '"1"', via: '1.1 gatehouse' });
    expect(callerResponseHeaders({ via: '1.1 cdn' }).via).toBe('1.1 cdn, 1.1 gatehouse');
  });
});

describe('proxy retry delay', () => {
  it("honours Retry-After up to the cap, and backs off exponentially otherwise", () => {
    expect(retryDelay(0, '2')).toBe(2000);
    expect(retryDelay(0, String(RETRY_AFTER_CAP_MS / 1000 + 1))).toBeUndefined();
    expect(retryDelay(0, new Date(Date.now() + 60_000).toUTCString())).toBeUndefined();
    const first = retryDelay(0, undefined)!;
    const third = retryDelay(2, undefined)!;
    expect(first).toBeGreaterThanOrEqual(200);
    expect(third).toBeGreaterThanOrEqual(800);
  });
});
