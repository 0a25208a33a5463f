import { fillTemplate, TemplateError, type ProviderEntry } from '../catalog/index.ts';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { findIntegration, fromJson, type AccountRow } from '../store/index.ts';

/** A provider API base the proxy may call below: its origin and its path prefix (no trailing slash). */
export interface ProxyBase {
  origin: string;
  prefix: string;
}

// A template value in a proxy base names one host label, nothing more: no dot (it could move the
// call to another domain: "evil.com#"), no port, no path.
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

const outside = (why: string) => fail(ErrorCode.invalidRequest, `the proxied path must stay below the provider's API base URL: ${why}`);

/** Checks a filled-in base URL: http(s) only (http only when insecure upstreams are allowed), no credentials, query or fragment. */
export function checkBase(raw: string, allowInsecure: boolean): ProxyBase {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail(ErrorCode.invalidRequest, "the provider's proxy base URL is not a URL");
  }
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && allowInsecure);
  if (!schemeOk) fail(ErrorCode.invalidRequest, "the provider's proxy base URL must be https");
  if (url.username || url.password || url.search || url.hash) {
    fail(ErrorCode.invalidRequest, "the provider's proxy base URL must not carry credentials, a query or a fragment");
  }
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/**
 * The values an account's proxy base is filled with: the account's own template values, else the
 * integration's (one read of the integration). Empty for a base without {placeholders}.
 */
export async function templateValues(services: Services, account: AccountRow, entry: ProviderEntry): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  if (!entry.templateParams?.length) return values;
  const integration = await findIntegration(services.db, account.app_id, entry.id);
  const params = fromJson<{ params?: Record<string, string> }>(integration?.settings ?? '{}', {}).params ?? {};
  const own = fromJson<Record<string, string>>(account.template_values, {});
  for (const name of entry.templateParams) {
    const value = own[name] ?? params[name];
    if (value !== undefined && !LABEL.test(value)) fail(ErrorCode.invalidRequest, `the account's "${name}" is not a single host name label`);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

// Checked bases by filled-in URL: a provider's base is the same string on every proxied call.
const checkedBases = new Map<string, { allowInsecure: boolean; base: ProxyBase }>();
const MAX_CHECKED_BASES = 1000;

/**
 * A catalog entry's proxy base: its `proxy.baseUrl` with `{placeholders}` filled from `values`
 * (templateValues; each a single DNS label), then checked (checkBase).
 */
export function proxyBase(entry: ProviderEntry, values: Record<string, string>, allowInsecure: boolean): ProxyBase {
  const template = entry.proxy?.baseUrl ?? fail(ErrorCode.invalidRequest, `provider "${entry.id}" has no API proxy (its catalog entry has no proxy.baseUrl)`);
  let filled = template;
  if (template.includes('{')) {
    try {
      filled = fillTemplate(template, values);
    } catch (err) {
      if (err instanceof TemplateError) return fail(ErrorCode.invalidRequest, `the provider's proxy base URL cannot be built: ${err.message}`);
      throw err;
    }
  }
  const known = checkedBases.get(filled);
  if (known && known.allowInsecure === allowInsecure) return known.base;
  const base = checkBase(filled, allowInsecure);
  if (checkedBases.size >= MAX_CHECKED_BASES) checkedBases.clear();
  checkedBases.set(filled, { allowInsecure, base });
  return base;
}

function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return outside('a segment is not valid percent-encoding');
  }
}

/**
 * The upstream URL for a path below the base (as sent, still percent-encoded, no leading slash)
 * and a raw query. Refused: backslashes, control characters, `@` (send %40), empty segments
 * (`//host`), a scheme (`https:`), and `.`/`..` segments in any encoding, including inside an
 * encoded slash (`..%2F`); the result is checked again after URL parsing.
 */
export function targetUrl(base: ProxyBase, path: string, query: string): URL {
  if (/[\x00-\x20\x7f\\?#]/.test(path)) outside('no spaces, control characters, backslashes, "?" or "#" in the path');
  if (path.includes('@')) outside('"@" must be sent percent-encoded (%40)');
  if (path.startsWith('/') || path.includes('//')) outside('no empty path segments');
  if (SCHEME.test(path)) outside('no absolute URLs');
  for (const segment of path.split('/')) {
    if (segment.includes('%')) {
      const decoded = decodedSegment(segment);
      if (/[\x00-\x1f\x7f]/.test(decoded)) outside('no encoded control characters');
      if (decoded.split(/[/\\]/).some((piece) => piece === '.' || piece === '..')) outside('no "." or ".." segments');
    } else if (segment === '.' || segment === '..') {
      // nothing encoded: no control character, slash or backslash can be in it (refused above)
      outside('no "." or ".." segments');
    }
  }
  if (/[\x00-\x1f\x7f]/.test(query)) outside('no control characters in the query');
  const url = new URL(`${base.origin}${base.prefix}/${path}${query ? `?${query}` : ''}`);
  if (query.includes('#')) url.hash = ''; // the only place a fragment can come from
  if (url.origin !== base.origin || url.username || url.password || !url.pathname.startsWith(`${base.prefix}/`)) {
    outside('the URL left the base');
  }
  return url;
}

/**
 * The upstream URL of Kloudless' raw form (`X-Raw-URI`): a path below the base (one leading
 * slash allowed) with an optional query, or a full URL that lies below the base.
 */
export function rawTargetUrl(base: ProxyBase, raw: string): URL {
  let rest = raw;
  if (SCHEME.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return outside('X-Raw-URI is not a URL');
    }
    if (url.origin !== base.origin || url.username || url.password || !url.pathname.startsWith(`${base.prefix}/`)) {
      return outside('X-Raw-URI names another host or a path outside the base');
    }
    // dot segments are already resolved here; the path is checked once more below
    rest = url.pathname.slice(base.prefix.length + 1) + url.search;
  } else if (rest.startsWith('/')) {
    rest = rest.slice(1);
  }
  const q = rest.indexOf('?');
  return q < 0 ? targetUrl(base, rest, '') : targetUrl(base, rest.slice(0, q), rest.slice(q + 1));
}
