import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeGenerated } from '../../data/generate/index.ts';
import { runCli } from '../../src/cli/index.ts';
import { exportTable } from '../../src/export/index.ts';
import { countRows } from '../../src/ingest/index.ts';
import { createAnalyticsFixture, type AnalyticsFixture } from '../support/analytics.ts';

let fx: AnalyticsFixture;
const savedEnv = { ...process.env };
beforeAll(async () => {
  fx = await createAnalyticsFixture();
  const out = path.join(fx.dir, 'g.jsonl');
  await writeGenerated({ out, conversations: 300, seed: 11, idPrefix: 'x' });
  await fx.ingest({ paths: [out], listingId: 'acme' });
  await fx.ingest({ paths: [out], listingId: 'other' });
});
afterAll(() => fx.close());
afterEach(() => {
  process.env = { ...savedEnv };
  vi.restoreAllMocks();
});

const file = (name: string) => path.join(fx.dir, name);

describe('export', () => {
  it('writes Parquet that DuckDB reads back with the same rows', async () => {
    const counts = await countRows(fx.db, 'acme');
    for (const table of ['interactions', 'messages', 'labels', 'events'] as const) {
      const summary = await exportTable(fx.db, { listingId: 'acme', table, to: file(`${table}.parquet`) });
      expect(summary).toMatchObject({ format: 'parquet', rows: counts[table] });
      const [back] = await fx.db.all<{ n: number; listings: number }>(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT listing_id)::INTEGER AS listings FROM read_parquet('${file(`${table}.parquet`)}')`,
      );
      expect(back).toEqual({ n: counts[table], listings: 1 });
    }
    const [same] = await fx.db.all<{ differing: number }>(`
      SELECT count(*)::INTEGER AS differing FROM (
        SELECT * FROM read_parquet('${file('messages.parquet')}') EXCEPT SELECT * FROM messages WHERE listing_id = 'acme')`);
    expect(same!.differing).toBe(0);
  });

  it('writes an Arrow IPC file in batches that apache-arrow reads back', async () => {
    const summary = await exportTable(fx.db, { listingId: 'acme', table: 'messages', to: file('messages.arrow') });
    const table = tableFromIPC(await readFile(file('messages.arrow')));
    expect(table.numRows).toBe(summary.rows);
    const expected = await fx.db.all<{ interaction_id: string; seq: number; role: string; text: string | null; ts: Date }>(
      "SELECT interaction_id, seq, role, text, ts FROM messages WHERE listing_id = 'acme' ORDER BY interaction_id, seq",
    );
    expect(table.numRows).toBe(expected.length);
    for (const index of [0, 1, 777, expected.length - 1]) {
      const row = table.get(index)!.toJSON();
      const want = expected[index]!;
      expect([row.interaction_id, row.seq, row.role, row.text]).toEqual([want.interaction_id, want.seq, want.role, want.text]);
      expect(Number(row.ts)).toBe(want.ts.getTime());
    }
    // Stored as Timestamp(µs, UTC): apache-arrow reads milliseconds, the buffer holds microseconds.
    expect(String(table.schema.fields.find((field) => field.name === 'ts')!.type)).toBe('Timestamp<MICROSECOND, UTC>');
    expect(table.getChild('ts')!.data[0]!.values[0]).toBe(BigInt(expected[0]!.ts.getTime()) * 1000n);
    const interactions = await exportTable(fx.db, { listingId: 'acme', table: 'interactions', to: file('interactions.arrow') });
    const back = tableFromIPC(await readFile(file('interactions.arrow')));
    expect(back.numRows).toBe(interactions.rows);
    expect(back.schema.fields.map((field) => String(field.type))).toContain('List<Utf8>');
    const [first] = await fx.db.all<{ csr_ids: string[] }>("SELECT csr_ids FROM interactions WHERE listing_id = 'acme' ORDER BY id LIMIT 1");
    expect(back.getChild('csr_ids')!.get(0)!.toArray()).toEqual(first!.csr_ids);
    const satisfaction = back.getChild('satisfaction')!.toArray() as Int8Array;
    expect(satisfaction.some((value) => value >= 1 && value <= 5)).toBe(true);
  });

  it('runs from the command line, read-only, per listing', async () => {
    fx.db.close();
    try {
      Object.assign(process.env, { DATA_DIR: fx.dir, ANALYTICS_DB_PATH: fx.file, LOG_LEVEL: 'silent' });
      let stdout = '';
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const code = await runCli(['node', 'loopwise', 'export', '--listing', 'other', '--table', 'labels', '--to', file('labels.arrow'), '--json']);
      const bad = await runCli(['node', 'loopwise', 'export', '--listing', 'other', '--to', file('labels.csv')]);
      vi.restoreAllMocks();
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ listingId: 'other', table: 'labels', format: 'arrow' });
      expect(tableFromIPC(await readFile(file('labels.arrow'))).numRows).toBe(JSON.parse(stdout).rows);
      expect(bad).toBe(2);
    } finally {
      await fx.reopen();
    }
  });
});
