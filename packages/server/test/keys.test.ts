import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/authorization/index.ts';
import { ISSUER_FROM_INTEGRATION, loadCatalog } from '../src/catalog/index.ts';
import { loadConfig } from '../src/config.ts';
import { setIntegration } from '../src/connect/index.ts';
import { keyStatus, rotateKeys, ROTATION_CURSOR_FILE, SEALED_TABLES, type RotationCursor } from '../src/keys/index.ts';
import type { Services } from '../src/services.ts';
import { insertFlow, migrateToLatest, openStore, toJson, upsertAccount, type Store, type StoreTarget } from '../src/store/index.ts';
import { createVault, newId, parseKeyring, type SealContext, type Vault } from '../src/vault/index.ts';
import { REPO_ROOT } from './support/paths.ts';
import { recordSecret } from './support/secrets.ts';
import { freshDatabase, STORE_KINDS, type TestDatabase } from './support/stores.ts';

const OLD_KEY = randomBytes(32).toString('base64');
const NEW_KEY = randomBytes(32).toString('base64');
recordSecret(OLD_KEY, NEW_KEY);
const OLD_ONLY = `old:${OLD_KEY}`;
const NEW_AND_OLD = `new:${NEW_KEY},old:${OLD_KEY}`;
const NEW_ONLY = `new:${NEW_KEY}`;

/** One sealed value and what it must open to. */
interface Expected {
  context: SealContext;
  column: string;
  pk: string;
  plaintext: string;
}

interface World {
  database: TestDatabase;
  store: Store;
  dataDir: string;
  /** Services sealing under `old` only: the state before the new key. */
  before: Services;
  /** Services with keyring `new,old`: the state during the rotation. */
  during: Services;
  expected: Expected[];
}

const opened: World[] = [];

function services(store: Store, dataDir: string, vault: Vault): Services {
  return {
    db: store.db,
    vault,
    catalog: loadCatalog(),
    clock: () => 1_800_000_000_000,
    config: loadConfig({ GATEHOUSE_DATA_DIR: dataDir }),
    logger: pino({ level: 'silent' }),
  };
}

const secret = (label: string) => {
  const value = `${label}-${randomBytes(12).toString('base64url')}`;
  recordSecret(value);
  return value;
};

const columnOf = (table: string, field: string) => {
  const spec = SEALED_TABLES.find((t) => t.table === table)!;
  return { pk: spec.pk, column: spec.columns.find((c) => c.field === field)!.column };
};

/** Seals a few hundred values under `old` across every sealed column, through the domain functions. */
async function seed(target: StoreTarget, dataDir: string, scale = 1): Promise<{ store: Store; before: Services; expected: Expected[] }> {
  const store = openStore(target);
  await migrateToLatest(store.db);
  const before = services(store, dataDir, createVault(parseKeyring(OLD_ONLY)));
  const expected: Expected[] = [];
  const note = (table: string, id: string, field: string, plaintext: string) =>
    expected.push({ context: { table, id, field }, ...columnOf(table, field), plaintext });
  const providers = before.catalog
    .list()
    .filter((e) => e.issuer !== ISSUER_FROM_INTEGRATION && !(e.templateParams ?? []).length)
    .slice(0, 6);
  for (let a = 0; a < 3 * scale; a++) {
    const created = await createApp(before, { name: `app-${a}`, redirectUris: ['http://localhost:3000/cb'], scopes: ['accounts:read'] });
    recordSecret(created.clientSecret, created.apiKey);
    const appId = created.app.id;
    for (const provider of providers) {
      const clientSecret = secret('cs');
      await setIntegration(before, { app: appId, provider: provider.id, clientId: `cid-${a}`, clientSecret });
      const row = await store.db.selectFrom('integrations').select('id').where('app_id', '=', appId).where('provider', '=', provider.id).executeTakeFirstOrThrow();
      note('integrations', row.id, 'client_secret', clientSecret);
    }
    for (let u = 0; u < 35 * scale; u++) {
      const tokens = { access_token: secret('at'), refresh_token: secret('rt'), id_token: u % 3 === 0 ? secret('it') : null };
      const { account } = await upsertAccount(store.db, {
        newId: newId('acc'),
        app_id: appId,
        provider: 'github',
        upstream_subject: `user-${u}`,
        end_user_id: null,
        name: null,
        email: null,
        scope: 'read:user',
        template_values: toJson({}),
        sealTokens: (id) => {
          const seal = (value: string | null, field: string) => (value === null ? null : before.vault.seal(value, { table: 'account_tokens', id, field }));
          return {
            access_token_sealed: seal(tokens.access_token, 'access_token'),
            refresh_token_sealed: seal(tokens.refresh_token, 'refresh_token'),
            id_token_sealed: seal(tokens.id_token, 'id_token'),
            token_type: 'Bearer',
            expires_at: null,
          };
        },
        now: 1_800_000_000_000,
      });
      for (const [field, value] of Object.entries(tokens)) if (value !== null) note('account_tokens', account.id, field, value);
    }
    for (let f = 0; f < 4; f++) {
      const id = randomBytes(32).toString('hex');
      const verifier = secret('cv');
      await insertFlow(store.db, {
        id,
        app_id: appId,
        provider: 'github',
        code_verifier_sealed: before.vault.seal(verifier, { table: 'connect_flows', id, field: 'code_verifier' }),
        nonce: null,
        end_user_id: null,
        account_id: null,
        template_values: toJson({}),
        context: toJson({}),
        expires_at: 1_800_000_600_000,
        created_at: 1_800_000_000_000,
      });
      note('connect_flows', id, 'code_verifier', verifier);
    }
  }
  return { store, before, expected };
}

