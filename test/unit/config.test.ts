import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/platform/index.ts';

describe('configuration', () => {
  it('defaults to the embedded stores', () => {
    const config = parseConfig({});
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.PORT).toBe(3000);
    expect(config.dataDir).toBe(path.resolve('data/local'));
    expect(Object.isFrozen(config)).toBe(true);
  });
  it('treats empty URLs as unset and parses lists', () => {
    const config = parseConfig({ DATABASE_URL: '', REDIS_URL: ' ', ATTACHMENT_TYPES: 'image/png, Application/PDF' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.ATTACHMENT_TYPES).toEqual(['image/png', 'application/pdf']);
  });
  it('fails fast naming every bad key', () => {
    expect(() => parseConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', ADMIN_API_KEY: 'short' })).toThrowError(ConfigError);
    try {
      parseConfig({ PORT: 'eighty', LOG_LEVEL: 'loud' });
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT/);
      expect((error as Error).message).toMatch(/LOG_LEVEL/);
    }
  });
});
