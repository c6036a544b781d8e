import { describe, expect, it } from 'vitest';
import { createBoundedCache } from '../../src/platform/index.ts';

describe('bounded cache', () => {
  it('never holds more than its capacity and keeps what is in use', () => {
    const cache = createBoundedCache<string, number>(100);
    for (let i = 0; i < 10_000; i++) {
      cache.set(`k${i}`, i);
      // One key read all along, as the messages of a live conversation are.
      cache.set('hot', -1);
      expect(cache.get('hot')).toBe(-1);
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.get('k9999')).toBe(9999);
    expect(cache.get('k0')).toBeUndefined();
    // At least half the capacity of the most recent keys is always there.
    for (let i = 9_950; i < 10_000; i++) expect(cache.get(`k${i}`)).toBe(i);
  });

  it('moves a key it finds in the old generation to the young one, and forgets deleted keys', () => {
    const cache = createBoundedCache<string, string>(4);
    cache.set('a', 'A');
    cache.set('b', 'B');
    cache.set('c', 'C'); // a, b age
    expect(cache.get('a')).toBe('A'); // back among the young: c, a
    cache.set('d', 'D'); // young full: c, a age, b dropped
    cache.set('e', 'E');
    expect(cache.has('b')).toBe(false);
    expect(cache.get('a')).toBe('A');
    expect(cache.delete('a')).toBe(true);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.delete('a')).toBe(false);
    cache.set('e', 'E2');
    expect(cache.get('e')).toBe('E2');
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
