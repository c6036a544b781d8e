import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { openAnalyticsDb } from '../../src/analytics-store/index.ts';
import { AppError } from '../../src/platform/index.ts';
import { IBM_DEV, MWOZ, SGD, createAnalyticsFixture, dumpTables, ussSlice, type AnalyticsFixture } from '../support/analytics.ts';

// Killed at any point and run again, an ingest ends with exactly the tables of one clean run.

const ROOT = path.resolve(import.meta.dirname, '../..');
const fixtures: AnalyticsFixture[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const fixture of fixtures.splice(0)) await fixture.close();
});
async function fixture() {
  const created = await createAnalyticsFixture();
  fixtures.push(created);
  return created;
}

async function cleanDump(paths: string[], batchSize = 50) {
  const clean = await fixture();
  await clean.ingest({ paths, batchSize });
  return dumpTables(clean.db);
}

/** Runs an ingest that dies right after its `crashAfter`-th committed batch. */
async function crashingRun(fx: AnalyticsFixture, paths: string[], crashAfter: number, batchSize = 50) {
  let batches = 0;
  await expect(
    fx.ingest({
      paths,
      batchSize,
      onBatchCommitted: () => {
        if (++batches === crashAfter) throw new Error('simulated crash');
      },
    }),
  ).rejects.toThrow('simulated crash');
  await fx.reopen();
}

describe('resumable ingest', () => {
  it('resumes a seekable file after its last committed batch and converges (USS)', async () => {
    const fx = await fixture();
    const slice = await ussSlice(MWOZ, fx.dir, 250);
    const expected = await cleanDump([slice]);
    await crashingRun(fx, [slice], 3);
    const rerun = await fx.ingest({ paths: [slice], batchSize: 50 });
    expect(rerun.sources[0]).toMatchObject({ resumedAfter: 150, records: 100, accepted: 100, status: 'completed' });
    expect(await dumpTables(fx.db)).toEqual(expected);
    const [run] = await fx.db.all<{ status: string }>("SELECT status FROM ingest_runs ORDER BY started_at LIMIT 1");
    expect(run!.status).toBe('failed');
  });

  it('resumes gzip and JSON-array sources by skipping what was committed', async () => {
    const fx = await fixture();
    const gz = path.join(fx.dir, 'mwoz.txt.gz');
    await writeFile(gz, gzipSync(await readFile(await ussSlice(MWOZ, fx.dir, 100))));
    const expected = await cleanDump([gz, IBM_DEV]);
    // MWOZ: 2 batches and the final commit; IBM: 4 batches, then the crash.
    await crashingRun(fx, [gz, IBM_DEV], 7);
    const rerun = await fx.ingest({ paths: [gz, IBM_DEV], batchSize: 50 });
    expect(rerun.sources.map((source) => source.resumedAfter)).toEqual([0, 200]);
    expect(rerun.sources[0]).toMatchObject({ unchanged: 100, accepted: 0 });
    expect(rerun.sources[1]).toMatchObject({ accepted: 325 });
    expect(await dumpTables(fx.db)).toEqual(expected);

    // A crash in the middle of the gzip: it cannot seek, so it re-reads and skips.
    const again = await fixture();
    await crashingRun(again, [gz], 1);
    const resumed = await again.ingest({ paths: [gz], batchSize: 50 });
    expect(resumed.sources[0]).toMatchObject({ resumedAfter: 50, records: 50, accepted: 50 });
    const ids = await again.db.all<{ id: string }>('SELECT id FROM interactions ORDER BY id');
    expect(ids.map((row) => row.id)).toEqual(Array.from({ length: 100 }, (_, i) => `mwoz-${String(i + 1).padStart(4, '0')}`));
  });

  it('stops after the current batch when interrupted, and a rerun finishes the job', async () => {
    const fx = await fixture();
    const slice = await ussSlice(MWOZ, fx.dir, 200);
    const expected = await cleanDump([slice]);
    const controller = new AbortController();
    const first = await fx.ingest({ paths: [slice], batchSize: 50, signal: controller.signal, onBatchCommitted: () => controller.abort() });
    // The batch being read when the signal came is written too, then the run stops.
    expect(first.status).toBe('interrupted');
    expect(first.accepted).toBeGreaterThanOrEqual(50);
    expect(first.accepted).toBeLessThan(200);
    const rerun = await fx.ingest({ paths: [slice], batchSize: 50 });
    expect(rerun).toMatchObject({ status: 'completed', accepted: 200 - first.accepted });
    expect(await dumpTables(fx.db)).toEqual(expected);
  });

  it('starts over when the file changed since the interrupted run', async () => {
    const fx = await fixture();
    const source = path.join(fx.dir, 'changing.txt');
    const text = await readFile(await ussSlice(MWOZ, fx.dir, 200), 'utf8');
    await writeFile(source, text);
    await crashingRun(fx, [source], 2);
    await writeFile(source, text.replace('cheap restaurant', 'CHEAP restaurant'));
    const rerun = await fx.ingest({ paths: [source], batchSize: 50 });
    expect(rerun.sources[0]).toMatchObject({ resumedAfter: 0, records: 200, unchanged: 99, updated: 1, accepted: 100 });
  });

  it('converges after the CLI process is killed with SIGKILL mid-run', async () => {
    const fx = await fixture();
    const sources = [await ussSlice(MWOZ, fx.dir, 300), await ussSlice(SGD, fx.dir, 100)];
    const expected = await cleanDump(sources, 20);
    fx.db.close(); // the child process needs the file to itself
    const child = spawn(process.execPath, ['bin/loopwise.js', 'ingest', ...sources, '--listing', 'acme', '--batch-size', '20', '--quiet'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: fx.dir, ANALYTICS_DB_PATH: fx.file, LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    children.push(child);
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? String(code))));
    // Kill once a few batches are in the write-ahead log: a real mid-run kill.
    const deadline = Date.now() + 30_000;
    let killed = false;
    while (Date.now() < deadline) {
      const wal = await stat(`${fx.file}.wal`).catch(() => undefined);
      if (wal && wal.size > 200_000) {
        killed = child.kill('SIGKILL');
        break;
      }
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await exited).toBe(killed ? 'SIGKILL' : '0');
    fx.db = await openAnalyticsDb(fx.file);
    const rerun = await fx.ingest({ paths: sources, batchSize: 20 });
    expect(rerun.status).toBe('completed');
    if (killed) expect(rerun.sources.some((source) => source.resumedAfter > 0) || rerun.sources[0]!.unchanged > 0).toBe(true);
    expect(await dumpTables(fx.db)).toEqual(expected);
  }, 60_000);
});

describe('the single-writer analytics file', () => {
  it('refuses at once, naming the process, while another process holds it', async () => {
    const fx = await fixture();
    fx.db.close();
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api';
         const db = await DuckDBInstance.create(${JSON.stringify(fx.file)});
         process.stdout.write('open\\n');
         setTimeout(() => {}, 60_000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(holder);
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    const error = await openAnalyticsDb(fx.file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'unavailable', extensions: { pid: holder.pid } });
    expect((error as Error).message).toMatch(/in use by another process \(PID \d+\)/);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    fx.db = await openAnalyticsDb(fx.file);
  });
});
