import { defineConfig } from 'vitest/config';

// Integration tests run twice: against the real PostgreSQL server and against embedded PGlite,
// since both are supported production stores. Time zone pinned so date logic is deterministic.
const integration = (name: 'postgres' | 'pglite') => ({
  test: {
    name,
    include: ['test/integration/**/*.test.ts'],
    env: { LOOPWISE_TEST_DB: name, TZ: 'UTC' },
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], env: { TZ: 'UTC' } } },
      integration('postgres'),
      integration('pglite'),
      { test: { name: 'browser', include: ['test/browser/**/*.test.ts'], env: { TZ: 'UTC' }, globalSetup: ['test/support/global-setup.ts'], testTimeout: 60_000, hookTimeout: 120_000 } },
    ],
  },
});
