import { refreshUpstream } from '../connect/index.ts';
import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import { metricsFor } from '../metrics/index.ts';
import type { Services } from '../services.ts';
import {
  accountCacheGeneration,
  cachedAccount,
  findAccount,
  findTokens,
  markNeedsReauth,
  recordAudit,
  recordRefreshFailure,
  rememberAccount,
  saveRefreshedTokens,
  withLockedTokens,
  type AccountRow,
  type AccountTokensRow,
  type Db,
} from '../store/index.ts';
import { newId } from '../vault/index.ts';
import { emitForAccount } from './events.ts';
import { toAccountView, type AccountView } from './views.ts';

export const DEFAULT_REFRESH_MARGIN_SECONDS = 5 * 60;
/** Cooldown after the first transient failure; doubles with each further one, up to the max. */
export const BACKOFF_BASE_MS = 30_000;
export const BACKOFF_MAX_MS = 30 * 60_000;

export interface FreshToken {
  accessToken: string;
  /** The token_type the provider gave with it (e.g. "bearer"). */
  tokenType: string;
  /** Milliseconds since the epoch; null when the provider gave no lifetime. */
  expiresAt: number | null;
}

export interface FreshTokenOptions {
  /** Refresh even when the token is not near its expiry (still one refresh at a time). */
  force?: boolean | undefined;
  /** The upstream call's time limit (tests shorten it). */
  timeoutMs?: number | undefined;
  /** The account's row when the caller has just read it (the proxy): saves reading it again. */
  account?: AccountRow | undefined;
}

/** In-process single-flight, per store (two Services in one process behave like two instances). */
const inflight = new WeakMap<Db, Map<string, Promise<FreshToken>>>();

/**
 * A usable upstream access token for the account: the stored one while it is not within the
 * provider's refresh margin of its expiry, otherwise a refreshed one. Concurrent callers in one
 * process share one refresh; on PostgreSQL one refresh per account runs cluster-wide (row lock).
 * Fails with needs_reauth when only a reconnect helps, upstream_backoff (424) while a transient
 * failure's cooldown runs and the stored token is no longer usable.
 */
export async function freshAccessToken(
  services: Services,
  appId: string,
  accountId: string,
  options: FreshTokenOptions = {},
): Promise<FreshToken> {
  const known = options.account?.id === accountId && options.account.app_id === appId ? options.account : undefined;
  const account = known ?? (await findAccount(services.db, appId, accountId)) ?? fail(ErrorCode.notFound, 'no such account');
  const tokens = usableTokens(account, await findTokens(services.db, account.id));
  const now = services.clock();
  if (!options.force && !expiring(services, account, tokens, now)) return opened(services, tokens);
  if (inBackoff(tokens, now)) {
    if (!options.force && notExpired(tokens, now)) return opened(services, tokens);
    throw backoffError(tokens);
  }
  let flights = inflight.get(services.db);
  if (!flights) inflight.set(services.db, (flights = new Map()));
  const running = flights.get(account.id);
  if (running) return running;
  const flight = refreshLocked(services, appId, account.id, tokens.version, options).finally(() => flights.delete(account.id));
  flights.set(account.id, flight);
  return flight;
}

/** An account as the proxy needs it: its row and a usable upstream access token. */
export interface AccountAccess {
  account: AccountRow;
  token: FreshToken;
}

/**
 * The account and its fresh access token for a proxied call. What was read and opened is kept
 * for ACCOUNT_CACHE_TTL_MS (store/account-cache.ts) and used again only while the token is
 * outside the provider's refresh margin; a token near its expiry always goes the
 * freshAccessToken way. Every write to the account or its tokens in this process forgets it.
 */
export async function accountAccess(services: Services, appId: string, accountId: string): Promise<AccountAccess> {
  const cached = rememberedAccess(services, appId, accountId);
  if (cached) return cached;
  const seen = accountCacheGeneration();
  const access = (await readAccess(services, appId, accountId)) ?? fail(ErrorCode.notFound, 'no such account');
  rememberAccount(appId, accountId, access, seen, () => readAccess(services, appId, accountId));
  return access;
}

