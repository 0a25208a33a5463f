import type { IncomingHttpHeaders } from 'node:http';

export type HeaderMap = Record<string, string | string[]>;

/** RFC 9110 §7.6.3: what this gateway adds to Via, both ways; a caller tells a provider's answer from Gatehouse's own by it. */
export const VIA = '1.1 gatehouse';

const withVia = (value: string | string[] | undefined) => (value === undefined ? VIA : `${([] as string[]).concat(value).join(', ')}, ${VIA}`);

/** RFC 9110 §7.6.1 connection-specific fields, plus the old Keep-Alive/Proxy-Connection. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const NONE_NAMED: ReadonlySet<string> = new Set();

/** The field names the Connection header lists as hop-by-hop. */
function connectionNamed(headers: IncomingHttpHeaders | Record<string, unknown>): ReadonlySet<string> {
  const value = headers.connection;
  // the usual values name nothing beyond what is hop-by-hop anyway
  if (value === undefined || value === 'keep-alive' || value === 'close') return NONE_NAMED;
  const list = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  return new Set(
    list
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
}

const isHopByHop = (name: string, named: ReadonlySet<string>) => HOP_BY_HOP.has(name) || name.startsWith('proxy-') || named.has(name);

/**
 * The caller's headers as the provider may see them (Via added): without its credentials (Authorization,
 * Cookie), hop-by-hop fields, Host (set from the target URL), Expect, and Gatehouse's own
 * (`Gatehouse-*`, and any named in `drop`, e.g. X-Raw-URI).
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, drop: string[] = []): HeaderMap {
  const named = connectionNamed(incoming);
  const out: HeaderMap = {};
  for (const name of Object.keys(incoming)) {
    const value = incoming[name];
    if (value === undefined || isHopByHop(name, named)) continue;
    if (name === 'authorization' || name === 'cookie' || name === 'host' || name === 'expect') continue;
    if (name.startsWith('gatehouse-') || drop.includes(name)) continue;
    out[name] = value;
  }
  out.via = withVia(incoming.via);
  return out;
}

/**
 * Response fields that speak for the origin that serves them: passed on, they would speak for
 * Gatehouse's (a provider session cookie, its HSTS or Alt-Svc policy, an order to clear the
 * browser's data, its CSP); Gatehouse sets its own CSP instead.
 */
const ORIGIN_SCOPED = new Set([
  'set-cookie',
  'set-cookie2',
  'strict-transport-security',
  'alt-svc',
  'clear-site-data',
  'content-security-policy',
  'content-security-policy-report-only',
]);

/**
 * The provider's response headers as the caller gets them (Via added): everything but hop-by-hop
 * fields and the origin-scoped ones above.
 */
export function callerResponseHeaders(upstream: Record<string, string | string[] | undefined>): HeaderMap {
  const named = connectionNamed(upstream);
  const out: HeaderMap = {};
  for (const name of Object.keys(upstream)) {
    const value = upstream[name];
    const lower = name.toLowerCase();
    if (value === undefined || isHopByHop(lower, named) || ORIGIN_SCOPED.has(lower)) continue;
    out[lower] = value;
  }
  out.via = withVia(out.via);
  return out;
}
