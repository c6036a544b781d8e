import { access, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAnalyticsFixture, MWOZ, ussSlice, type AnalyticsFixture } from '../support/analytics.ts';
import { cliTicketDatabase, runCliCaptured, type CliRun } from '../support/cli.ts';

// `loopwise train`, `score`, `models list|promote|rollback` and `eval satisfaction` as a user runs
// them: a MultiWOZ slice ingested into the analytics store, models saved in the registry of the
// configured database (PostgreSQL, or the CLI's own PGlite in DATA_DIR), JSONL in and out.

const savedEnv = { ...process.env };
let fx: AnalyticsFixture;
let slice: string;
let env: Record<string, string>;
let dropDatabase: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  fx = await createAnalyticsFixture();
  slice = await ussSlice(MWOZ, fx.dir, 80);
  await fx.ingest({ listingId: 'acme', paths: [slice], format: 'uss' });
  fx.db.close(); // the CLI opens the file itself
  const ticketDb = await cliTicketDatabase(fx.dir, { id: 'acme', name: 'Acme' });
  env = { ...ticketDb.env, ANALYTICS_DB_PATH: fx.file };
  dropDatabase = ticketDb.drop;
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
const fast = ['--folds', '2', '--ensemble', '1', '--quiet'];

describe('npx loopwise train / score / models', () => {
  it('score refuses before any model is promoted', async () => {
    const input = path.join(fx.dir, 'none.jsonl');
    await writeFile(input, jsonl([{ id: 'x', context: [] }]));
    const run = await cli('score', '--listing', 'acme', '--target', 'satisfaction', '--input', input, '--output', path.join(fx.dir, 'none.out.jsonl'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no_promoted_model/);
  });

  it('trains, lists, scores with the promoted version, promotes and rolls back', async () => {
    const first = await cli('train', '--listing', 'acme', '--target', 'satisfaction', '--at', 'after-turn', ...fast, '--promote', '--json');
    expect(first.code, first.stderr).toBe(0);
    const trained = JSON.parse(first.stdout);
    expect(trained).toMatchObject({ version: 1, promoted: true, metadata: { kind: 'logistic', target: 'satisfaction', at: 'after-turn', classes: [1, 2, 3, 4, 5] } });
    expect(trained.evaluation.split).toMatchObject({ kind: 'kfold', folds: 2 });
    expect(trained.metadata.metrics.headline.auc).toBeGreaterThan(0.5);

    const human = await cli('train', '--listing', 'acme', '--target', 'satisfaction', '--at', 'before-turn', ...fast);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/saved satisfaction v2 for listing acme \(not promoted/);
    expect(human.stdout).toMatch(/UAR \d\.\d{3}/);

    const list = await cli('models', 'list', '--listing', 'acme', '--json');
    expect(JSON.parse(list.stdout).map((v: { version: number; promoted: boolean }) => [v.version, v.promoted])).toEqual([
      [2, false],
      [1, true],
    ]);

    const input = path.join(fx.dir, 'contexts.jsonl');
    const output = path.join(fx.dir, 'predictions.jsonl');
    await writeFile(
      input,
      jsonl([
        { id: 'c1', context: [{ role: 'customer', text: 'I need a train to Cambridge on Friday.', ts: '2024-01-15T10:00:00Z', channel: 'chat' }, { role: 'csr', text: 'Sorry, there are no trains that day.' }] },
        { id: 'c2', context: [] },
      ]),
    );
    const scored = await cli('score', '--listing', 'acme', '--target', 'satisfaction', '--input', input, '--output', output, '--json');
    expect(scored.code, scored.stderr).toBe(0);
    expect(JSON.parse(scored.stdout)).toMatchObject({ version: 1, lines: 2, scored: 2, rejected: 0 });
    const lines = await readJsonl(output);
    expect(lines.map((line) => line.id)).toEqual(['c1', 'c2']);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(['id', 'probs']);
      expect(line.probs).toHaveLength(5);
      expect(line.probs.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
    }

    // A bad line keeps its place (with the reason) and the command says so.
    const bad = path.join(fx.dir, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify({ id: 'ok', context: [] })}\n{"id": "oops"}\n`);
    const rejected = await cli('score', '--listing', 'acme', '--target', 'satisfaction', '--input', bad, '--output', path.join(fx.dir, 'bad.out.jsonl'));
    expect(rejected.code).toBe(1);
    expect((await readJsonl(path.join(fx.dir, 'bad.out.jsonl'))).map((line) => Object.keys(line).sort().join())).toEqual(['id,probs', 'error,id']);

    expect((await cli('models', 'promote', '--listing', 'acme', '--target', 'satisfaction', '--version', '2')).code).toBe(0);
    const back = await cli('models', 'rollback', '--listing', 'acme', '--target', 'satisfaction', '--json');
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ version: 1, promoted: true });
    expect(await exists(`${output}.${process.pid}.tmp`)).toBe(false);
  });

  it('while a server holds the stores, says to train through its API', async () => {
    const info = path.join(fx.dir, 'server.json');
    await writeFile(info, JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:9' }));
    try {
      const run = await cli('train', '--listing', 'acme', '--target', 'satisfaction', ...fast);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/server is running at http:\/\/127\.0\.0\.1:9 .*through its API: POST http:\/\/127\.0\.0\.1:9\/v1\/models\/satisfaction\/train/);
    } finally {
      await rm(info, { force: true });
    }
  });

  it('refuses a target the listing has no labels for, with the reason', async () => {
    const run = await cli('train', '--listing', 'acme', '--target', 'converted', ...fast);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no "converted" labels/);
  });
});

describe('npx loopwise eval satisfaction', () => {
  it('runs the whole path on a USS file and prints the protocol figures', async () => {
    const run = await cli('eval', 'satisfaction', '--format', 'uss', '--data', slice, '--folds', '3', '--ensemble', '1', '--quiet', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ dialogues: 80, folds: 3, at: 'before-turn', model: 'logistic' });
    for (const name of ['uar', 'kappa', 'spearman', 'f1Dissatisfied', 'aucDissatisfied', 'logLoss', 'brier']) expect(typeof result.metrics[name]).toBe('number');
    expect(result.metrics.uar).toBeGreaterThan(0.2);
    expect(result.published).toMatchObject({ BERT: { uar: 0.256 } });
    expect(result.evaluation.folds).toHaveLength(3);
  });
});
