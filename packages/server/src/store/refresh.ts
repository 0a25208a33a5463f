import type { Db } from './open.ts';
import type { AccountRow, AccountTokensRow } from './accounts.ts';
import { forgetAccount } from './account-cache.ts';

export interface LockedAccount {
  account: AccountRow;
  tokens: AccountTokensRow | undefined;
}

/**
 * Runs `work` with the account and its token row read afresh. On PostgreSQL this happens in a
 * transaction holding `SELECT … FOR UPDATE` on the account_tokens row, so one refresh per account
 * runs at a time across every instance; what `work` writes through the given handle commits with
 * it. On SQLite (one process, the caller single-flights) no transaction is held across `work`:
 * SQLite has one connection, and an upstream call must not stall every other query.
 */
export async function withLockedTokens<T>(
  db: Db,
  lock: boolean,
  appId: string,
  accountId: string,
  work: (db: Db, locked: LockedAccount | undefined) => Promise<T>,
): Promise<T> {
  const read = async (handle: Db): Promise<LockedAccount | undefined> => {
    let tokensQuery = handle.selectFrom('account_tokens').selectAll().where('account_id', '=', accountId);
    if (lock) tokensQuery = tokensQuery.forUpdate();
    const tokens = await tokensQuery.executeTakeFirst();
    const account = await handle.selectFrom('accounts').selectAll().where('id', '=', accountId).where('app_id', '=', appId).executeTakeFirst();
    return account ? { account, tokens } : undefined;
  };
  try {
    if (!lock) return await work(db, await read(db));
    return await db.transaction().execute(async (trx) => work(trx, await read(trx)));
  } finally {
    // what `work` wrote is committed (or rolled back) only now
    forgetAccount(accountId);
  }
}

export interface RefreshedTokens {
  access_token_sealed: string;
  /** Null keeps the refresh token already stored (the provider sent no new one). */
  refresh_token_sealed: string | null;
  id_token_sealed: string | null;
  token_type: string;
  expires_at: number | null;
}

/**
 * Stores a refreshed token set (the rotated refresh token with it), clears the backoff and marks
 * the account active. `expectedVersion` guards against overwriting a reconnect that landed in
 * between: false when the row changed.
 */
export async function saveRefreshedTokens(
  db: Db,
  accountId: string,
  expectedVersion: number,
  tokens: RefreshedTokens,
  scope: string | null,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('account_tokens')
    .set((eb) => ({
      access_token_sealed: tokens.access_token_sealed,
      refresh_token_sealed: tokens.refresh_token_sealed ?? eb.ref('refresh_token_sealed'),
      id_token_sealed: tokens.id_token_sealed ?? eb.ref('id_token_sealed'),
      token_type: tokens.token_type,
      expires_at: tokens.expires_at,
      version: eb('version', '+', 1),
      refresh_failures: 0,
      refresh_retry_at: null,
      refresh_error: null,
      updated_at: now,
    }))
    .where('account_id', '=', accountId)
    .where('version', '=', expectedVersion)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  await db
    .updateTable('accounts')
    .set({ status: 'active', ...(scope !== null ? { scope } : {}), updated_at: now })
    .where('id', '=', accountId)
    .where('status', '<>', 'revoked')
    .execute();
  // after both writes: a read between them must not remember new tokens with the old status
  forgetAccount(accountId);
  return true;
}

/** Notes a transient refresh failure: the tokens stay, no attempt before `retryAt`. */
export async function recordRefreshFailure(
  db: Db,
  accountId: string,
  failure: { failures: number; retryAt: number; error: string; now: number },
): Promise<void> {
  await db
    .updateTable('account_tokens')
    .set({ refresh_failures: failure.failures, refresh_retry_at: failure.retryAt, refresh_error: failure.error, updated_at: failure.now })
    .where('account_id', '=', accountId)
    .execute();
  forgetAccount(accountId);
}

/** The provider refused the grant: the account waits for a reconnect, no more refresh attempts. */
export async function markNeedsReauth(db: Db, accountId: string, error: string, now: number): Promise<void> {
  await db
    .updateTable('account_tokens')
    .set({ refresh_retry_at: null, refresh_error: error, updated_at: now })
    .where('account_id', '=', accountId)
    .execute();
  await db
    .updateTable('accounts')
    .set({ status: 'needs_reauth', updated_at: now })
    .where('id', '=', accountId)
    .where('status', '=', 'active')
    .execute();
  forgetAccount(accountId);
}


export interface DueAccount {
  account_id: string;
  app_id: string;
  provider: string;
  expires_at: number | null;
  updated_at: number;
}

/**
 * Active accounts with a refresh token, not in backoff, whose access token expires before
 * `expiringBefore` or whose tokens were last renewed before `idleBefore` (null: no keep-alive);
 * soonest expiry first.
 */
export async function dueForRefresh(
  db: Db,
  options: { now: number; expiringBefore: number; idleBefore: number | null; limit: number },
): Promise<DueAccount[]> {
  return db
    .selectFrom('account_tokens as t')
    .innerJoin('accounts as a', 'a.id', 't.account_id')
    .select(['t.account_id', 'a.app_id', 'a.provider', 't.expires_at', 't.updated_at'])
    .where('a.status', '=', 'active')
    .where('t.refresh_token_sealed', 'is not', null)
    .where((eb) => eb.or([eb('t.refresh_retry_at', 'is', null), eb('t.refresh_retry_at', '<=', options.now)]))
    .where((eb) => {
      const expiring = eb.and([eb('t.expires_at', 'is not', null), eb('t.expires_at', '<=', options.expiringBefore)]);
      return options.idleBefore === null ? expiring : eb.or([expiring, eb('t.updated_at', '<=', options.idleBefore)]);
    })
    .orderBy('t.expires_at')
    .limit(options.limit)
    .execute();
}
