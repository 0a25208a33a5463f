import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from './open.ts';
import type { AccountStatus, AccountTokensTable, AccountsTable } from './schema.ts';
import { precompiled } from './precompiled.ts';

export type AccountRow = Selectable<AccountsTable>;
export type AccountTokensRow = Selectable<AccountTokensTable>;
export type SealedTokens = Omit<Insertable<AccountTokensTable>, 'account_id' | 'version' | 'updated_at'>;

export interface UpsertAccountInput {
  /** Used only when no account exists yet for (app, provider, subject). */
  newId: string;
  app_id: string;
  provider: string;
  upstream_subject: string;
  end_user_id: string | null;
  name: string | null;
  email: string | null;
  scope: string;
  template_values: string;
  /** Seals the tokens for the account id finally used (the AAD names the row). */
  sealTokens(accountId: string): SealedTokens;
  now: number;
  /** Runs in the same transaction once the account is saved (e.g. to queue its webhook event). */
  within?: ((trx: Db, saved: UpsertedAccount) => Promise<void>) | undefined;
}

export interface UpsertedAccount {
  account: AccountRow;
  created: boolean;
  /** The status before this upsert; null when it created the account. */
  previousStatus: AccountStatus | null;
}

/**
 * Stores a connected account: the same (app, provider, upstream subject) updates the existing
 * row instead of duplicating it. Returns the row and whether it was created.
 */
export async function upsertAccount(db: Db, input: UpsertAccountInput): Promise<UpsertedAccount> {
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('accounts')
      .selectAll()
      .where('app_id', '=', input.app_id)
      .where('provider', '=', input.provider)
      .where('upstream_subject', '=', input.upstream_subject)
      .executeTakeFirst();
    const id = existing?.id ?? input.newId;
    // a (re)connect brings fresh tokens: any refresh backoff of the old ones is over
    const tokens = { ...input.sealTokens(id), refresh_failures: 0, refresh_retry_at: null, refresh_error: null };
    let account: AccountRow;
    if (existing) {
      account = await trx
        .updateTable('accounts')
        .set({
          end_user_id: input.end_user_id ?? existing.end_user_id,
          name: input.name,
          email: input.email,
          status: 'active',
          scope: input.scope,
          template_values: input.template_values,
          updated_at: input.now,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    } else {
      account = await trx
        .insertInto('accounts')
        .values({
          id,
          app_id: input.app_id,
          provider: input.provider,
          upstream_subject: input.upstream_subject,
          end_user_id: input.end_user_id,
          name: input.name,
          email: input.email,
          status: 'active',
          scope: input.scope,
          template_values: input.template_values,
          metadata: '{}',
          created_at: input.now,
          updated_at: input.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    await trx
      .insertInto('account_tokens')
      .values({ account_id: id, ...tokens, version: 1, updated_at: input.now })
      .onConflict((oc) =>
        oc.column('account_id').doUpdateSet((eb) => ({
          ...tokens,
          version: eb('account_tokens.version', '+', 1),
          updated_at: input.now,
        })),
      )
      .execute();
    const saved = { account, created: !existing, previousStatus: existing?.status ?? null };
    await input.within?.(trx, saved);
    return saved;
  });
}

const accountById = precompiled((db, appId: string, id: string) =>
  db.selectFrom('accounts').selectAll().where('id', '=', id).where('app_id', '=', appId),
);

export async function findAccount(db: Db, appId: string, id: string): Promise<AccountRow | undefined> {
  return accountById(db, appId, id);
}

export interface AccountFilter {
  provider?: string | undefined;
  endUserId?: string | undefined;
  status?: AccountStatus | undefined;
  id?: string | undefined;
  /** Exclusive: accounts with an id after this one. */
  after?: string | undefined;
  limit: number;
}

/** One page of the app's accounts in id order (keyset paging). */
export async function listAccounts(db: Db, appId: string, filter: AccountFilter): Promise<AccountRow[]> {
  let query = db.selectFrom('accounts').selectAll().where('app_id', '=', appId);
  if (filter.provider) query = query.where('provider', '=', filter.provider);
  if (filter.endUserId) query = query.where('end_user_id', '=', filter.endUserId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.id) query = query.where('id', '=', filter.id);
  if (filter.after) query = query.where('id', '>', filter.after);
  return query.orderBy('id').limit(filter.limit).execute();
}

export async function updateAccount(
  db: Db,
  appId: string,
  id: string,
  changes: Updateable<AccountsTable>,
): Promise<AccountRow | undefined> {
  return db
    .updateTable('accounts')
    .set(changes)
    .where('id', '=', id)
    .where('app_id', '=', appId)
    .returningAll()
    .executeTakeFirst();
}

const tokensByAccount = precompiled((db, accountId: string) => db.selectFrom('account_tokens').selectAll().where('account_id', '=', accountId));

export async function findTokens(db: Db, accountId: string): Promise<AccountTokensRow | undefined> {
  return tokensByAccount(db, accountId);
}

/**
 * Erases the sealed upstream tokens of an account and marks it revoked, in one transaction
 * (`within` runs in it too, with the revoked row).
 */
export async function wipeAccountTokens(
  db: Db,
  appId: string,
  id: string,
  now: number,
  within?: (trx: Db, account: AccountRow) => Promise<void>,
): Promise<AccountRow | undefined> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('account_tokens').where('account_id', '=', id).execute();
    const account = await trx
      .updateTable('accounts')
      .set({ status: 'revoked', updated_at: now })
      .where('id', '=', id)
      .where('app_id', '=', appId)
      .returningAll()
      .executeTakeFirst();
    if (account) await within?.(trx, account);
    return account;
  });
}
