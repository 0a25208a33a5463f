import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_CACHE_TTL_MS, createApp, deleteApp, issueTokens, revokeGrant, type CreatedApp } from '../src/authorization/index.ts';
import { groupCommit, isDatabaseUnavailable, openStore, type Db } from '../src/store/index.ts';
import { precompiled } from '../src/store/precompiled.ts';
import { withStatementCache } from '../src/store/open.ts';
import { mintToken, newId, tokenKey } from '../src/vault/index.ts';
import { startGatehouse, type RunningGatehouse } from './support/gatehouse.ts';
import { expectRefusedWithinBound } from './support/revoked-in-use.ts';
import { recordSecret } from './support/secrets.ts';
import { STORE_KINDS } from './support/stores.ts';

// The optimisations of the hot paths (see `npm run bench`) keep revocation and durability intact.
describe.each(STORE_KINDS)('hot paths on %s', (kind) => {
  let gatehouse: RunningGatehouse;
  let app: CreatedApp;
  const basic = () => `Basic ${Buffer.from(`${app.app.id}:${app.clientSecret}`).toString('base64')}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  beforeAll(async () => {
    gatehouse = await startGatehouse({ kind });
    app = await createApp(gatehouse.services, { name: 'hot', redirectUris: ['http://127.0.0.1:9/cb'], scopes: ['accounts:read'] });
    recordSecret(app.clientSecret, app.apiKey);
  });
  afterAll(() => gatehouse?.close());

  async function mint(): Promise<string> {
    const response = await fetch(`${gatehouse.url}/oauth/token`, {
      method: 'POST',
      headers: { ...form, authorization: basic() },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    recordSecret(token);
    return token;
  }
  const verify = (token: string) => fetch(`${gatehouse.url}/v1/oauth/token`, { headers: { authorization: `Bearer ${token}` } });

  it('refuses a revoked access token at once, although it was verified (and cached) just before', async () => {
    const token = await mint();
    expect((await verify(token)).status).toBe(200);
    expect((await verify(token)).status).toBe(200);
    const revoked = await fetch(`${gatehouse.url}/oauth/revoke`, { method: 'POST', headers: { ...form, authorization: basic() }, body: `token=${token}` });
    expect(revoked.status).toBe(200);
    const after = await verify(token);
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('refuses a revoked access token on the API at once, although it was admitted (and remembered) just before', async () => {
    const token = await mint();
    const list = () => fetch(`${gatehouse.url}/v1/accounts`, { headers: { authorization: `Bearer ${token}` } });
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(200);
    const revoked = await fetch(`${gatehouse.url}/oauth/revoke`, { method: 'POST', headers: { ...form, authorization: basic() }, body: `token=${token}` });
    expect(revoked.status).toBe(200);
    const after = await list();
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('refuses the API key of a deleted app at once, although it was admitted (and remembered) just before', async () => {
    const doomed = await createApp(gatehouse.services, { name: 'doomed-key', redirectUris: ['http://127.0.0.1:9/cb'], scopes: ['accounts:read'] });
    recordSecret(doomed.clientSecret, doomed.apiKey);
    const list = () => fetch(`${gatehouse.url}/v1/accounts`, { headers: { authorization: `Bearer ${doomed.apiKey}` } });
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(200);
    await deleteApp(gatehouse.services, doomed.app.id);
    expect((await list()).status).toBe(401);
  });

  it('introspects a revoked access token as inactive at once, although client and token were remembered just before', async () => {
    const token = await mint();
    const introspect = async (authorization: string) => {
      const response = await fetch(`${gatehouse.url}/oauth/introspect`, { method: 'POST', headers: { ...form, authorization }, body: `token=${token}` });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await introspect(basic())).toEqual({ status: 200, body: expect.objectContaining({ active: true, client_id: app.app.id, scope: 'accounts:read' }) });
    expect(await introspect(basic())).toEqual({ status: 200, body: expect.objectContaining({ active: true, client_id: app.app.id }) });
    // the remembered client answers only to its own secret, and a wrong one is refused
    const wrong = `Basic ${Buffer.from(`${app.app.id}:not-the-secret`).toString('base64')}`;
    expect(await introspect(wrong)).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
    const revoked = await fetch(`${gatehouse.url}/oauth/revoke`, { method: 'POST', headers: { ...form, authorization: basic() }, body: `token=${token}` });
    expect(revoked.status).toBe(200);
    expect(await introspect(basic())).toEqual({ status: 200, body: { active: false } });
  });

  it('holds a remembered Basic client to one authentication method and to its own client_id', async () => {
    const token = await mint();
    const ask = (authorization: string, body: string) => fetch(`${gatehouse.url}/oauth/introspect`, { method: 'POST', headers: { ...form, authorization }, body });
    expect(await (await ask(basic(), `token=${token}`)).json()).toMatchObject({ active: true });
    // the header alone is remembered; a body that also names a client is checked in full
    const otherId = await ask(basic(), `token=${token}&client_id=app_someone_else`);
    expect(otherId.status).toBe(400);
    expect(await otherId.json()).toMatchObject({ error: 'invalid_request' });
    const twoMethods = await ask(basic(), `token=${token}&client_secret=${encodeURIComponent(app.clientSecret!)}`);
    expect(twoMethods.status).toBe(400);
    expect(await twoMethods.json()).toMatchObject({ error: 'invalid_request' });
    const sameId = await ask(basic(), `token=${token}&client_id=${app.app.id}`);
    expect(await sameId.json()).toMatchObject({ active: true, client_id: app.app.id });
    // the same credentials written another way (scheme in lower case) authenticate on their own
    const lower = await ask(basic().replace(/^Basic/, 'basic'), `token=${token}`);
    expect(await lower.json()).toMatchObject({ active: true, client_id: app.app.id });
  });

  it("introspects another client's remembered token as inactive, and asks for the token when there is none", async () => {
    const token = await mint();
    const other = await createApp(gatehouse.services, { name: 'other-introspector', redirectUris: ['http://127.0.0.1:9/cb'], scopes: ['accounts:read'] });
    recordSecret(other.clientSecret, other.apiKey);
    const asOther = `Basic ${Buffer.from(`${other.app.id}:${other.clientSecret}`).toString('base64')}`;
    const ask = (authorization: string, body: string) => fetch(`${gatehouse.url}/oauth/introspect`, { method: 'POST', headers: { ...form, authorization }, body });
    expect(await (await ask(basic(), `token=${token}`)).json()).toMatchObject({ active: true });
    for (let i = 0; i < 2; i++) {
      const answer = await ask(asOther, `token=${token}`);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ active: false });
    }
    const missing = await ask(basic(), 'token_type_hint=access_token');
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses the access tokens of a revoked grant at once', async () => {
    const { db } = gatehouse.services;
    const grantId = newId('grt');
    const now = Date.now();
    await db.insertInto('grants').values({ id: grantId, app_id: app.app.id, account_id: null, end_user_id: null, scope: 'accounts:read', created_at: now, revoked_at: null }).execute();
    const { accessToken } = await issueTokens(db, now, { appId: app.app.id, grantId, accountId: null, scope: ['accounts:read'], withRefresh: false });
    recordSecret(accessToken);
    expect((await verify(accessToken)).status).toBe(200);
    await revokeGrant(db, grantId, Date.now());
    expect((await verify(accessToken)).status).toBe(401);
  });

  it('sees a revocation made by another process within the cache bound', async () => {
    const token = await mint();
    expect((await verify(token)).status).toBe(200);
    const other = openStore(gatehouse.database.target); // a second instance (or the CLI) on the same database
    try {
      await other.db.deleteFrom('access_tokens').where('id', '=', tokenKey(token)).execute();
    } finally {
      await other.close();
    }
    await sleep(CREDENTIAL_CACHE_TTL_MS + 50);
    expect((await verify(token)).status).toBe(401);
  });

  it('sees a revocation made by another process within the cache bound while the token is in use all along (read again in the background)', async () => {
    const token = await mint();
    const listAccounts = () => fetch(`${gatehouse.url}/v1/accounts`, { headers: { authorization: `Bearer ${token}` } });
    await expectRefusedWithinBound(
      CREDENTIAL_CACHE_TTL_MS,
      async () => (await Promise.all([verify(token), listAccounts()])).map((r) => r.status),
      async () => {
        const other = openStore(gatehouse.database.target);
        try {
          await other.db.deleteFrom('access_tokens').where('id', '=', tokenKey(token)).execute();
        } finally {
          await other.close();
        }
      },
      { admitted: 200, refused: 401 },
    );
  });

  it('stops authenticating a client deleted by another process within the cache bound', async () => {
    const doomed = await createApp(gatehouse.services, { name: 'doomed', redirectUris: ['http://127.0.0.1:9/cb'], scopes: ['accounts:read'] });
    recordSecret(doomed.clientSecret, doomed.apiKey);
    const auth = `Basic ${Buffer.from(`${doomed.app.id}:${doomed.clientSecret}`).toString('base64')}`;
    const ask = () => fetch(`${gatehouse.url}/oauth/token`, { method: 'POST', headers: { ...form, authorization: auth }, body: 'grant_type=client_credentials' });
    const first = await ask();
    expect(first.status).toBe(200);
    recordSecret(((await first.json()) as { access_token: string }).access_token);
    const other = openStore(gatehouse.database.target);
    try {
      await other.db.deleteFrom('apps').where('id', '=', doomed.app.id).execute();
    } finally {
      await other.close();
    }
    await sleep(CREDENTIAL_CACHE_TTL_MS + 50);
    const refused = await ask();
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('stores a new access token under its mint time and SHA-256, so new rows are keyed in the order they come', async () => {
    const { db } = gatehouse.services;
    const first = await mint();
    await sleep(5);
    const second = await mint();
    const rows = await db.selectFrom('access_tokens').select('id').where('id', 'in', [tokenKey(first), tokenKey(second)]).orderBy('id').execute();
    expect(rows.map((row) => row.id)).toEqual([tokenKey(first), tokenKey(second)]);
    expect(rows[0]!.id.startsWith(first.slice('gha_'.length, 'gha_'.length + 11))).toBe(true);
  });

  it('still accepts an access token minted before tokens carried their mint time (stored by SHA-256 alone)', async () => {
    const { db } = gatehouse.services;
    const older = `gha_${mintToken('accessToken').slice('gha_'.length + 11)}`;
    recordSecret(older);
    const now = Date.now();
    const sha256 = createHash('sha256').update(older).digest('hex');
    await db
      .insertInto('access_tokens')
      .values({ id: sha256, app_id: app.app.id, grant_id: null, account_id: null, scope: 'accounts:read', expires_at: now + 60_000, created_at: now })
      .execute();
    expect((await verify(older)).status).toBe(200);
    const introspect = (token: string) =>
      fetch(`${gatehouse.url}/oauth/introspect`, { method: 'POST', headers: { ...form, authorization: basic() }, body: `token=${token}` }).then((r) => r.json());
    expect(await introspect(older)).toMatchObject({ active: true, client_id: app.app.id, scope: 'accounts:read' });
    const revoked = await fetch(`${gatehouse.url}/oauth/revoke`, { method: 'POST', headers: { ...form, authorization: basic() }, body: `token=${older}` });
    expect(revoked.status).toBe(200);
    expect(await introspect(older)).toEqual({ active: false });
    expect(await db.selectFrom('access_tokens').select('id').where('id', '=', sha256).executeTakeFirst()).toBeUndefined();
  });

  it('answers concurrent client-credentials requests only with tokens already committed (group commit)', async () => {
    const { db } = gatehouse.services;
    const checks = await Promise.all(
      Array.from({ length: 120 }, async () => {
        const token = await mint();
        // the answer came back: the row must be in the database already
        const row = await db.selectFrom('access_tokens').select('id').where('id', '=', tokenKey(token)).executeTakeFirst();
        return row !== undefined;
      }),
    );
    expect(checks.every(Boolean)).toBe(true);
  });

  it('runs a precompiled query with the parameters in their places, and falls back when the builder binds a constant', async () => {
    const { db } = gatehouse.services;
    // the builder names its parameters in the opposite order to the function's
    const byNameAndId = precompiled((d, name: string, id: string) => d.selectFrom('apps').select(['id', 'name']).where('id', '=', id).where('name', '=', name));
    expect(await byNameAndId(db, 'hot', app.app.id)).toEqual({ id: app.app.id, name: 'hot' });
    expect(await byNameAndId(db, 'nope', app.app.id)).toBeUndefined();
    const withConstant = precompiled((d, id: string) => d.selectFrom('apps').select('id').where('id', '=', id).where('client_type', '=', 'confidential'));
    expect(await withConstant(db, app.app.id)).toEqual({ id: app.app.id });
    expect(await withConstant(db, app.app.id)).toEqual({ id: app.app.id });
  });

  it('fails only the bad row of a group commit', async () => {
    const { db } = gatehouse.services;
    const write = groupCommit(db, 'access_tokens');
    const row = () => ({
      id: tokenKey(mintToken('accessToken')),
      app_id: app.app.id,
      grant_id: null,
      account_id: null,
      scope: 'accounts:read',
      expires_at: Date.now() + 60_000,
      created_at: Date.now(),
    });
    const duplicate = row();
    const good = row();
    const results = await Promise.allSettled([write(duplicate), write({ ...duplicate }), write(good)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const stored = await db.selectFrom('access_tokens').select('id').where('id', 'in', [duplicate.id, good.id]).execute();
    expect(stored).toHaveLength(2);
  });

  it('stores each group-commit row in its own columns, whatever order its fields come in', async () => {
    const { db } = gatehouse.services;
    const write = groupCommit(db, 'access_tokens');
    const batch = (rows: ReturnType<typeof tokenRow>[]) => Promise.all(rows.map((row) => write(row)));
    const usual = () => tokenRow(app.app.id);
    // the first batch compiles (and keeps) the 3-row INSERT for the usual field order
    await batch([usual(), usual(), usual()]);
    // the same fields, the last two swapped: put in the kept INSERT as they come, each would land in the other's column
    const { expires_at: expiresAt, created_at: createdAt, ...rest } = usual();
    const swapped = { ...rest, created_at: createdAt, expires_at: expiresAt };
    const { grant_id: _grant, account_id: _account, ...fewer } = usual();
    const rows = [usual(), swapped, usual(), usual(), fewer as ReturnType<typeof tokenRow>, usual()];
    await batch(rows.slice(0, 3));
    await batch(rows.slice(3));
    const ids = rows.map((row) => row.id);
    const stored = await db.selectFrom('access_tokens').select(['id', 'app_id', 'scope', 'expires_at', 'created_at', 'account_id']).where('id', 'in', ids).execute();
    const byId = new Map(stored.map((row) => [row.id, { ...row, expires_at: Number(row.expires_at), created_at: Number(row.created_at) }]));
    const expected = (row: (typeof rows)[number]) => ({ id: row.id, app_id: app.app.id, scope: row.scope, expires_at: row.expires_at, created_at: row.created_at, account_id: null });
    expect(ids.map((key) => byId.get(key))).toEqual(rows.map(expected));
  });

  it.runIf(kind === 'postgres')('keeps the group commit\'s INSERT prepared on the connection, and nothing that returns rows', async () => {
    await gatehouse.services.db.connection().execute(async (connection) => {
      const write = groupCommit(connection, 'access_tokens');
      for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: 5 }, () => write(tokenRow(app.app.id))));
      await connection.selectFrom('access_tokens').selectAll().where('app_id', '=', app.app.id).execute();
      const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(connection);
      const statements = prepared.rows.map((r) => r.statement);
      // the batches' sizes depend on timing (one in flight, the next gathering): some of 1 to 5 rows
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) expect(statement).toMatch(/^insert into "access_tokens" \("id", .*\) values \(\$1, [^;]*\)$/);
    });
  });

  it('keeps one group-commit batch in flight per table: rows handed in meanwhile go in the next one', async () => {
    const counted = countingQueries(gatehouse.services.db);
    const write = groupCommit(counted.db, 'access_tokens');
    const rows = Array.from({ length: 90 }, () => tokenRow(app.app.id));
    const writes: Promise<void>[] = [];
    for (let wave = 0; wave < 3; wave++) {
      writes.push(...rows.slice(wave * 30, wave * 30 + 30).map((row) => write(row)));
      await new Promise((resolve) => setImmediate(resolve)); // the first wave's INSERT has started
    }
    await Promise.all(writes);
    expect(counted.mostInFlight).toBe(1);
    expect(counted.statements).toBeGreaterThanOrEqual(2);
    expect(counted.statements).toBeLessThanOrEqual(3);
    const stored = await gatehouse.services.db.selectFrom('access_tokens').select('id').where('id', 'in', rows.map((row) => row.id)).execute();
    expect(stored).toHaveLength(90);
  });
});

describe('group commit with the database unreachable', () => {
  it('fails the whole batch at once, without retrying its rows one by one', async () => {
    const unreachable = openStore({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/none' });
    try {
      const counted = countingQueries(unreachable.db);
      const write = groupCommit(counted.db, 'access_tokens');
      const results = await Promise.allSettled([1, 2, 3].map(() => write(tokenRow('app_none'))));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      for (const r of results) expect(isDatabaseUnavailable((r as PromiseRejectedResult).reason)).toBe(true);
      expect(counted.statements).toBe(1);
    } finally {
      await unreachable.close();
    }
  });
});

/** An access_tokens row for a fresh token of the app. */
function tokenRow(appId: string) {
  const now = Date.now();
  return { id: tokenKey(mintToken('accessToken')), app_id: appId, grant_id: null, account_id: null, scope: 'accounts:read', expires_at: now + 60_000, created_at: now };
}

/** The same Kysely instance, counting the statements run through it and how many ran at once. */
function countingQueries(db: Db) {
  const counts = { db, statements: 0, inFlight: 0, mostInFlight: 0 };
  counts.db = new Proxy(db, {
    get(target, property) {
      if (property === 'executeQuery') {
        return async (...args: Parameters<Db['executeQuery']>) => {
          counts.statements++;
          counts.mostInFlight = Math.max(counts.mostInFlight, ++counts.inFlight);
          try {
            return await target.executeQuery(...args);
          } finally {
            counts.inFlight--;
          }
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return counts;
}

describe('SQLite statement cache and background checkpoints', () => {
  it('reuses a prepared statement for the same SQL and stays within its size', () => {
    const database = new SQLite(':memory:');
    const cached = withStatementCache(database, 2);
    const first = cached.prepare('select 1');
    expect(cached.prepare('select 1')).toBe(first);
    cached.prepare('select 2');
    cached.prepare('select 3'); // evicts "select 1", the least recently used
    expect(cached.prepare('select 1')).not.toBe(first);
    database.close();
  });

  it("gives the server's connection a page cache of 32 MiB rather than SQLite's 2 MiB", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cache-'));
    const store = openStore({ kind: 'sqlite', path: join(dir, 'db.sqlite') });
    try {
      const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(store.db);
      expect(rows[0]?.cache_size).toBe(-32 * 1024); // negative: KiB, not pages
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checkpoints the WAL into the database file from the background', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ckpt-'));
    const path = join(dir, 'db.sqlite');
    const store = openStore({ kind: 'sqlite', path });
    try {
      await sql`create table t (id integer primary key, v text)`.execute(store.db);
      const sizeBefore = statSync(path).size;
      for (let i = 0; i < 20; i++) {
        await store.db.insertInto('t' as never).values({ v: 'x'.repeat(2000) } as never).execute();
      }
      expect(statSync(path).size).toBe(sizeBefore); // the writes are in the WAL only
      const deadline = Date.now() + 5000;
      while (statSync(path).size === sizeBefore && Date.now() < deadline) await sleep(100);
      expect(statSync(path).size).toBeGreaterThan(sizeBefore);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
