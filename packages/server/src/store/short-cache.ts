// A small map whose entries live a short time (monotonic time, not the injectable clock), for
// what the hot paths read from the database: credentials (authorization/cache.ts) and the proxy's
// accounts (account-cache.ts).

const MAX_ENTRIES = 10_000;

/**
 * An entry still in use this long after it was read is read again in the background, while it
 * keeps being served until its time is up. Without it, every request arriving between an entry's
 * end and the database's answer missed and asked the database too (on PostgreSQL, about 130
 * queries a second for one client and token under load), and waited: about 13% of an
 * introspection's CPU on PostgreSQL went to that once-a-second pile-up.
 */
const REFRESH_AFTER_FRACTION = 0.75;

/** Reads an entry's value again from the database; undefined when it is gone (revoked, deleted). */
export type Reload<T> = () => Promise<T | undefined>;

interface Entry<T> {
  value: T;
  until: number;
  refreshAt: number;
  reload: Reload<T> | undefined;
  reloading: boolean;
}

/**
 * Entries live `ttlMs`. `forget()` bumps a generation: a lookup that began before a revocation
 * cannot put its (now stale) answer in afterwards. An entry given a `reload` is read again by one
 * background lookup once it is 3/4 of its time old and asked for: the answer replaces it (a value
 * is only ever served up to `ttlMs` after it was read), an entry found gone is dropped at once,
 * and a failed read leaves the entry to run out.
 */
export class ShortCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  #generation = 0;

  constructor(
    readonly ttlMs: number,
    readonly maxEntries = MAX_ENTRIES,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Take this before asking the database; hand it to `set`. */
  get generation(): number {
    return this.#generation;
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    if (entry.refreshAt <= now && entry.reload && !entry.reloading) this.#reload(key, entry);
    return entry.value;
  }

  /** Remembers an answer read from the database, unless something was forgotten since `generation`. */
  set(key: string, value: T, generation: number, reload?: Reload<T>): void {
    if (generation !== this.#generation) return;
    // bounded: past the cap the oldest entry goes (Map keeps insertion order)
    if (this.#entries.size >= this.maxEntries && !this.#entries.has(key)) this.#entries.delete(this.#entries.keys().next().value!);
    const now = this.now();
    this.#entries.set(key, { value, until: now + this.ttlMs, refreshAt: now + this.ttlMs * REFRESH_AFTER_FRACTION, reload, reloading: false });
  }

  /** Forgets one entry, or all of them; a lookup under way cannot store its answer afterwards. */
  forget(key?: string): void {
    this.#generation += 1;
    if (key === undefined) this.#entries.clear();
    else this.#entries.delete(key);
  }

  #reload(key: string, entry: Entry<T>): void {
    entry.reloading = true;
    const generation = this.#generation;
    entry.reload!().then(
      (value) => {
        if (this.#entries.get(key) !== entry) return; // forgotten or replaced meanwhile
        if (value === undefined) this.#entries.delete(key);
        else this.set(key, value, generation, entry.reload);
      },
      () => {}, // the database did not answer: the entry runs out at its time, as without a reload
    );
  }
}

