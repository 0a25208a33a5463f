/**
 * How long the proxy believes an account and its opened upstream access token without reading
 * them again. A change made by this process (refresh, reconnect, release, needs_reauth, backoff,
 * metadata, app deletion, key rotation) forgets them at once; one made by another process (a
 * second instance on PostgreSQL, the CLI) is seen within this bound.
 */
export const ACCOUNT_CACHE_TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

interface Entry {
  appId: string;
  value: unknown;
  until: number;
}

// One per process, not per database handle: the store's writers often hold a transaction, not
// the root handle, and account ids are random, so two stores in one process never share a key.
const entries = new Map<string, Entry>();
let generation = 0;

/** Take this before reading the account; hand it to `rememberAccount`. */
export function accountCacheGeneration(): number {
  return generation;
}

/** What `rememberAccount` stored for this app's account, while it is younger than the TTL. */
export function cachedAccount<T>(appId: string, accountId: string): T | undefined {
  const entry = entries.get(accountId);
  if (!entry || entry.appId !== appId) return undefined;
  if (entry.until <= performance.now()) {
    entries.delete(accountId);
    return undefined;
  }
  return entry.value as T;
}

/** Remembers what was read of an account, unless some account changed since `seen` (a racing write). */
export function rememberAccount(appId: string, accountId: string, value: unknown, seen: number): void {
  if (seen !== generation) return;
  if (entries.size >= MAX_ENTRIES && !entries.has(accountId)) entries.delete(entries.keys().next().value!);
  entries.set(accountId, { appId, value, until: performance.now() + ACCOUNT_CACHE_TTL_MS });
}

/**
 * Forgets one account (or all of them). Writers call it after their write is committed; a read
 * that began before it cannot store its answer afterwards.
 */
export function forgetAccount(accountId?: string): void {
  generation += 1;
  if (accountId === undefined) entries.clear();
  else entries.delete(accountId);
}
