import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, deleteApp } from '../src/authorization/index.ts';
import { loadCatalog } from '../src/catalog/index.ts';
import { loadConfig } from '../src/config.ts';
import { setIntegration } from '../src/connect/index.ts';
import type { Services } from '../src/services.ts';
import {
  findAccount,
  findTokens,
  insertFlow,
  listAccounts,
  migrateToLatest,
  migrationsCurrent,
  openStore,
  takeFlow,
  toJson,
  upsertAccount,
  type AccountRow,
  type Store,
  type UpsertAccountInput,
} from '../src/store/index.ts';
import { LATEST_MIGRATION } from '../src/store/migrations/index.ts';
import { createVault, generateKeyringSpec, newId, parseKeyring, type Vault } from '../src/vault/index.ts';
import { recordSecret } from './support/secrets.ts';
import { freshDatabase, STORE_KINDS, type TestDatabase } from './support/stores.ts';

describe.each(STORE_KINDS)('store on %s', (kind) => {
  let database: TestDatabase;
  let store: Store;
  let services: Services;
  let vault: Vault;
  let dataDir: string;
  let firstRun: string[];
  let now = 1_800_000_000_000;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    store = openStore(database.target);
    firstRun = await migrateToLatest(store.db);
    dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-store-data-'));
    vault = createVault(parseKeyring(generateKeyringSpec('t')));
    services = {
      db: store.db,
      vault,
      catalog: loadCatalog(),
      clock: () => now,
      config: loadConfig({ GATEHOUSE_DATA_DIR: dataDir }),
      logger: pino({ level: 'silent' }),
    };
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function newApp(name: string) {
    const created = await createApp(services, { name, redirectUris: ['http://localhost:3000/cb'], scopes: ['accounts:read'] });
    recordSecret(created.clientSecret, created.apiKey);
    return created.app.id;
  }

  function accountInput(appId: string, subject: string, overrides: Partial<UpsertAccountInput> = {}, accessToken = `at-${subject}`): UpsertAccountInput {
    return {
      newId: newId('acc'),
      app_id: appId,
      provider: 'github',
      upstream_subject: subject,
      end_user_id: null,
      name: `User ${subject}`,
      email: `${subject}@example.test`,
      scope: 'read:user',
      template_values: toJson({}),
      sealTokens: (accountId) => ({
        access_token_sealed: vault.seal(accessToken, { table: 'account_tokens', id: accountId, field: 'access_token' }),
        refresh_token_sealed: vault.seal(`rt-${subject}`, { table: 'account_tokens', id: accountId, field: 'refresh_token' }),
        id_token_sealed: null,
        token_type: 'Bearer',
        expires_at: now + 3_600_000,
      }),
      now,
      ...overrides,
    };
  }

  const count = async (table: 'accounts' | 'account_tokens' | 'integrations' | 'connect_flows' | 'app_secrets' | 'api_keys', appId?: string) => {
    let query = store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
    if (appId && table !== 'account_tokens') query = query.where('app_id', '=', appId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.n);
  };

  it('migrates once: the second run applies nothing, and the schema is current', async () => {
    expect(firstRun).toEqual(['2026_11_22_001_core', '2026_11_22_002_authorization', '2026_11_22_003_authorization_requests', '2026_11_22_004_refresh_backoff', '2026_11_23_005_proxy', '2026_11_23_006_webhooks', '2026_11_23_007_relay']);
    expect(firstRun.at(-1)).toBe(LATEST_MIGRATION);
    expect(await migrateToLatest(store.db)).toEqual([]);
    expect(await migrationsCurrent(store.db)).toBe(true);
  });

  it('reports an unmigrated database as not current', async () => {
    const empty = await freshDatabase(kind);
    const other = openStore(empty.target);
    try {
      expect(await migrationsCurrent(other.db)).toBe(false);
      expect(await migrateToLatest(other.db)).toHaveLength(7);
      expect(await migrationsCurrent(other.db)).toBe(true);
    } finally {
      await other.close();
      await empty.drop();
    }
  });

  it('upserts an account: the same (app, provider, subject) updates the one row', async () => {
    const appId = await newApp(`upsert-${kind}`);
    const createdAt = now;
    const first = await upsertAccount(store.db, accountInput(appId, 'u-1', { end_user_id: 'end-1' }, 'first-access-token'));
    expect(first.created).toBe(true);
    expect(first.account).toMatchObject({ app_id: appId, provider: 'github', upstream_subject: 'u-1', status: 'active', end_user_id: 'end-1' });
    expect(first.account.created_at).toBe(createdAt);
    const tokens1 = (await findTokens(store.db, first.account.id))!;
    expect(tokens1.version).toBe(1);

    now += 1000;
    const unusedId = newId('acc');
    const second = await upsertAccount(
      store.db,
      accountInput(appId, 'u-1', { newId: unusedId, end_user_id: null, name: 'Renamed', scope: 'read:user repo' }, 'second-access-token'),
    );
    expect(second.created).toBe(false);
    expect(second.account.id).toBe(first.account.id);
    expect(second.account).toMatchObject({ name: 'Renamed', scope: 'read:user repo', end_user_id: 'end-1', updated_at: now });
    expect(second.account.created_at).toBe(createdAt);
    expect(await findAccount(store.db, appId, unusedId)).toBeUndefined();
    expect(await count('accounts', appId)).toBe(1);

    const tokens2 = (await findTokens(store.db, first.account.id))!;
    expect(tokens2.version).toBe(2);
    expect(tokens2.updated_at).toBe(now);
    expect(vault.open(tokens2.access_token_sealed!, { table: 'account_tokens', id: first.account.id, field: 'access_token' })).toBe(
      'second-access-token',
    );

    now += 1000;
    await upsertAccount(store.db, accountInput(appId, 'u-1'));
    expect((await findTokens(store.db, first.account.id))!.version).toBe(3);

    // Another provider or subject is another account.
    const otherProvider = await upsertAccount(store.db, accountInput(appId, 'u-1', { provider: 'gitlab' }));
    const otherSubject = await upsertAccount(store.db, accountInput(appId, 'u-2'));
    expect(otherProvider.created).toBe(true);
    expect(otherSubject.created).toBe(true);
    expect(new Set([first.account.id, otherProvider.account.id, otherSubject.account.id]).size).toBe(3);
    expect((await findTokens(store.db, otherSubject.account.id))!.version).toBe(1);
    // The same subject under another app is that app's own account.
    const otherApp = await newApp(`upsert-other-${kind}`);
    const elsewhere = await upsertAccount(store.db, accountInput(otherApp, 'u-1'));
    expect(elsewhere.created).toBe(true);
    expect(await findAccount(store.db, appId, elsewhere.account.id)).toBeUndefined();
  });

  it('lists accounts by keyset pages, with filters', async () => {
    const appId = await newApp(`list-${kind}`);
    const otherApp = await newApp(`list-other-${kind}`);
    await upsertAccount(store.db, accountInput(otherApp, 'not-mine'));
    const made: AccountRow[] = [];
    for (let i = 0; i < 7; i++) {
      const { account } = await upsertAccount(
        store.db,
        accountInput(appId, `s-${i}`, { provider: i % 2 === 0 ? 'github' : 'slack', end_user_id: i < 3 ? 'alice' : 'bob' }),
      );
      made.push(account);
    }
    await store.db.updateTable('accounts').set({ status: 'revoked' }).where('id', '=', made[6]!.id).execute();

    const all = await listAccounts(store.db, appId, { limit: 100 });
    expect(all.map((a) => a.id).sort()).toEqual(made.map((a) => a.id).sort());
    expect(all.every((a) => a.app_id === appId)).toBe(true);

    const paged: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const rows = await listAccounts(store.db, appId, { limit: 3, after });
      expect(rows.length).toBeLessThanOrEqual(3);
      if (rows.length === 0) break;
      paged.push(...rows.map((r) => r.id));
      after = rows.at(-1)!.id;
    }
    expect(paged).toEqual(all.map((a) => a.id));
    expect((await listAccounts(store.db, appId, { limit: 3 })).length).toBe(3);
    expect(await listAccounts(store.db, appId, { limit: 3, after: all.at(-1)!.id })).toEqual([]);

    const ids = (rows: AccountRow[]) => rows.map((r) => r.id).sort();
    expect(ids(await listAccounts(store.db, appId, { limit: 100, provider: 'slack' }))).toEqual(ids(made.filter((_, i) => i % 2 === 1)));
    expect(ids(await listAccounts(store.db, appId, { limit: 100, endUserId: 'alice' }))).toEqual(ids(made.slice(0, 3)));
    expect(ids(await listAccounts(store.db, appId, { limit: 100, status: 'revoked' }))).toEqual([made[6]!.id]);
    expect(ids(await listAccounts(store.db, appId, { limit: 100, status: 'active', provider: 'github', endUserId: 'bob' }))).toEqual(
      ids([made[4]!]),
    );
    expect(ids(await listAccounts(store.db, appId, { limit: 100, id: made[2]!.id }))).toEqual([made[2]!.id]);
    expect(await listAccounts(store.db, otherApp, { limit: 100, id: made[2]!.id })).toEqual([]);
    expect(await listAccounts(store.db, appId, { limit: 100, provider: 'nope' })).toEqual([]);
  });

  it('takes a flow exactly once', async () => {
    const appId = await newApp(`flow-${kind}`);
    const id = newId('flow', 32);
    await insertFlow(store.db, {
      id,
      app_id: appId,
      provider: 'github',
      code_verifier_sealed: vault.seal('verifier-value-0123456789', { table: 'connect_flows', id, field: 'code_verifier' }),
      nonce: 'nonce-1',
      end_user_id: 'alice',
      account_id: null,
      template_values: toJson({}),
      context: toJson({ kind: 'test' }),
      expires_at: now + 600_000,
      created_at: now,
    });
    const [first, second] = [await takeFlow(store.db, id), await takeFlow(store.db, id)];
    expect(first).toMatchObject({ id, app_id: appId, provider: 'github', nonce: 'nonce-1', end_user_id: 'alice', expires_at: now + 600_000 });
    expect(vault.open(first!.code_verifier_sealed, { table: 'connect_flows', id, field: 'code_verifier' })).toBe('verifier-value-0123456789');
    expect(second).toBeUndefined();
    expect(await takeFlow(store.db, 'never-existed')).toBeUndefined();
  });

  it('takes a flow once even when two take it at the same time', async () => {
    const appId = await newApp(`flow-race-${kind}`);
    const id = newId('flow', 32);
    await insertFlow(store.db, {
      id,
      app_id: appId,
      provider: 'github',
      code_verifier_sealed: 'v1.t.x.y',
      nonce: null,
      end_user_id: null,
      account_id: null,
      template_values: '{}',
      context: '{}',
      expires_at: now + 600_000,
      created_at: now,
    });
    const results = await Promise.all([takeFlow(store.db, id), takeFlow(store.db, id), takeFlow(store.db, id)]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('deleting an app deletes its secrets, integrations, accounts, tokens and flows', async () => {
    const appId = await newApp(`cascade-${kind}`);
    const keepId = await newApp(`cascade-keep-${kind}`);
    recordSecret('integration-secret-0123456789');
    await setIntegration(services, { app: appId, provider: 'github', clientId: 'cid', clientSecret: 'integration-secret-0123456789' });
    const accounts = [
      (await upsertAccount(store.db, accountInput(appId, 'c-1'))).account,
      (await upsertAccount(store.db, accountInput(appId, 'c-2'))).account,
    ];
    const kept = (await upsertAccount(store.db, accountInput(keepId, 'c-1'))).account;
    const flowId = newId('flow', 32);
    await insertFlow(store.db, {
      id: flowId,
      app_id: appId,
      provider: 'github',
      code_verifier_sealed: 'v1.t.x.y',
      nonce: null,
      end_user_id: null,
      account_id: accounts[0]!.id,
      template_values: '{}',
      context: '{}',
      expires_at: now + 600_000,
      created_at: now,
    });
    expect(await count('accounts', appId)).toBe(2);
    expect(await count('integrations', appId)).toBe(1);
    expect(await count('app_secrets', appId)).toBe(1);
    expect(await count('api_keys', appId)).toBe(1);

    const deleted = await deleteApp(services, `cascade-${kind}`);
    expect(deleted.id).toBe(appId);
    expect(await store.db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst()).toBeUndefined();
    for (const table of ['accounts', 'integrations', 'connect_flows', 'app_secrets', 'api_keys'] as const) {
      expect(await count(table, appId), table).toBe(0);
    }
    for (const account of accounts) expect(await findTokens(store.db, account.id)).toBeUndefined();
    // The other app is untouched.
    expect(await findAccount(store.db, keepId, kept.id)).toBeDefined();
    expect(await findTokens(store.db, kept.id)).toBeDefined();
    await expect(deleteApp(services, appId)).rejects.toThrow(/no app/);
  });
});
