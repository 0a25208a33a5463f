import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ShortCache } from './cache.ts';

describe('ShortCache (credential cache)', () => {
  it('forgets an entry once its time is up', async () => {
    const cache = new ShortCache<string>(30);
    cache.set('a', 'A', cache.generation);
    expect(cache.get('a')).toBe('A');
    await sleep(45);
    expect(cache.get('a')).toBeUndefined();
  });

  it('does not keep an answer read before a clear (a revocation racing a lookup)', () => {
    const cache = new ShortCache<string>();
    const before = cache.generation;
    cache.clear(); // a revocation lands while the lookup is at the database
    cache.set('token', 'stale facts', before);
    expect(cache.get('token')).toBeUndefined();
    cache.set('token', 'fresh facts', cache.generation);
    expect(cache.get('token')).toBe('fresh facts');
  });

  it('stays within its size, dropping the oldest entry', () => {
    const cache = new ShortCache<number>(60_000, 3);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) cache.set(key, i, cache.generation);
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([1, 2, 3]);
  });
});
