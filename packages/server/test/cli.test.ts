import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVault, parseKeyring, tokenKey } from '../src/vault/index.ts';
import { REPO_ROOT } from './support/paths.ts';
import { recordSecret } from './support/secrets.ts';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'packages/server/bin/gatehouse.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI (~1s each under tsx): every test below is a handful of these. */
describe('gatehouse CLI', { timeout: 90_000 }, () => {
  let tmp: string;
  let baseEnv: NodeJS.ProcessEnv;
  let clientId = '';
  let clientSecret = '';
  let apiKey = '';

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
    // Whatever the outer environment configures must not leak into the CLI under test.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('GATEHOUSE_') && !['PORT', 'HOST', 'NODE_ENV'].includes(name)),
    );
    baseEnv = { ...inherited, GATEHOUSE_DATABASE_URL: `sqlite:${tmp}/g.db`, GATEHOUSE_DATA_DIR: tmp };
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function gatehouse(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
        cwd: tmp,
        env: { ...baseEnv, ...env },
        timeout: 30_000,
        encoding: 'utf8',
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: unknown; signal?: string; stdout?: string; stderr?: string };
      if (typeof e.code !== 'number') throw err;
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** The raw bytes of the SQLite database: the file and its write-ahead log if there is one. */
  function rawDatabase(name = 'g.db'): string {
    const path = join(tmp, name);
    return [path, `${path}-wal`]
      .filter((p) => existsSync(p))
      .map((p) => readFileSync(p).toString('latin1'))
      .join('');
  }

  /** Exactly one line on stderr, starting "gatehouse: ". */
  function oneErrorLine(result: Result): string {
    expect(result.stderr.endsWith('\n')).toBe(true);
    const lines = result.stderr.slice(0, -1).split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]!.startsWith('gatehouse: ')).toBe(true);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    return lines[0]!;
  }

  it('lists the provider catalog, optionally by category', async () => {
    const all = await gatehouse(['providers', 'list']);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(30);
    expect(lines.some((l) => l.startsWith('github '))).toBe(true);

    const storage = await gatehouse(['providers', 'list', '--category', 'storage']);
    expect(storage.code).toBe(0);
    const ids = storage.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[0]);
    expect(ids).toContain('google-drive');
    expect(ids).not.toContain('github');
    expect(storage.stdout.trim().split('\n').every((l) => l.includes('storage'))).toBe(true);
  });

  it('creates an app, printing its secret and key once and storing neither', async () => {
    const created = await gatehouse(['apps', 'create', 'demo', '--redirect-uri', 'http://localhost:3000/cb', '--scopes', 'accounts:read proxy']);
    clientId = /^client_id:\s+(\S+)$/m.exec(created.stdout)?.[1] ?? '';
    clientSecret = /^client_secret:\s+(\S+)$/m.exec(created.stdout)?.[1] ?? '';
    apiKey = /^api_key:\s+(\S+)$/m.exec(created.stdout)?.[1] ?? '';
    recordSecret(clientSecret, apiKey);
    expect(created.code, created.stderr).toBe(0);
    expect(clientId).toMatch(/^app_[A-Za-z0-9]+$/);
    expect(clientSecret).toMatch(/^ghcs_[0-9a-f]{11}[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatch(/^ghk_[0-9a-f]{11}[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).not.toContain(clientSecret);
    expect(created.stderr).not.toContain(apiKey);

    const raw = rawDatabase();
    expect(raw).toContain(clientId);
    expect(raw).toContain(tokenKey(apiKey)); // the right file: it holds the hashes...
    expect(raw).toContain(tokenKey(clientSecret));
    expect(raw).not.toContain(clientSecret); // ...and never the values
    expect(raw).not.toContain(apiKey);
    expect(raw).not.toContain(clientSecret.slice('ghcs_'.length));
    expect(raw).not.toContain(apiKey.slice('ghk_'.length));
  });

  it('refuses a second app of the same name with one line', async () => {
    const again = await gatehouse(['apps', 'create', 'demo', '--redirect-uri', 'http://localhost:3000/cb']);
    expect(again.code).toBe(1);
    expect(oneErrorLine(again)).toMatch(/"demo" exists already/);
    expect(again.stdout).toBe('');

    const list = await gatehouse(['apps', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(clientId);
    expect(lines[0]).toContain('demo');
    expect(lines[0]).toContain('accounts:read proxy');
    expect(list.stdout).not.toContain(clientSecret);
  });

  it('creates a public app with trusted origins, default and optional scopes', async () => {
    const created = await gatehouse([
      'apps', 'create', 'spa', '--public', '--redirect-uri', 'http://localhost:3000/spa', '--trusted-origin', 'http://localhost:3000',
      '--trusted-origin', 'https://spa.example', '--default-scopes', 'accounts:read', '--optional-scopes', 'proxy offline_access', '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const out = JSON.parse(created.stdout) as { client_secret?: string; api_key: string; app: Record<string, unknown> };
    recordSecret(out.api_key);
    expect(out.client_secret ?? null).toBeNull();
    expect(out.app).toMatchObject({
      clientType: 'public',
      trustedOrigins: ['http://localhost:3000', 'https://spa.example'],
      defaultScopes: ['accounts:read'],
      scopes: ['accounts:read', 'proxy', 'offline_access'],
    });
    expect((await gatehouse(['apps', 'delete', 'spa'])).code).toBe(0);
  });

  it('switches the credentials endpoint on and off per app, audited', async () => {
    const on = await gatehouse(['apps', 'update', 'demo', '--allow-credentials', '--json']);
    expect(on.code, on.stderr).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({ name: 'demo', allowCredentials: true });
    const off = await gatehouse(['apps', 'update', 'demo', '--no-allow-credentials']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/credentials endpoint off/);
    const audit = await gatehouse(['audit', '--action', 'app.updated']);
    expect(audit.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('sets an integration with its client secret sealed', async () => {
    const secret = 'topsecret-value-123';
    recordSecret(secret);
    const set = await gatehouse(['integrations', 'set', 'demo', 'google-drive', '--client-id', 'cid', '--client-secret', secret]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('google-drive');
    expect(set.stdout).not.toContain(secret);
    expect(set.stderr).toBe('');
    expect(rawDatabase()).not.toContain(secret);

    // It is there, sealed under the development key the CLI generated in the data folder.
    const db = new SQLite(join(tmp, 'g.db'), { readonly: true });
    try {
      const row = db.prepare('select id, client_id, client_secret_sealed from integrations where provider = ?').get('google-drive') as {
        id: string;
        client_id: string;
        client_secret_sealed: string;
      };
      expect(row.client_id).toBe('cid');
      expect(row.client_secret_sealed.startsWith('v1.')).toBe(true);
      const vault = createVault(parseKeyring(readFileSync(join(tmp, 'secret-keys'), 'utf8').trim()));
      expect(vault.open(row.client_secret_sealed, { table: 'integrations', id: row.id, field: 'client_secret' })).toBe(secret);
    } finally {
      db.close();
    }
  });

  it('refuses an oidc integration without --issuer, and an unknown provider, with one clear line', async () => {
    const noIssuer = await gatehouse(['integrations', 'set', 'demo', 'oidc', '--client-id', 'x', '--client-secret', 'y']);
    expect(noIssuer.code).toBe(1);
    expect(oneErrorLine(noIssuer)).toMatch(/--issuer/);

    const unknown = await gatehouse(['integrations', 'set', 'demo', 'nope', '--client-id', 'x', '--client-secret', 'y']);
    expect(unknown.code).toBe(1);
    expect(oneErrorLine(unknown)).toMatch(/no provider "nope"/);
  });

  it('sets an app webhook, printing its secret once and storing it sealed; shows and disables it', async () => {
    const set = await gatehouse(['apps', 'webhook', 'demo', '--url', 'http://127.0.0.1:9/hooks']);
    expect(set.code, set.stderr).toBe(0);
    const secret = /^secret: (ghwh_\S+)$/m.exec(set.stdout)?.[1] ?? '';
    recordSecret(secret);
    expect(secret).toMatch(/^ghwh_[0-9a-f]{11}[A-Za-z0-9_-]{43}$/);
    expect(set.stdout).toContain('Webhook set: http://127.0.0.1:9/hooks');
    expect(rawDatabase()).not.toContain(secret);

    const shown = await gatehouse(['apps', 'webhook', 'demo']);
    expect(shown.stdout.trim()).toBe('Webhook: http://127.0.0.1:9/hooks');
    expect(shown.stdout).not.toContain(secret);

    const production = await gatehouse(['apps', 'webhook', 'demo', '--url', 'http://hooks.example.test/in'], {
      NODE_ENV: 'production',
      GATEHOUSE_SECRET_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
      GATEHOUSE_BASE_URL: 'https://gatehouse.example.test',
    });
    expect(production.code).toBe(1);
    expect(oneErrorLine(production)).toContain('must be https');

    const off = await gatehouse(['apps', 'webhook', 'demo', '--disable']);
    expect(off.stdout.trim()).toBe('No webhook is set.');
    expect(oneErrorLine(await gatehouse(['apps', 'webhook', 'nope']))).toBe('gatehouse: no app "nope"');
  });

  it('deletes the app', async () => {
    const deleted = await gatehouse(['apps', 'delete', 'demo']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(clientId);

    const list = await gatehouse(['apps', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(clientId);
    expect(list.stdout).toMatch(/No apps yet/);
  });

  it('migrates a fresh database, then reports it up to date', async () => {
    const env = { GATEHOUSE_DATABASE_URL: `sqlite:${tmp}/migrate.db` };
    const first = await gatehouse(['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Applied: 2026_11_22_001_core, 2026_11_22_002_authorization, 2026_11_22_003_authorization_requests, 2026_11_22_004_refresh_backoff, 2026_11_23_005_proxy, 2026_11_23_006_webhooks, 2026_11_23_007_relay$/m);
    const second = await gatehouse(['migrate'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe('The database is up to date.');
  });

  it('refuses to serve with an invalid PORT: exit 2, one line naming PORT', async () => {
    const result = await gatehouse(['serve'], { PORT: 'abc' });
    expect(result.code).toBe(2);
    expect(oneErrorLine(result)).toMatch(/\bPORT: "abc"/);
    expect(result.stdout).toBe('');
  });

  it('refuses to serve in production without GATEHOUSE_SECRET_KEYS: exit 2, one line naming it', async () => {
    // An https base URL, so the missing keys are the only problem (an http one is refused first).
    const result = await gatehouse(['serve'], { NODE_ENV: 'production', GATEHOUSE_BASE_URL: 'https://gatehouse.example.com' });
    expect(result.code).toBe(2);
    expect(oneErrorLine(result)).toMatch(/\bGATEHOUSE_SECRET_KEYS\b/);
    expect(result.stdout).toBe('');
  });
});
