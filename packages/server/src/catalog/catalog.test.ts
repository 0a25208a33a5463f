import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog, BUILTIN_PROVIDERS_DIR, CatalogError } from './loader.ts';
import { CATEGORIES } from './schema.ts';
import { resolveServer } from './resolve.ts';
import { REVOKE_HOOKS } from '../connect/hooks/index.ts';

const REQUIRED_IDS = [
  'google-drive',
  'google-calendar',
  'gmail',
  'microsoft-onedrive',
  'microsoft-outlook',
  'dropbox',
  'box',
  'github',
  'gitlab',
  'bitbucket',
  'slack',
  'discord',
  'salesforce',
  'hubspot',
  'zoom',
  'notion',
  'linear',
  'atlassian',
  'asana',
  'spotify',
  'linkedin',
  'figma',
  'zoho',
  'pipedrive',
  'xero',
  'quickbooks',
  'shopify',
  'oidc',
];

/** Every category except "sandbox", which is meant for local mock providers, not built-in ones. */
const COVERED_CATEGORIES = CATEGORIES.filter((c) => c !== 'sandbox');

describe('sandbox-drive (development only)', () => {
  it('is absent unless a sandbox URL is given (production mode gives none)', () => {
    expect(loadCatalog().get('sandbox-drive')).toBeUndefined();
    expect(loadCatalog().byService('sandbox')).toBeUndefined();
  });

  it('joins the catalog with its URLs under the sandbox URL, in category storage with alias sandbox', () => {
    const catalog = loadCatalog({ allowInsecure: true, sandboxUrl: 'http://127.0.0.1:4999/' });
    const entry = catalog.byService('sandbox');
    expect(entry?.id).toBe('sandbox-drive');
    expect(entry?.issuer).toBe('http://127.0.0.1:4999');
    expect(entry?.proxy?.baseUrl).toBe('http://127.0.0.1:4999/drive');
    expect(catalog.list({ category: 'storage' }).map((e) => e.id)).toContain('sandbox-drive');
  });
});

