import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeGenerated } from '../../data/generate/index.ts';
import { runCliCaptured, type CliRun } from '../support/cli.ts';
import { createProgressReporter } from '../../src/cli/ingest-progress.ts';
import { ABCD_SAMPLE, MWOZ, createAnalyticsFixture, ussSlice, type AnalyticsFixture } from '../support/analytics.ts';

let fx: AnalyticsFixture;
const savedEnv = { ...process.env };

beforeAll(async () => {
  fx = await createAnalyticsFixture();
  fx.db.close(); // the CLI opens the file itself
});
afterAll(async () => {
  await fx.close().catch(() => undefined);
});
afterEach(() => {
  process.env = { ...savedEnv };
  vi.restoreAllMocks();
});

async function cli(...args: string[]): Promise<CliRun> {
  Object.assign(process.env, { DATA_DIR: fx.dir, ANALYTICS_DB_PATH: fx.file, LOG_LEVEL: 'silent' });
  return runCliCaptured(...args);
}

describe('npx loopwise ingest / quarantine', () => {
  it('ingests files with a JSON summary, and lists and exports the quarantine', async () => {
    const slice = await ussSlice(MWOZ, fx.dir, 50);
    const bad = path.join(fx.dir, 'bad.jsonl');
    await writeFile(bad, '{"id":"x","messages":[{"role":"customer","text":"mail bob@example.com"}]}\n{oops jane@example.com\n');
    const run = await cli('ingest', slice, ABCD_SAMPLE, bad, '--listing', 'acme', '--json', '--quiet');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ status: 'completed', listingId: 'acme', records: 55, accepted: 54, quarantined: 1 });
    expect(summary.sources.map((source: { format: string }) => source.format)).toEqual(['uss', 'abcd', 'jsonl']);

    const human = await cli('ingest', slice, '--listing', 'acme', '--quiet');
    expect(human.stdout).toMatch(/50 records: 0 new, 0 updated, 50 unchanged, 0 quarantined/);

    const listed = await cli('quarantine', 'list', '--listing', 'acme', '--json');
    const rows = JSON.parse(listed.stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source: bad, recordIndex: 1, line: 2, reason: 'malformed_json' });
    expect(rows[0].excerpt).toBe('{oops [email]');
    expect((await cli('quarantine', 'list', '--listing', 'acme')).stdout).toMatch(/bad\.jsonl \(record 1, line 2, byte \d+\): malformed_json/);
    expect((await cli('quarantine', 'list', '--listing', 'other')).stdout).toBe('(nothing quarantined)\n');

    const out = path.join(fx.dir, 'quarantine.jsonl');
    expect((await cli('quarantine', 'export', '--listing', 'acme', '--out', out)).code).toBe(0);
    const exported = (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(exported).toEqual([expect.objectContaining({ reason: 'malformed_json', line: 2 })]);
  });

  it('ingests a CSV messages table with its interactions table', async () => {
    const written = await writeGenerated({ out: path.join(fx.dir, 'gen.csv'), conversations: 50, seed: 5 });
    const run = await cli('ingest', written.files[0]!, '--interactions', written.files[1]!, '--listing', 'csv', '--json', '--quiet');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'completed', accepted: 50, quarantined: 0, messages: written.messages });
  });

  it('refuses raw text unless the listing allows it', async () => {
    const file = path.join(fx.dir, 'raw.jsonl');
    await writeFile(file, '{"id":"raw-1","messages":[{"role":"customer","text":"I am bob@example.com"}]}\n');
    const refused = await cli('ingest', file, '--listing', 'acme', '--no-redact', '--quiet');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not allow raw text/);

    process.env.INGEST_RAW_TEXT_LISTINGS = 'lab, research';
    const allowed = await cli('ingest', file, '--listing', 'lab', '--no-redact', '--quiet', '--json');
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ redact: false, accepted: 1 });
  });

  it('explains usage errors and unsupported formats', async () => {
    const parquet = await cli('ingest', MWOZ, '--listing', 'acme', '--format', 'parquet', '--quiet');
    expect(parquet.code).toBe(2);
    expect(parquet.stderr).toMatch(/cannot read .*MWOZ\.txt as Parquet/);
    const pairing = await cli('ingest', MWOZ, '--interactions', MWOZ, '--listing', 'acme', '--quiet');
    expect(pairing.code).toBe(2);
    expect(pairing.stderr).toMatch(/goes with CSV or Parquet input/);
    const listing = await cli('ingest', MWOZ, '--listing', 'Not Valid', '--quiet');
    expect(listing.code).toBe(2);
    const missing = await cli('ingest', path.join(fx.dir, 'nope.jsonl'), '--listing', 'acme', '--quiet');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file/);
  });
});

describe('ingest progress', () => {
  const progress = (bytesRead: number) => ({ source: '/x/MWOZ.txt', sourceNumber: 1, sourceCount: 2, bytesRead, totalBytes: 1000, records: 500, quarantined: 2, elapsedMs: 2000 });

  it('draws a bar with rate and ETA on a terminal', () => {
    let out = '';
    let time = 0;
    const reporter = createProgressReporter({ isTTY: true, columns: 200, write: (chunk: string) => ((out += chunk), true) }, { now: () => time });
    time = 1000;
    reporter.update(progress(250));
    expect(out).toContain('[######------------------]  25% MWOZ.txt (1/2): 500 records, 2 quarantined, 250/s, ETA 6s');
    reporter.done();
    expect(out.endsWith('\r\u001b[2K')).toBe(true);
  });

  it('prints plain periodic lines otherwise', () => {
    const lines: string[] = [];
    let time = 0;
    const reporter = createProgressReporter({ write: (chunk: string) => (lines.push(chunk), true) }, { now: () => time, intervalMs: 5000 });
    reporter.update(progress(100));
    expect(lines).toEqual([]);
    time = 6000;
    reporter.update(progress(500));
    expect(lines).toEqual(['ingest: MWOZ.txt (1/2):  50%, 500 records, 2 quarantined, 250/s, ETA 2s\n']);
  });
});