async function readAccess(services: Services, appId: string, accountId: string): Promise<AccountAccess | undefined> {
  const account = await findAccount(services.db, appId, accountId);
  return account && { account, token: await freshAccessToken(services, appId, accountId, { account }) };
}

/** accountAccess's remembered answer, without a turn of the event loop; undefined when it must read. */
export function rememberedAccess(services: Services, appId: string, accountId: string): AccountAccess | undefined {
  const cached = cachedAccount<AccountAccess>(appId, accountId);
  return cached && !expiring(services, cached.account, { expires_at: cached.token.expiresAt }, services.clock()) ? cached : undefined;
}

type Outcome = { token: FreshToken } | { error: GatehouseError };

async function refreshLocked(services: Services, appId: string, accountId: string, seenVersion: number, options: FreshTokenOptions): Promise<FreshToken> {
  const lock = services.config.database.kind === 'postgres';
  const outcome = await withLockedTokens(services.db, lock, appId, accountId, async (db, locked): Promise<Outcome> => {
    if (!locked) return fail(ErrorCode.notFound, 'no such account');
    const { account } = locked;
    const tokens = usableTokens(account, locked.tokens);
    const now = services.clock();
    // Another instance (or a reconnect) stored a token while this one waited for the lock: use it.
    if (!expiring(services, account, tokens, now) && (!options.force || tokens.version !== seenVersion)) {
      return { token: opened(services, tokens) };
    }
    if (inBackoff(tokens, now)) {
      return !options.force && notExpired(tokens, now) ? { token: opened(services, tokens) } : { error: backoffError(tokens) };
    }
    if (!tokens.refresh_token_sealed) {
      if (notExpired(tokens, now)) return { token: opened(services, tokens) };
      const reason = 'the token expired and the provider gave no refresh token';
      await markNeedsReauth(db, account.id, reason, now);
      await auditNeedsReauth(db, account, now);
      await emitForAccount(db, appId, account.id, 'account.refresh_failed', now, { reason: 'needs_reauth', error: reason });
      return { error: needsReauthError() };
    }
    const refreshToken = services.vault.open(tokens.refresh_token_sealed, { table: 'account_tokens', id: account.id, field: 'refresh_token' });
    // through the locked connection: a second pool connection per refresh could exhaust the pool
    const result = await refreshUpstream({ ...services, db }, account, refreshToken, { timeoutMs: options.timeoutMs });
    const after = services.clock();
    metricsFor(services).refresh.inc({ outcome: result.ok ? 'success' : result.kind });
    if (result.ok) {
      const seal = (value: string | undefined, field: string) =>
        value ? services.vault.seal(value, { table: 'account_tokens', id: account.id, field }) : null;
      const expiresAt = typeof result.tokens.expires_in === 'number' ? after + result.tokens.expires_in * 1000 : null;
      const saved = await saveRefreshedTokens(
        db,
        account.id,
        tokens.version,
        {
          access_token_sealed: seal(result.tokens.access_token, 'access_token')!,
          refresh_token_sealed: seal(result.tokens.refresh_token, 'refresh_token'),
          id_token_sealed: seal(result.tokens.id_token, 'id_token'),
          token_type: result.tokens.token_type ?? tokens.token_type,
          expires_at: expiresAt,
        },
        result.tokens.scope ?? null,
        after,
      );
      if (!saved) {
        // a reconnect replaced the row meanwhile: its tokens are the newer ones
        const current = await findTokens(db, account.id);
        return current?.access_token_sealed
          ? { token: opened(services, current as AccountTokensRow & { access_token_sealed: string }) }
          : { error: needsReauthError() };
      }
      if (tokens.refresh_failures > 0) {
        await emitForAccount(db, appId, account.id, 'account.recovered', after, { reason: 'refreshed', previous_failures: tokens.refresh_failures });
      }
      return { token: { accessToken: result.tokens.access_token, tokenType: result.tokens.token_type ?? tokens.token_type, expiresAt } };
    }
    services.logger.warn({ account: account.id, provider: account.provider, kind: result.kind, reason: result.description }, 'upstream refresh failed');
    if (result.kind === 'invalid_grant') {
      await markNeedsReauth(db, account.id, result.description, after);
      await auditNeedsReauth(db, account, after);
      await emitForAccount(db, appId, account.id, 'account.refresh_failed', after, { reason: 'needs_reauth', error: result.description });
      return { error: needsReauthError() };
    }
    const failures = tokens.refresh_failures + 1;
    const cooldown = Math.max(
      Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS),
      Math.min((result.retryAfterSeconds ?? 0) * 1000, BACKOFF_MAX_MS),
    );
    const failure = { failures, retryAt: after + cooldown, error: result.description, now: after };
    await recordRefreshFailure(db, account.id, failure);
    // once when the account enters backoff, not at every further attempt
    if (failures === 1) {
      await emitForAccount(db, appId, account.id, 'account.refresh_failed', after, {
        reason: 'transient',
        error: result.description,
        retry_at: new Date(failure.retryAt).toISOString(),
      });
    }
    // the old token is kept: while it has not expired, the caller can still use it
    if (!options.force && notExpired(tokens, after)) return { token: opened(services, tokens) };
    return { error: backoffError({ refresh_error: failure.error, refresh_retry_at: failure.retryAt }) };
  });
  if ('error' in outcome) throw outcome.error;
  return outcome.token;
}