async function sealedValue(world: World, e: Pick<Expected, 'context' | 'column' | 'pk'>): Promise<string | null> {
  const db = world.store.db as unknown as Kysely<Record<string, Record<string, string | null>>>;
  const row = await db.selectFrom(e.context.table).select(e.column).where(e.pk, '=', e.context.id).executeTakeFirstOrThrow();
  return row[e.column] ?? null;
}

async function setSealed(world: World, e: Pick<Expected, 'context' | 'column' | 'pk'>, value: string): Promise<void> {
  const db = world.store.db as unknown as Kysely<Record<string, Record<string, string | null>>>;
  await db.updateTable(e.context.table).set({ [e.column]: value }).where(e.pk, '=', e.context.id).execute();
}

const countOf = (status: Awaited<ReturnType<typeof keyStatus>>, kid: string) => status.kids.find((k) => k.kid === kid)?.count ?? 0;

describe.each(STORE_KINDS)('key rotation on %s', { timeout: 120_000 }, (kind) => {
  async function world(): Promise<World> {
    const database = await freshDatabase(kind);
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
    const { store, before, expected } = await seed(database.target, dataDir);
    const w: World = { database, store, dataDir, before, during: { ...before, vault: createVault(parseKeyring(NEW_AND_OLD)) }, expected };
    opened.push(w);
    return w;
  }

  afterEach(async () => {
    for (const w of opened.splice(0)) {
      await w.store.close();
      await w.database.drop();
      rmSync(w.dataDir, { recursive: true, force: true });
    }
  });

  /** Every value opens under a keyring holding only the new key, to exactly what was sealed. */
  async function expectAllUnderNew(w: World, except: Expected[] = []): Promise<void> {
    const onlyNew = createVault(parseKeyring(NEW_ONLY));
    for (const e of w.expected) {
      if (except.includes(e)) continue;
      const value = (await sealedValue(w, e))!;
      expect(onlyNew.kidOf(value)).toBe('new');
      expect(onlyNew.open(value, e.context)).toBe(e.plaintext);
    }
  }

  it('re-seals every value under the active key in batches, leaving the plaintexts unchanged', async () => {
    const w = await world();
    const n = w.expected.length;
    expect(n).toBeGreaterThan(250);
    expect(new Set(w.expected.map((e) => e.context.table))).toEqual(new Set(['integrations', 'account_tokens', 'connect_flows']));

    const beforeStatus = await keyStatus(w.during);
    expect(beforeStatus.activeKid).toBe('new');
    expect(beforeStatus.kids).toEqual([
      { kid: 'new', count: 0, active: true, inKeyring: true },
      { kid: 'old', count: n, active: false, inKeyring: true },
    ]);
    expect(beforeStatus.outdated).toBe(n);
    const perColumn = Object.fromEntries(beforeStatus.columns.map((c) => [`${c.table}.${c.column}`, c.counts]));
    expect(perColumn['account_tokens.id_token_sealed']).toEqual({ old: w.expected.filter((e) => e.context.field === 'id_token').length });
    expect(perColumn['connect_flows.code_verifier_sealed']).toEqual({ old: 12 });

    // While rotating, the server (keyring new,old) opens both kids.
    const progress: [number, number][] = [];
    const result = await rotateKeys(w.during, { batchSize: 7, onProgress: (done, total) => void progress.push([done, total]) });
    expect(result).toMatchObject({ activeKid: 'new', resealed: n, skipped: 0, failed: 0, remaining: 0, resumed: false });
    expect(progress.length).toBeGreaterThan(n / 21);
    expect(progress.every(([, total]) => total === n)).toBe(true);
    expect(progress.map(([done]) => done)).toEqual([...progress.map(([done]) => done)].sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual([n, n]);
    expect(existsSync(join(w.dataDir, ROTATION_CURSOR_FILE))).toBe(false);

    const afterStatus = await keyStatus(w.during);
    expect(countOf(afterStatus, 'old')).toBe(0);
    expect(countOf(afterStatus, 'new')).toBe(n);
    expect(afterStatus.outdated).toBe(0);
    await expectAllUnderNew(w);
    // The values the old key sealed are gone from the store.
    const rotatedValue = (await sealedValue(w, w.expected[0]!))!;
    expect(() => w.before.vault.open(rotatedValue, w.expected[0]!.context)).toThrow(/no key "new"/);

    // Nothing left to do: a second run touches nothing.
    const again = await rotateKeys(w.during, { batchSize: 7 });
    expect(again).toMatchObject({ resealed: 0, skipped: 0, failed: 0, remaining: 0, resumed: false });
  });

  it('resumes an interrupted rotation from its cursor file', async () => {
    const w = await world();
    const n = w.expected.length;
    const cursorPath = join(w.dataDir, ROTATION_CURSOR_FILE);
    const batchSize = 5;
    let calls = 0;
    await expect(
      rotateKeys(w.during, {
        batchSize,
        onProgress: () => {
          calls++;
          throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    expect(calls).toBe(1);

    // The first batch (integrations, one value a row) is done and the cursor names its last row.
    const cursor = JSON.parse(readFileSync(cursorPath, 'utf8')) as RotationCursor;
    // In the database's own order of ids (PostgreSQL collations need not be byte order).
    const order = (await w.store.db.selectFrom('integrations').select('id').orderBy('id').execute()).map((r) => r.id);
    const integrations = w.expected.filter((e) => e.context.table === 'integrations').sort((a, b) => order.indexOf(a.context.id) - order.indexOf(b.context.id));
    expect(cursor).toEqual({ activeKid: 'new', table: 'integrations', after: integrations[batchSize - 1]!.context.id });
    expect(countOf(await keyStatus(w.during), 'old')).toBe(n - batchSize);

    // A value before the cursor sealed under the old key again (say by a server still on the old
    // keyring): a resumed run does not go back for it, which shows it resumed rather than restarted.
    const behind = integrations[0]!;
    await setSealed(w, behind, w.before.vault.seal(behind.plaintext, behind.context));

    const progress: [number, number][] = [];
    const resumed = await rotateKeys(w.during, { batchSize, onProgress: (done, total) => void progress.push([done, total]) });
    expect(resumed).toMatchObject({ resumed: true, resealed: n - batchSize, skipped: 0, failed: 0, remaining: 1 });
    expect(progress.at(-1)).toEqual([n - batchSize, n - batchSize]);
    expect(existsSync(cursorPath)).toBe(false);
    await expectAllUnderNew(w, [behind]);

    // Without a cursor the next run starts from the top and picks it up.
    const last = await rotateKeys(w.during, { batchSize });
    expect(last).toMatchObject({ resumed: false, resealed: 1, remaining: 0 });
    await expectAllUnderNew(w);
    expect(countOf(await keyStatus(w.during), 'old')).toBe(0);
  });

  it('starts over when the cursor file belongs to another active key or is damaged', async () => {
    const w = await world();
    const cursorPath = join(w.dataDir, ROTATION_CURSOR_FILE);
    writeFileSync(cursorPath, JSON.stringify({ activeKid: 'other', table: 'connect_flows', after: 'z' }));
    expect(await rotateKeys(w.during, { batchSize: 50 })).toMatchObject({ resumed: false, resealed: w.expected.length, remaining: 0 });
    writeFileSync(cursorPath, '{not json');
    expect(await rotateKeys(w.during, { batchSize: 50 })).toMatchObject({ resumed: false, resealed: 0, remaining: 0 });
    expect(existsSync(cursorPath)).toBe(false);
  });

  it('does not clobber a value the server rewrote meanwhile', async () => {
    const w = await world();
    const n = w.expected.length;
    const accessTokens = w.expected.filter((e) => e.context.field === 'access_token').sort((a, b) => (a.context.id < b.context.id ? -1 : 1));
    // Rewritten between batches (a refresh after the first batch, before its row is read).
    const refreshedLater = accessTokens.at(-1)!;
    const laterValue = w.during.vault.seal(secret('refreshed-later'), refreshedLater.context);
    // Rewritten after its batch was read and before it was written: only compare-and-set saves it.
    const refreshedInFlight = accessTokens[0]!;
    const inFlightValue = w.during.vault.seal(secret('refreshed-in-flight'), refreshedInFlight.context);

    let firstBatch = true;
    const result = await rotateKeys(w.during, {
      batchSize: 4,
      onProgress: async () => {
        if (!firstBatch) return;
        firstBatch = false;
        await setSealed(w, refreshedLater, laterValue);
      },
      beforeWrite: async ({ table, ids }) => {
        if (table === 'account_tokens' && ids.includes(refreshedInFlight.context.id)) await setSealed(w, refreshedInFlight, inFlightValue);
      },
    });
    expect(result).toMatchObject({ resealed: n - 2, skipped: 1, failed: 0, remaining: 0 });
    expect(await sealedValue(w, refreshedLater)).toBe(laterValue);
    expect(await sealedValue(w, refreshedInFlight)).toBe(inFlightValue);
    const onlyNew = createVault(parseKeyring(NEW_ONLY));
    expect(onlyNew.open(laterValue, refreshedLater.context)).toMatch(/^refreshed-later-/);
    expect(onlyNew.open(inFlightValue, refreshedInFlight.context)).toMatch(/^refreshed-in-flight-/);
    await expectAllUnderNew(w, [refreshedLater, refreshedInFlight]);
    expect(countOf(await keyStatus(w.during), 'old')).toBe(0);
  });

  it('reports a value it cannot open and rotates the rest', async () => {
    const w = await world();
    const victim = w.expected.find((e) => e.context.table === 'integrations')!;
    const stranger = createVault(parseKeyring(`gone:${randomBytes(32).toString('base64')}`));
    await setSealed(w, victim, stranger.seal(victim.plaintext, victim.context));

    const status = await keyStatus(w.during);
    expect(status.kids.find((k) => k.kid === 'gone')).toEqual({ kid: 'gone', count: 1, active: false, inKeyring: false });

    const result = await rotateKeys(w.during, { batchSize: 10 });
    expect(result).toMatchObject({ resealed: w.expected.length - 1, failed: 1, remaining: 1 });
    expect(result.failures).toEqual([{ table: 'integrations', id: victim.context.id, field: 'client_secret', reason: 'no key "gone" in the keyring' }]);
    await expectAllUnderNew(w, [victim]);
  });
});

describe('gatehouse keys (CLI)', { timeout: 120_000 }, () => {
  const run = promisify(execFile);
  const BIN = join(REPO_ROOT, 'packages/server/bin/gatehouse.js');

  it('shows the status, rotates with a progress bar, and generates keys', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-keys-cli-'));
    try {
      const { store, expected } = await seed({ kind: 'sqlite', path: join(tmp, 'g.db') }, tmp, 0.4);
      await store.close();
      const n = expected.length;
      const inherited = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !name.startsWith('GATEHOUSE_') && !['PORT', 'HOST', 'NODE_ENV'].includes(name)),
      );
      const gatehouse = (args: string[], keys = NEW_AND_OLD) =>
        run(process.execPath, [BIN, ...args], {
          cwd: tmp,
          env: { ...inherited, GATEHOUSE_DATABASE_URL: `sqlite:${tmp}/g.db`, GATEHOUSE_DATA_DIR: tmp, GATEHOUSE_SECRET_KEYS: keys },
          timeout: 30_000,
          encoding: 'utf8',
        });

      const before = await gatehouse(['keys', 'status']);
      expect(before.stdout).toMatch(/^KID\s+VALUES$/m);
      expect(before.stdout).toMatch(/^new\s+0\s+active$/m);
      expect(before.stdout).toMatch(new RegExp(`^old\\s+${n}$`, 'm'));
      expect(before.stdout).toContain(`${n} sealed value(s) are under older keys`);

      const rotated = await gatehouse(['keys', 'rotate', '--batch-size', '10']);
      expect(rotated.stdout).toContain(`Re-sealed ${n} value(s) under key "new".`);
      expect(rotated.stdout).toContain('older keys may be removed');
      // Not a TTY: one progress line per batch, ending full.
      const bars = rotated.stderr.trim().split('\n');
      expect(bars.length).toBeGreaterThan(1);
      expect(bars.every((line) => /^\[[#-]{30}\] \d+\/\d+$/.test(line))).toBe(true);
      expect(bars.at(-1)).toBe(`[${'#'.repeat(30)}] ${n}/${n}`);

      // The old key can go now: the status under the new key alone shows every value there.
      const after = await gatehouse(['keys', 'status'], NEW_ONLY);
      expect(after.stdout).toMatch(new RegExp(`^new\\s+${n}\\s+active$`, 'm'));
      expect(after.stdout).not.toMatch(/^old/m);
      expect(after.stdout).toContain('Every sealed value is under the active key "new"');

      const generated = await gatehouse(['keys', 'generate', '--kid', 'k2027']);
      const spec = generated.stdout.trim();
      recordSecret(spec, spec.slice('k2027:'.length));
      expect(spec).toMatch(/^k2027:[A-Za-z0-9+/]{43}=$/);
      expect(parseKeyring(`${spec},${NEW_ONLY}`).activeKid).toBe('k2027');
      expect(generated.stderr).toContain('GATEHOUSE_SECRET_KEYS');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
