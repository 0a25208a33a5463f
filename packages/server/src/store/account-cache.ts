import { ShortCache } from './short-cache.ts';

/**
 * How long the proxy believes an account and its opened upstream access token without reading
 * them again. A change made by this process (refresh, reconnect, release, needs_reauth, backoff,
 * metadata, app deletion, key rotation) forgets them at once; one made by another process (a
 * second instance on PostgreSQL, the CLI) is seen within this bound.
 */
export const ACCOUNT_CACHE_TTL_MS = 1000;

/** Reads an account again as the proxy needs it; undefined when it is gone. */
export type AccountReload = () => Promise<unknown>;

// One per process, not per database handle: the store's writers often hold a transaction, not
// the root handle, and account ids are random, so two stores in one process never share a key.
const accounts = new ShortCache<{ appId: string; value: unknown }>(ACCOUNT_CACHE_TTL_MS);

/** Take this before reading the account; hand it to `rememberAccount`. */
export function accountCacheGeneration(): number {
  return accounts.generation;
}

/**
 * What `rememberAccount` stored for this app's account, while it is younger than the TTL (one
 * still in use near its end is read again in the background meanwhile: see ShortCache).
 */
export function cachedAccount<T>(appId: string, accountId: string): T | undefined {
  const entry = accounts.get(accountId);
  return entry && entry.appId === appId ? (entry.value as T) : undefined;
}

/** Remembers what was read of an account, unless some account changed since `seen` (a racing write). */
export function rememberAccount(appId: string, accountId: string, value: unknown, seen: number, reload?: AccountReload): void {
  const again = reload && (async () => {
    const fresh = await reload();
    return fresh === undefined ? undefined : { appId, value: fresh };
  });
  accounts.set(accountId, { appId, value }, seen, again);
}

/**
 * Forgets one account (or all of them). Writers call it after their write is committed; a read
 * that began before it cannot store its answer afterwards.
 */
export function forgetAccount(accountId?: string): void {
  accounts.forget(accountId);
}
