import { defineConfig } from 'vitest/config';

// Integration tests run twice: against the real PostgreSQL server and against embedded PGlite,
// since both are supported production stores. Time zone pinned so date logic is deterministic.
// Tests whose subject is training and ranking on real data (DuckDB, tfjs, the compiled scorers)
// run once, on PostgreSQL: what they write to the ticket database (registry artifacts, the
// suggestion log) is covered on both stores by model-registry, rules and predictions-live.
const TRAINING_HEAVY = [
  'test/integration/models-api.test.ts',
  'test/integration/models-train.test.ts',
  'test/integration/models-cli.test.ts',
  'test/integration/suggest.test.ts',
  'test/integration/suggest-replies.test.ts',
  'test/integration/suggest-cli.test.ts',
];
// Tests of the analytics side alone (DuckDB, the ingest and feature CLIs, which open no ticket
// database or only the embedded one whatever the project): the same code on both projects, so
// they run once too.
const ANALYTICS_ONLY = [
  'test/integration/export.test.ts',
  'test/integration/features-cli.test.ts',
  'test/integration/features-parity.test.ts',
  'test/integration/generate-effects.test.ts',
  'test/integration/ingest-bad-input.test.ts',
  'test/integration/ingest-cli.test.ts',
  'test/integration/ingest-csv.test.ts',
  'test/integration/ingest-datasets.test.ts',
  'test/integration/ingest-fast-parity.test.ts',
  'test/integration/ingest-parquet.test.ts',
  'test/integration/ingest-resume.test.ts',
];
// Tests that start the real server process on its embedded default (PGlite, in-process jobs)
// whatever the project: run once.
const EMBEDDED_PROCESS = ['test/integration/embedded-server.test.ts'];
const integration = (name: 'postgres' | 'pglite') => ({
  test: {
    name,
    include: ['test/integration/**/*.test.ts'],
    exclude: name === 'pglite' ? [...TRAINING_HEAVY, ...ANALYTICS_ONLY, ...EMBEDDED_PROCESS] : [],
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
