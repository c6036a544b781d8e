import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAnalyticsFixture, MWOZ, ussSlice, type AnalyticsFixture } from '../support/analytics.ts';
import { cliTicketDatabase, runCliCaptured, type CliRun } from '../support/cli.ts';

// `loopwise train --target reply`, `rank`, `suggest` and `eval suggest` as a batch user runs them:
// a reply model trained from a MultiWOZ slice in the analytics store and promoted in the registry
// of the configured database (PostgreSQL, or the CLI's own PGlite in DATA_DIR), JSONL in and out.

const savedEnv = { ...process.env };
let fx: AnalyticsFixture;
let slice: string;
let env: Record<string, string>;
let dropDatabase: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  fx = await createAnalyticsFixture();
  slice = await ussSlice(MWOZ, fx.dir, 40);
  await fx.ingest({ listingId: 'acme', paths: [slice], format: 'uss' });
  const ticketDb = await cliTicketDatabase(fx.dir, { id: 'acme', name: 'Acme' });
  env = { ...ticketDb.env, ANALYTICS_DB_PATH: fx.file };
  dropDatabase = ticketDb.drop;
  // The DuckDB file is one process's at a time: the CLI opens it next.
  fx.db.close();
  const trained = await cli('train', '--listing', 'acme', '--target', 'reply', '--ensemble', '1', '--promote', '--quiet', '--json');
  expect(trained.code, trained.stderr).toBe(0);
  expect(JSON.parse(trained.stdout)).toMatchObject({ version: 1, promoted: true, metadata: { kind: 'reply-dual-encoder', conversations: 40 } });
}, 120_000);
afterAll(async () => {
  await dropDatabase();
  await fx.close().catch(() => undefined);
});
afterEach(() => {
  process.env = { ...savedEnv };
  vi.restoreAllMocks();
});

async function cli(...args: string[]): Promise<CliRun> {
  Object.assign(process.env, env);
  return runCliCaptured(...args);
}

const jsonl = (items: unknown[]) => `${items.map((item) => JSON.stringify(item)).join('\n')}\n`;
const readJsonl = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
const exists = (file: string) => access(file).then(() => true, () => false);

describe('npx loopwise rank / suggest / eval suggest', () => {
  it('rank: one score per candidate, in order; the fitting reply wins', async () => {
    const input = path.join(fx.dir, 'pairs.jsonl');
    const output = path.join(fx.dir, 'scores.jsonl');
    const candidates = ['Your booking was successful. The reference number is 8PFR7T2N.', 'The train leaves at 10:15 from Cambridge.', 'I am sorry, there are no Thai restaurants in the north.'];
    await writeFile(
      input,
      jsonl([
        { id: 'p1', context: [{ role: 'customer', text: 'Please book a table for 2 at 18:00 on Friday.', ts: '2024-01-15T10:00:00Z', channel: 'chat' }], candidates },
        { id: 2, context: [], candidates: ['hello'] },
      ]),
    );
    const run = await cli('rank', '--listing', 'acme', '--input', input, '--output', output, '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ listingId: 'acme', version: 1, lines: 2 });
    const [first, second] = await readJsonl(output);
    expect(first.id).toBe('p1');
    expect(first.scores).toHaveLength(3);
    expect(first.scores[0]).toBeGreaterThan(Math.max(first.scores[1], first.scores[2]));
    expect(second).toEqual({ id: 2, scores: [expect.any(Number)] });
  });

  it('rank: refuses an invalid line with its number and leaves no output behind', async () => {
    const input = path.join(fx.dir, 'bad.jsonl');
    const output = path.join(fx.dir, 'bad-scores.jsonl');
    await writeFile(input, jsonl([{ id: 'ok', context: [], candidates: ['a'] }, { id: 'bad', context: [{ role: 'agent', text: 'x' }], candidates: ['a'] }]));
    const run = await cli('rank', '--listing', 'acme', '--input', input, '--output', output);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/line 2: context\.0\.role/);
    expect(await exists(output)).toBe(false);
    const missing = await cli('rank', '--listing', 'nobody', '--input', input, '--output', output);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no promoted reply model/);
  });

  it('suggest: the top N canonical replies with source and score', async () => {
    const input = path.join(fx.dir, 'contexts.jsonl');
    const output = path.join(fx.dir, 'suggestions.jsonl');
    await writeFile(input, jsonl([{ id: 'c1', context: [{ role: 'customer', text: 'Thank you, that is all I need. Goodbye!' }] }]));
    const run = await cli('suggest', '--listing', 'acme', '--input', input, '--output', output, '--top', '3');
    expect(run.code).toBe(0);
    const [line] = await readJsonl(output);
    expect(line.id).toBe('c1');
    expect(line.suggestions).toHaveLength(3);
    for (const suggestion of line.suggestions) {
      expect(Object.keys(suggestion).sort()).toEqual(['score', 'source', 'text']);
      expect(suggestion.source).toBe('learned');
    }
    expect(line.suggestions[0].score).toBeGreaterThanOrEqual(line.suggestions[1].score);
    expect(line.suggestions.some((suggestion: { text: string }) => /welcome|goodbye|bye|great day/i.test(suggestion.text))).toBe(true);
  });

  it('eval suggest: cross-validated figures with the BM25 baseline from the same run', async () => {
    const run = await cli('eval', 'suggest', '--format', 'uss', '--data', slice, '--folds', '2', '--only-folds', '1', '--ensemble', '1', '--negatives', '19', '--quiet', '--json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ task: 'response-selection', conversations: 40, candidates: 20, baseline: { name: 'bm25-last-turn' } });
    expect(report.folds).toHaveLength(1);
    expect(report.model.examples).toBeGreaterThan(150);
    expect(report.model.examples).toBe(report.baseline.examples);
    // Chance is 0.05 at 1-of-20.
    expect(report.model.recallAt1).toBeGreaterThan(0.2);
    const human = await cli('eval', 'suggest', '--format', 'uss', '--data', slice, '--folds', '2', '--only-folds', '1', '--ensemble', '1', '--negatives', '19', '--quiet');
    expect(human.stdout).toMatch(/1-of-20 response selection/);
    expect(human.stdout).toMatch(/baseline \(bm25-last-turn\)/);
  });
});