describe('built-in provider catalog', () => {
  const catalog = loadCatalog();

  it('loads at least 30 entries, one per JSON file', () => {
    const files = readdirSync(BUILTIN_PROVIDERS_DIR).filter((f) => f.endsWith('.json'));
    expect(catalog.list().length).toBeGreaterThanOrEqual(30);
    expect(catalog.list()).toHaveLength(files.length);
  });

  it('has every required provider', () => {
    const missing = REQUIRED_IDS.filter((id) => catalog.get(id) === undefined);
    expect(missing).toEqual([]);
  });

  it.each(COVERED_CATEGORIES)('has at least one entry in category %s', (category) => {
    expect(catalog.list({ category }).length).toBeGreaterThan(0);
  });

  it('lists the storage providers', () => {
    const ids = catalog.list({ category: 'storage' }).map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining(['google-drive', 'dropbox', 'box', 'microsoft-onedrive']));
  });

  it('resolves service aliases', () => {
    expect(catalog.byService('gdrive')?.id).toBe('google-drive');
    expect(catalog.byService('gcal')?.id).toBe('google-calendar');
    expect(catalog.byService('onedrive')?.id).toBe('microsoft-onedrive');
    expect(catalog.byService('github')?.id).toBe('github');
    expect(catalog.byService('no-such-service')).toBeUndefined();
  });

  it('does not give one alias to two entries, nor an alias equal to another id', () => {
    const seen = new Map<string, string>();
    for (const entry of catalog.list()) {
      for (const alias of entry.aliases ?? []) {
        expect(seen.get(alias), `alias ${alias}`).toBeUndefined();
        expect(catalog.get(alias), `alias ${alias} is also an id`).toBeUndefined();
        seen.set(alias, entry.id);
      }
    }
  });

  it('templates Shopify by shop subdomain', () => {
    const shopify = catalog.get('shopify');
    expect(shopify?.templateParams).toEqual(['subdomain']);
    expect(shopify?.authorizationUrl).toBe('https://{subdomain}.myshopify.com/admin/oauth/authorize');
  });

  it('leaves the generic OIDC issuer to the integration', () => {
    const oidc = catalog.get('oidc');
    expect(oidc?.issuer).toBe('{issuer}');
    expect(oidc?.categories).toEqual(['identity']);
    expect(oidc?.identity.source).toBe('id_token');
    expect(oidc?.scopes.default).toEqual(['openid', 'email', 'profile', 'offline_access']);
  });

  it('resolves every entry without an issuer to endpoints (no discovery needed)', async () => {
    for (const entry of catalog.list().filter((e) => e.issuer === undefined)) {
      const templateValues = Object.fromEntries((entry.templateParams ?? []).map((name) => [name, 'example-shop']));
      const server = await resolveServer(entry, { templateValues, allowInsecure: false });
      expect(server.as.authorization_endpoint, entry.id).toMatch(/^https:\/\//);
      expect(server.as.token_endpoint, entry.id).toMatch(/^https:\/\//);
      if (entry.identity.source === 'profile') expect(server.profileUrl, entry.id).toMatch(/^https:\/\/[^{}]+$/);
      if (entry.proxy) expect(server.proxyBaseUrl, entry.id).toMatch(/^https:\/\/[^{}]+$/);
    }
  });

  it('describes every default scope', () => {
    for (const entry of catalog.list()) {
      for (const scope of entry.scopes.default) {
        expect(entry.scopes.descriptions?.[scope], `${entry.id}: ${scope}`).toBeTruthy();
      }
    }
  });

  it('names only revoke hooks that exist, and no revocation URL alongside one', () => {
    const hooked = catalog.list().filter((e) => e.hooks?.revoke !== undefined);
    expect(hooked.map((e) => e.id).sort()).toEqual(['dropbox', 'github']);
    for (const entry of hooked) {
      expect(Object.keys(REVOKE_HOOKS)).toContain(entry.hooks!.revoke);
      expect(entry.revocationUrl, entry.id).toBeUndefined();
    }
  });
});

describe('operator entries (extraDir)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function operatorDir(files: Record<string, unknown>): string {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-catalog-'));
    dirs.push(dir);
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    }
    return dir;
  }

  function entry(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      id,
      name: 'Acme',
      categories: ['sandbox'],
      authorizationUrl: 'https://acme.example/authorize',
      tokenUrl: 'https://acme.example/token',
      scopes: { default: ['read'] },
      pkce: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      identity: { source: 'profile', url: 'https://acme.example/me', id: 'id' },
      ...overrides,
    };
  }

  it('adds an operator entry to the built-in ones', () => {
    const catalog = loadCatalog({ extraDir: operatorDir({ 'acme.json': entry('acme') }) });
    expect(catalog.get('acme')?.name).toBe('Acme');
    expect(catalog.get('github')).toBeDefined();
    expect(catalog.list({ category: 'sandbox' }).map((e) => e.id)).toEqual(['acme']);
  });

  it('rejects an http:// URL unless insecure URLs are allowed', () => {
    const dir = operatorDir({ 'acme.json': entry('acme', { tokenUrl: 'http://localhost:8080/token' }) });
    expect(() => loadCatalog({ extraDir: dir, allowInsecure: false })).toThrow(CatalogError);
    expect(() => loadCatalog({ extraDir: dir, allowInsecure: false })).toThrow(/acme\.json: tokenUrl must use https/);
    const catalog = loadCatalog({ extraDir: dir, allowInsecure: true });
    expect(catalog.get('acme')?.tokenUrl).toBe('http://localhost:8080/token');
  });

  it('rejects a placeholder that is not declared in templateParams', () => {
    const dir = operatorDir({
      'acme.json': entry('acme', { authorizationUrl: 'https://{tenant}.acme.example/authorize' }),
    });
    expect(() => loadCatalog({ extraDir: dir })).toThrow(/acme\.json: .*\{tenant\}.*templateParams/);
  });

  it('accepts a placeholder that is declared in templateParams', () => {
    const dir = operatorDir({
      'acme.json': entry('acme', {
        authorizationUrl: 'https://{tenant}.acme.example/authorize',
        templateParams: ['tenant'],
      }),
    });
    expect(loadCatalog({ extraDir: dir }).get('acme')?.templateParams).toEqual(['tenant']);
  });

  it('rejects an id that differs from the file name', () => {
    const dir = operatorDir({ 'acme.json': entry('acme-corp') });
    expect(() => loadCatalog({ extraDir: dir })).toThrow(/acme\.json: id "acme-corp" must equal the file name/);
  });

  it('rejects invalid JSON and names the file', () => {
    const dir = operatorDir({ 'broken.json': '{ "id": "broken", ' });
    expect(() => loadCatalog({ extraDir: dir })).toThrow(CatalogError);
    expect(() => loadCatalog({ extraDir: dir })).toThrow(/broken\.json: not valid JSON/);
  });

  it('rejects fields the schema does not know', () => {
    const dir = operatorDir({ 'acme.json': entry('acme', { authorizeUrl: 'https://acme.example/authorize' }) });
    expect(() => loadCatalog({ extraDir: dir })).toThrow(/acme\.json/);
  });

  it('lets an operator file override a built-in entry with the same id', () => {
    const dir = operatorDir({
      'github.json': entry('github', {
        name: 'GitHub Enterprise',
        categories: ['code'],
        authorizationUrl: 'https://github.acme.example/login/oauth/authorize',
        tokenUrl: 'https://github.acme.example/login/oauth/access_token',
      }),
    });
    const catalog = loadCatalog({ extraDir: dir });
    expect(catalog.get('github')?.name).toBe('GitHub Enterprise');
    expect(catalog.byService('github')?.tokenUrl).toBe('https://github.acme.example/login/oauth/access_token');
    expect(catalog.list().filter((e) => e.id === 'github')).toHaveLength(1);
    // the built-in alias went with the replaced entry
    expect(catalog.byService('gh')).toBeUndefined();
  });

  it('rejects a providers folder that does not exist', () => {
    expect(() => loadCatalog({ extraDir: join(tmpdir(), 'gatehouse-no-such-dir-' + process.pid) })).toThrow(
      /does not exist/,
    );
  });
});
