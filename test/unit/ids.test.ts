import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newId } from '../../src/platform/index.ts';

describe('newId', () => {
  it('is a valid version-7 UUID whose first 48 bits are the creation time', () => {
    const before = Date.now();
    const id = newId();
    expect(z.uuid().safeParse(id).success).toBe(true);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    const millis = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(millis).toBeGreaterThanOrEqual(before);
    expect(millis).toBeLessThanOrEqual(Date.now());
  });
  it('sorts by creation time across milliseconds and never repeats', async () => {
    const first = newId();
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = newId();
    expect(first < second).toBe(true);
    expect(new Set(Array.from({ length: 10_000 }, newId)).size).toBe(10_000);
  });
});
