import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ProviderEntrySchema, type ProviderEntry, type Category } from './schema.ts';

const checkEntry = TypeCompiler.Compile(ProviderEntrySchema);
export const BUILTIN_PROVIDERS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'providers');
/** Entries for development only (the offline sandbox); `{sandbox_url}` is filled in at load time. */
export const DEV_PROVIDERS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dev');
export const SANDBOX_URL_PLACEHOLDER = '{sandbox_url}';

/** `{issuer}` as the whole issuer means: the integration supplies the issuer (generic OIDC). */
export const ISSUER_FROM_INTEGRATION = '{issuer}';
const URL_FIELDS = ['issuer', 'authorizationUrl', 'tokenUrl', 'revocationUrl', 'userinfoUrl'] as const;

export class CatalogError extends Error {
  override name = 'CatalogError';
}

export interface Catalog {
  get(id: string): ProviderEntry | undefined;
  list(filter?: { category?: Category | string }): ProviderEntry[];
  /** Finds an entry by id or alias (the scope grammar's service names). */
  byService(name: string): ProviderEntry | undefined;
}

function placeholders(value: string): string[] {
  return [...value.matchAll(/\{([a-zA-Z][a-zA-Z0-9_]*)\}/g)].map((m) => m[1]!);
}

/** Checks one parsed entry beyond its JSON schema; returns the problems found. */
export function entryProblems(entry: ProviderEntry, allowInsecure: boolean): string[] {
  const problems: string[] = [];
  const declared = new Set(entry.templateParams ?? []);
  for (const field of URL_FIELDS) {
    const value = entry[field];
    if (value === undefined) continue;
    if (field === 'issuer' && value === ISSUER_FROM_INTEGRATION) continue;
    for (const name of placeholders(value)) {
      if (!declared.has(name)) problems.push(`${field} uses {${name}} which is not in templateParams`);
    }
    const probe = value.replace(/\{[a-zA-Z0-9_]+\}/g, 'x');
    let url: URL;
    try {
      url = new URL(probe);
    } catch {
      problems.push(`${field} is not an absolute URL`);
      continue;
    }
    if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:')) {
      problems.push(`${field} must use https`);
    }
  }
  for (const extra of [entry.identity.url, entry.proxy?.baseUrl]) {
    if (extra) for (const name of placeholders(extra)) if (!declared.has(name)) problems.push(`{${name}} is not in templateParams`);
  }
  if (!entry.issuer && !(entry.authorizationUrl && entry.tokenUrl)) {
    problems.push('needs an issuer (OIDC discovery) or both authorizationUrl and tokenUrl');
  }
  if (entry.identity.source === 'profile' && !entry.identity.url) {
    problems.push('identity.source "profile" needs identity.url');
  }
  if (entry.identity.source === 'userinfo' && !entry.userinfoUrl && !entry.issuer) {
    problems.push('identity.source "userinfo" needs userinfoUrl or an issuer');
  }
  return problems;
}

function readEntries(dir: string, allowInsecure: boolean, fill: (text: string) => string = (text) => text): ProviderEntry[] {
  const entries: ProviderEntry[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const path = join(dir, file);
    let raw: unknown;
    try {
      raw = JSON.parse(fill(readFileSync(path, 'utf8')));
    } catch (err) {
      throw new CatalogError(`${path}: not valid JSON (${(err as Error).message})`);
    }
    if (!checkEntry.Check(raw)) {
      const first = checkEntry.Errors(raw).First();
      throw new CatalogError(`${path}: ${first?.path || '/'} ${first?.message ?? 'invalid'}`);
    }
    if (raw.id !== basename(file, '.json')) {
      throw new CatalogError(`${path}: id "${raw.id}" must equal the file name`);
    }
    const problems = entryProblems(raw, allowInsecure);
    if (problems.length > 0) throw new CatalogError(`${path}: ${problems.join('; ')}`);
    entries.push(raw);
  }
  return entries;
}

export interface LoadCatalogOptions {
  /** The operator's own entries (GATEHOUSE_PROVIDERS_DIR); an entry there replaces a built-in one. */
  extraDir?: string | undefined;
  /** Development mode: http:// upstream URLs are accepted. */
  allowInsecure?: boolean;
  builtinDir?: string;
  /**
   * Where the offline sandbox provider runs (development only): when set, the `sandbox-drive`
   * entry joins the catalog with its URLs under this origin.
   */
  sandboxUrl?: string | undefined;
}

/** Loads and validates the built-in entries plus the operator's; throws CatalogError naming the file. */
export function loadCatalog(options: LoadCatalogOptions = {}): Catalog {
  const allowInsecure = options.allowInsecure ?? false;
  const byId = new Map<string, ProviderEntry>();
  for (const entry of readEntries(options.builtinDir ?? BUILTIN_PROVIDERS_DIR, allowInsecure)) byId.set(entry.id, entry);
  if (options.sandboxUrl) {
    const url = JSON.stringify(options.sandboxUrl.replace(/\/+$/, '')).slice(1, -1);
    for (const entry of readEntries(DEV_PROVIDERS_DIR, allowInsecure, (text) => text.replaceAll(SANDBOX_URL_PLACEHOLDER, url))) byId.set(entry.id, entry);
  }
  if (options.extraDir) {
    if (!existsSync(options.extraDir)) throw new CatalogError(`${options.extraDir}: providers folder does not exist`);
    for (const entry of readEntries(options.extraDir, allowInsecure)) byId.set(entry.id, entry);
  }
  const byAlias = new Map<string, ProviderEntry>();
  for (const entry of byId.values()) for (const alias of entry.aliases ?? []) byAlias.set(alias, entry);
  const sorted = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  return {
    get: (id) => byId.get(id),
    byService: (name) => byId.get(name) ?? byAlias.get(name),
    list: (filter) =>
      filter?.category ? sorted.filter((e) => (e.categories as string[]).includes(filter.category!)) : sorted,
  };
}
