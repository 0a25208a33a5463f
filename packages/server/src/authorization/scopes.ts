import type { Catalog, ProviderEntry } from '../catalog/index.ts';
import { ErrorCode, fail } from '../errors.ts';

/** Gatehouse API rights an app's token may carry. */
export const API_RIGHTS = ['accounts:read', 'accounts:write', 'proxy', 'offline_access'] as const;
export type ApiRight = (typeof API_RIGHTS)[number];

/**
 * The scope grammar (see README):
 *   right      = accounts:read | accounts:write | proxy | offline_access
 *   category   = storage | calendar | crm | …           any provider of that category
 *   service    = gdrive | dropbox | <provider id/alias> one provider
 *   service.category = gdrive.storage                  one provider, as that category
 */
export interface ParsedScope {
  rights: Set<ApiRight>;
  /** Providers the scope lets an end user connect (empty: none named). */
  providers: Set<string>;
  tokens: string[];
}

export function splitScope(scope: string | undefined): string[] {
  return [...new Set((scope ?? '').split(' ').filter(Boolean))];
}

function providersOf(catalog: Catalog, token: string): ProviderEntry[] | undefined {
  const dot = token.indexOf('.');
  if (dot > 0) {
    const entry = catalog.byService(token.slice(0, dot));
    const category = token.slice(dot + 1);
    return entry && (entry.categories as string[]).includes(category) ? [entry] : undefined;
  }
  const entry = catalog.byService(token);
  if (entry) return [entry];
  const inCategory = catalog.list({ category: token });
  return inCategory.length > 0 ? inCategory : undefined;
}

/** Parses a scope string; an unknown token is invalid_scope. */
export function parseScope(catalog: Catalog, scope: string | string[]): ParsedScope {
  const tokens = Array.isArray(scope) ? scope : splitScope(scope);
  const parsed: ParsedScope = { rights: new Set(), providers: new Set(), tokens };
  for (const token of tokens) {
    if ((API_RIGHTS as readonly string[]).includes(token)) {
      parsed.rights.add(token as ApiRight);
      continue;
    }
    const entries = providersOf(catalog, token) ?? fail(ErrorCode.invalidScope, `unknown scope "${token}"`);
    for (const entry of entries) parsed.providers.add(entry.id);
  }
  return parsed;
}

/**
 * The scope a request gets: what it asked for, or the app's defaults when it asked for none;
 * every token must be in the app's allow-list.
 */
export function grantableScope(app: { scopes: string[]; defaultScopes: string[] }, requested: string | undefined): string[] {
  const tokens = requested === undefined || requested.trim() === '' ? app.defaultScopes : splitScope(requested);
  for (const token of tokens) {
    if (!app.scopes.includes(token)) fail(ErrorCode.invalidScope, `scope "${token}" is not allowed for this app`);
  }
  if (tokens.length === 0) fail(ErrorCode.invalidScope, 'no scope requested and the app has no default scopes');
  return tokens;
}
