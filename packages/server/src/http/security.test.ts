import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PAGE_CSP, secureResponses } from './security.ts';

const API_CSP = "default-src 'none'; frame-ancestors 'none'";
let server: Server | undefined;

/** A plain Node server with Gatehouse's response class, answering one request with `listener`. */
async function headersOf(listener: RequestListener, hsts = false): Promise<Headers> {
  server = createServer({ ServerResponse: secureResponses({ hsts }) }, listener);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}/`);
  await response.arrayBuffer();
  return response.headers;
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe('secureResponses', () => {
  it('adds every header to a head given as an object (as Fastify gives it)', async () => {
    const headers = await headersOf((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(headers.get('content-security-policy')).toBe(API_CSP);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(headers.get('pragma')).toBe('no-cache');
    expect(headers.get('strict-transport-security')).toBeNull();
  });

  it('adds them to a body written without a head of its own, and gives an HTML page the page CSP', async () => {
    const headers = await headersOf((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<p>hi</p>');
    });
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(headers.get('cache-control')).toBe('no-store');
  });

  it("keeps a route's own CSP, resource policy and caching, whether set before the head or in it, with a status message", async () => {
    const headers = await headersOf((_req, res) => {
      res.setHeader('content-security-policy', "default-src 'none'; sandbox");
      res.writeHead(200, 'Fine', { 'cache-control': 'public, max-age=60', 'cross-origin-resource-policy': 'cross-origin' }).end('x');
    });
    expect(headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(headers.get('cache-control')).toBe('public, max-age=60');
    expect(headers.get('pragma')).toBeNull();
    expect(headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('adds HSTS when the base URL is https', async () => {
    const headers = await headersOf((_req, res) => res.writeHead(204).end(), true);
    expect(headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });
});
