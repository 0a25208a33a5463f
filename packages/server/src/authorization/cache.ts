import type { Db } from '../store/index.ts';

/**
 * How long a credential found in the database (access token, client secret, API key) is believed
 * without asking the database again. A revocation made by this process empties the caches at
 * once; one made by another process (a second instance on PostgreSQL, the CLI) is seen within
 * this bound. Expiry is still checked on every use.
 */
export const CREDENTIAL_CACHE_TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

/**
 * A small map whose entries live CREDENTIAL_CACHE_TTL_MS (monotonic time, not the injectable
 * clock). `clear()` bumps a generation: a lookup that began before a revocation cannot put its
 * (now stale) answer in afterwards.
 */
export class ShortCache<T> {
  readonly #entries = new Map<string, { value: T; until: number }>();
  #generation = 0;

  constructor(
    readonly ttlMs = CREDENTIAL_CACHE_TTL_MS,
    readonly maxEntries = MAX_ENTRIES,
  ) {}

  /** Take this before asking the database; hand it to `set`. */
  get generation(): number {
    return this.#generation;
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= performance.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers an answer read from the database, unless the cache was cleared since `generation`. */
  set(key: string, value: T, generation: number): void {
    if (generation !== this.#generation) return;
    // bounded: past the cap the oldest entry goes (Map keeps insertion order)
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: performance.now() + this.ttlMs });
  }

  clear(): void {
    this.#generation += 1;
    this.#entries.clear();
  }
}

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
    cache = new ShortCache<unknown>();
    caches.set(name, cache);
  }
  return cache as ShortCache<T>;
}

/**
 * Forgets every cached credential of this process: called by whatever revokes a token or grant,
 * deletes an app, or changes its secrets or keys, so that the change holds here immediately.
 */
export function forgetCredentials(db: Db): void {
  for (const cache of byDb.get(db)?.values() ?? []) cache.clear();
}
