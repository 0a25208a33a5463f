// Seeds many accounts, their sealed upstream tokens and Gatehouse access tokens straight into a
// SQLite file: one prepared statement per table, one transaction per 50,000 rows.
import { randomBytes } from 'node:crypto';
import SQLite from 'better-sqlite3';
import { createVault, mintToken, parseKeyring, tokenKey } from '../../packages/server/src/vault/index.ts';

export interface GrowthSeed {
  /** Access tokens (and their accounts) chosen evenly over the rows, for the load to cycle through. */
  sample: { accessToken: string; accountId: string }[];
  seconds: number;
}

/**
 * `count` accounts of `provider` for `appId`, each with its own sealed upstream access and
 * refresh tokens (sealed per account: the AAD binds each to its row, so a blob cannot be reused)
 * and one account-bound Gatehouse access token (distinct random values, stored as SHA-256).
 */
export function seedAccounts(
  sqlitePath: string,
  secretKeys: string,
  options: { appId: string; provider: string; count: number; sample: number; upstreamToken: string; upstreamExpiresAt: number },
): GrowthSeed {
  const started = Date.now();
  const vault = createVault(parseKeyring(secretKeys));
  const db = new SQLite(sqlitePath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // a bench fixture: the seeding itself need not survive a crash
  db.pragma('cache_size = -262144'); // 256 MB of page cache while seeding: random-key index inserts
  const now = Date.now();
  const account = db.prepare(
    `insert into accounts (id, app_id, provider, upstream_subject, end_user_id, name, email, status, scope, template_values, metadata, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, 'active', 'files', '{}', '{}', ?, ?)`,
  );
  const tokens = db.prepare(
    `insert into account_tokens (account_id, access_token_sealed, refresh_token_sealed, id_token_sealed, token_type, expires_at, version, updated_at, refresh_failures, refresh_retry_at, refresh_error)
     values (?, ?, ?, null, 'Bearer', ?, 1, ?, 0, null, null)`,
  );
  const access = db.prepare(
    `insert into access_tokens (id, app_id, grant_id, account_id, scope, expires_at, created_at) values (?, ?, null, ?, 'accounts:read proxy', ?, ?)`,
  );
  const every = Math.max(1, Math.floor(options.count / options.sample));
  const sample: GrowthSeed['sample'] = [];
  const chunk = 50_000;
  const insertChunk = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      // zero-padded counters: ids and subjects arrive in index order, like rows added over time
      const n = i.toString(36).padStart(8, '0');
      const id = `acc_bench${n}${randomBytes(4).toString('hex')}`;
      account.run(id, options.appId, options.provider, `user-${n}`, `end-user-${n}`, `User ${i}`, `user${i}@example.test`, now, now);
      const context = (field: string) => ({ table: 'account_tokens', id, field });
      tokens.run(
        id,
        vault.seal(options.upstreamToken, context('access_token')),
        vault.seal(`up_rt_${i}`, context('refresh_token')),
        options.upstreamExpiresAt,
        now,
      );
      const accessToken = mintToken('accessToken');
      access.run(tokenKey(accessToken), options.appId, id, now + 3_600_000, now);
      if (i % every === 0 && sample.length < options.sample) sample.push({ accessToken, accountId: id });
    }
  });
  for (let from = 0; from < options.count; from += chunk) insertChunk(from, Math.min(options.count, from + chunk));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { sample, seconds: (Date.now() - started) / 1000 };
}