function usableTokens(account: AccountRow, tokens: AccountTokensRow | undefined): AccountTokensRow & { access_token_sealed: string } {
  if (account.status === 'revoked') fail(ErrorCode.conflict, 'this account was released; connect it again to use it');
  if (account.status === 'needs_reauth') throw needsReauthError();
  if (!tokens?.access_token_sealed) throw needsReauthError();
  return tokens as AccountTokensRow & { access_token_sealed: string };
}

function expiring(services: Services, account: AccountRow, tokens: Pick<AccountTokensRow, 'expires_at'>, now: number): boolean {
  if (tokens.expires_at === null) return false;
  const margin = services.catalog.get(account.provider)?.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS;
  return tokens.expires_at - now <= margin * 1000;
}

const notExpired = (tokens: AccountTokensRow, now: number) => tokens.expires_at === null || tokens.expires_at > now;
const inBackoff = (tokens: AccountTokensRow, now: number) => tokens.refresh_retry_at !== null && tokens.refresh_retry_at > now;

function opened(services: Services, tokens: AccountTokensRow & { access_token_sealed: string }): FreshToken {
  const accessToken = services.vault.open(tokens.access_token_sealed, { table: 'account_tokens', id: tokens.account_id, field: 'access_token' });
  return { accessToken, tokenType: tokens.token_type, expiresAt: tokens.expires_at };
}

function backoffError(tokens: Pick<AccountTokensRow, 'refresh_error' | 'refresh_retry_at'>): GatehouseError {
  const when = tokens.refresh_retry_at !== null ? new Date(tokens.refresh_retry_at).toISOString() : 'later';
  return new GatehouseError(
    ErrorCode.upstreamBackoff,
    `refreshing this account's token failed at the provider (${tokens.refresh_error ?? 'unknown error'}); the next attempt is after ${when}`,
  );
}

const needsReauthError = () =>
  new GatehouseError(ErrorCode.needsReauth, 'the provider no longer accepts this account\'s grant; the end user must reconnect it');

async function auditNeedsReauth(db: Db, account: AccountRow, now: number): Promise<void> {
  await recordAudit(db, {
    id: newId('aud'),
    appId: account.app_id,
    actor: 'system',
    action: 'account.needs_reauth',
    subject: account.id,
    detail: { provider: account.provider },
    at: now,
  });
}

/**
 * Ensures the account holds a fresh upstream token (refreshing now when `force`), for the API:
 * the account as the API shows it and when its token expires, never the token.
 */
export async function refreshAccount(
  services: Services,
  appId: string,
  accountId: string,
  options: FreshTokenOptions = {},
): Promise<AccountView & { expires_at: string | null }> {
  const { expiresAt } = await freshAccessToken(services, appId, accountId, options);
  const account = (await findAccount(services.db, appId, accountId)) ?? fail(ErrorCode.notFound, 'no such account');
  return { ...toAccountView(account), expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString() };
}
