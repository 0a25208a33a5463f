import { forgetAccount, ShortCache, type Db } from '../store/index.ts';

/**
 * How long a credential found in the database (access token, client secret, API key) is believed
 * without asking the database again. A revocation made by this process empties the caches at
 * once; one made by another process (a second instance on PostgreSQL, the CLI) is seen within
 * this bound. Expiry is still checked on every use.
 */
export const CREDENTIAL_CACHE_TTL_MS = 1000;
const byDb = new WeakMap<Db, Map<string, ShortCache<unknown>>>();

/** The named credential cache of one database handle (so one per process and store). */
export function credentialCache<T>(db: Db, name: string): ShortCache<T> {
  let caches = byDb.get(db);
  if (!caches) {
    caches = new Map();
    byDb.set(db, caches);
  }
  let cache = caches.get(name);
  if (!cache) {
    cache = new ShortCache<unknown>(CREDENTIAL_CACHE_TTL_MS);
    caches.set(name, cache);
  }
  return cache as ShortCache<T>;
}

/**
 * Forgets every cached credential of this process: called by whatever revokes a token or grant,
 * deletes an app, or changes its secrets or keys, so that the change holds here immediately.
 */
export function forgetCredentials(db: Db): void {
  for (const cache of byDb.get(db)?.values() ?? []) cache.forget();
  forgetAccount(); // the proxy's accounts (an app deleted takes its accounts with it)
}
