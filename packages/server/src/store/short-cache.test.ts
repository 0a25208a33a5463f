import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ShortCache } from './short-cache.ts';

describe('ShortCache', () => {
  it('forgets an entry once its time is up', async () => {
    const cache = new ShortCache<string>(30);
    cache.set('a', 'A', cache.generation);
    expect(cache.get('a')).toBe('A');
    await sleep(45);
    expect(cache.get('a')).toBeUndefined();
  });

  it('does not keep an answer read before a clear (a revocation racing a lookup)', () => {
    const cache = new ShortCache<string>(60_000);
    const before = cache.generation;
    cache.forget(); // a revocation lands while the lookup is at the database
    cache.set('token', 'stale facts', before);
    expect(cache.get('token')).toBeUndefined();
    cache.set('token', 'fresh facts', cache.generation);
    expect(cache.get('token')).toBe('fresh facts');
  });

  it('forgets one entry, and an answer read before that is not kept', () => {
    const cache = new ShortCache<string>(60_000);
    cache.set('a', 'A', cache.generation);
    cache.set('b', 'B', cache.generation);
    const before = cache.generation;
    cache.forget('a');
    expect([cache.get('a'), cache.get('b')]).toEqual([undefined, 'B']);
    cache.set('a', 'stale A', before);
    expect(cache.get('a')).toBeUndefined();
  });

  it('stays within its size, dropping the oldest entry', () => {
    const cache = new ShortCache<number>(60_000, 3);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) cache.set(key, i, cache.generation);
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([1, 2, 3]);
  });

  describe('reading an entry in use again before its time is up', () => {
    // a clock of our own: the entry lives 1000 "ms" and is read again once 750 old
    const clock = () => {
      const c = { t: 0, now: () => c.t };
      return c;
    };
    const deferred = <T>() => {
      let resolve!: (value: T) => void;
      const promise = new Promise<T>((res) => (resolve = res));
      return { promise, resolve };
    };

    it('serves the entry while one background read runs, then the new answer for a full time', async () => {
      const time = clock();
      const cache = new ShortCache<string>(1000, 10, time.now);
      const reads: ReturnType<typeof deferred<string | undefined>>[] = [];
      const reload = () => {
        reads.push(deferred<string | undefined>());
        return reads.at(-1)!.promise;
      };
      cache.set('k', 'v1', cache.generation, reload);
      time.t = 700;
      expect(cache.get('k')).toBe('v1');
      expect(reads).toHaveLength(0); // young: not read again
      time.t = 800;
      expect([cache.get('k'), cache.get('k'), cache.get('k')]).toEqual(['v1', 'v1', 'v1']);
      expect(reads).toHaveLength(1); // one read, however often it is asked for
      time.t = 850;
      reads[0]!.resolve('v2');
      await sleep(0);
      expect(cache.get('k')).toBe('v2');
      time.t = 1500; // past the first entry's time, within the new one's (850 + 1000)
      expect(cache.get('k')).toBe('v2');
      time.t = 1850;
      expect(cache.get('k')).toBeUndefined();
    });

    it('reads nothing again for an entry nobody asks for', async () => {
      const time = clock();
      const cache = new ShortCache<string>(1000, 10, time.now);
      let reads = 0;
      cache.set('k', 'v1', cache.generation, async () => `v${++reads}`);
      time.t = 1200;
      expect(cache.get('k')).toBeUndefined();
      expect(reads).toBe(0);
    });

    it('drops an entry the read finds gone (revoked elsewhere) at once', async () => {
      const time = clock();
      const cache = new ShortCache<string>(1000, 10, time.now);
      cache.set('k', 'v1', cache.generation, async () => undefined);
      time.t = 800;
      expect(cache.get('k')).toBe('v1'); // this call starts the read
      await sleep(0);
      expect(cache.get('k')).toBeUndefined();
    });

    it('leaves the entry to run out when the read fails, without reading again', async () => {
      const time = clock();
      const cache = new ShortCache<string>(1000, 10, time.now);
      let reads = 0;
      cache.set('k', 'v1', cache.generation, async () => {
        reads += 1;
        throw new Error('database unavailable');
      });
      time.t = 800;
      expect(cache.get('k')).toBe('v1');
      await sleep(0);
      time.t = 900;
      expect(cache.get('k')).toBe('v1');
      expect(reads).toBe(1);
      time.t = 1000;
      expect(cache.get('k')).toBeUndefined();
    });

    it('does not keep what a read brought back after a clear (a revocation racing it)', async () => {
      const time = clock();
      const cache = new ShortCache<string>(1000, 10, time.now);
      const read = deferred<string | undefined>();
      cache.set('k', 'v1', cache.generation, () => read.promise);
      time.t = 800;
      cache.get('k');
      cache.forget();
      read.resolve('stale');
      await sleep(0);
      expect(cache.get('k')).toBeUndefined();
    });
  });
});
