import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGenerated } from '../../data/generate/index.ts';
import { listQuarantine } from '../../src/ingest/index.ts';
import { createAnalyticsFixture, type AnalyticsFixture } from '../support/analytics.ts';

// Parquet input: the CSV tables' columns (src/ingest/csv.ts), typed or not, read by read_parquet.

let fx: AnalyticsFixture;
beforeAll(async () => {
  fx = await createAnalyticsFixture();
});
afterAll(() => fx.close());

const file = (name: string) => path.join(fx.dir, name);
const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Runs statements in a scratch in-memory DuckDB (to write Parquet files). */
async function duck(...statements: string[]): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const statement of statements) await connection.run(statement);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** One listing's rows, without the columns that say where they were loaded from. */
async function tables(listingId: string) {
  const queries = {
    interactions: 'SELECT * EXCLUDE (listing_id, source, source_format, source_line, run_id, ingested_at) FROM interactions WHERE listing_id = $1 ORDER BY id',
    messages: 'SELECT * EXCLUDE (listing_id) FROM messages WHERE listing_id = $1 ORDER BY interaction_id, seq',
    labels: 'SELECT * EXCLUDE (listing_id) FROM labels WHERE listing_id = $1 ORDER BY ALL',
    events: 'SELECT * EXCLUDE (listing_id) FROM interaction_events WHERE listing_id = $1 ORDER BY interaction_id, position',
  };
  const dump: Record<string, unknown> = {};
  for (const [name, sql] of Object.entries(queries)) dump[name] = (await fx.db.connection.runAndReadAll(sql, [listingId])).getRowsJson();
  return dump;
}

describe('ingest --format parquet', () => {
  it('loads typed Parquet tables exactly as the same data in CSV, and re-ingesting changes nothing', async () => {
    await writeGenerated({ conversations: 200, seed: 5, idPrefix: 'q', out: file('q.csv') });
    // Let DuckDB type the columns (integers, booleans, timestamps with a zone), as an export would.
    await duck(
      `COPY (SELECT * FROM read_csv(${quote(file('q.csv'))}, allow_quoted_nulls = false)) TO ${quote(file('q.parquet'))} (FORMAT parquet)`,
      `COPY (SELECT * FROM read_csv(${quote(file('q.interactions.csv'))}, allow_quoted_nulls = false)) TO ${quote(file('q.interactions.parquet'))} (FORMAT parquet)`,
    );
    const fromCsv = await fx.ingest({ paths: [file('q.csv')], interactions: file('q.interactions.csv'), listingId: 'via-csv' });
    const fromParquet = await fx.ingest({ paths: [file('q.parquet')], interactions: file('q.interactions.parquet'), listingId: 'via-parquet', batchSize: 64 });
    expect(fromParquet).toMatchObject({ status: 'completed', accepted: 200, quarantined: 0, messages: fromCsv.messages });
    expect(fromParquet.sources[0]).toMatchObject({ format: 'parquet', engine: 'sql' });
    expect(await tables('via-parquet')).toEqual(await tables('via-csv'));
    expect(await fx.ingest({ paths: [file('q.parquet')], interactions: file('q.interactions.parquet'), listingId: 'via-parquet' })).toMatchObject({
      accepted: 0,
      unchanged: 200,
    });
  });

  it('reads nested and typed columns, interactions without messages, and quarantines what the schema refuses', async () => {
    await duck(
      `CREATE TABLE m AS SELECT * FROM (VALUES
        ('p-1', 1, 'customer', NULL, 'chat', TIMESTAMPTZ '2024-03-01 10:00:00+01', 'reach me at ann@example.com', NULL, {'name': 'a.png', 'sizeBytes': 12}, NULL),
        ('p-1', 2, 'csr', 'text', 'chat', TIMESTAMPTZ '2024-03-01 10:01:00+01', 'hello', 'csr-1', NULL, MAP {'offer': 'x'}),
        ('p-2', 1, 'alien', NULL, 'chat', NULL, 'who am I', NULL, NULL, NULL)
      ) t(interaction_id, seq, role, kind, channel, ts, text, csr_id, attachment, meta)`,
      `COPY m TO ${quote(file('p.parquet'))} (FORMAT parquet)`,
      `CREATE TABLE i AS SELECT * FROM (VALUES
        ('p-1', ['csr-1'], true, 4::TINYINT, {'topic': 'billing'}, TIMESTAMP '2024-03-01 08:59:00'),
        ('p-3', NULL, false, NULL, NULL, NULL)
      ) t(id, csr_ids, resolved, satisfaction, labels, created_at)`,
      `COPY i TO ${quote(file('p.interactions.parquet'))} (FORMAT parquet)`,
    );
    const summary = await fx.ingest({ paths: [file('p.parquet')], interactions: file('p.interactions.parquet'), listingId: 'typed' });
    expect(summary).toMatchObject({ records: 3, accepted: 2, quarantined: 1 });
    const [bad] = await listQuarantine(fx.db, { listingId: 'typed' });
    expect(bad).toMatchObject({ reason: 'invalid_record', recordIndex: 1, line: 3, byteOffset: null, sourceFormat: 'parquet' });
    const rows = await fx.db.all<{ id: string; created_at: Date; resolved: boolean; satisfaction: number; csr_ids: string[]; message_count: number }>(
      "SELECT id, created_at, resolved, satisfaction, csr_ids, message_count FROM interactions WHERE listing_id = 'typed' ORDER BY id",
    );
    expect(rows).toEqual([
      { id: 'p-1', created_at: new Date('2024-03-01T08:59:00Z'), resolved: true, satisfaction: 4, csr_ids: ['csr-1'], message_count: 2 },
      { id: 'p-3', created_at: null, resolved: false, satisfaction: null, csr_ids: null, message_count: 0 },
    ]);
    const messages = await fx.db.all<{ ts: Date; text: string; attachment: string | null; meta: string | null }>(
      "SELECT ts, text, attachment, meta FROM messages WHERE listing_id = 'typed' ORDER BY seq",
    );
    expect(messages).toEqual([
      { ts: new Date('2024-03-01T09:00:00Z'), text: 'reach me at [email]', attachment: '{"name":"a.png","sizeBytes":12}', meta: null },
      { ts: new Date('2024-03-01T09:01:00Z'), text: 'hello', attachment: null, meta: '{"offer":"x"}' },
    ]);
    const labels = await fx.db.all<{ name: string; value_text: string }>("SELECT name, value_text FROM labels WHERE listing_id = 'typed' AND kind = 'custom'");
    expect(labels).toEqual([{ name: 'topic', value_text: 'billing' }]);
  });

  it('says clearly what it cannot read', async () => {
    await writeFile(file('broken.parquet'), 'PAR1 not really');
    await expect(fx.ingest({ paths: [file('broken.parquet')] })).rejects.toThrow(/cannot read .*broken\.parquet as Parquet/);
    await duck(`COPY (SELECT 'x' AS interaction_id, 'customer' AS role, 'hi' AS text, 1 AS mood) TO ${quote(file('mood.parquet'))} (FORMAT parquet)`);
    await expect(fx.ingest({ paths: [file('mood.parquet')] })).rejects.toThrow(/column "mood" that is not one of/);
    await duck(`COPY (SELECT 'x' AS interaction_id, 'hi' AS text) TO ${quote(file('norole.parquet'))} (FORMAT parquet)`);
    await expect(fx.ingest({ paths: [file('norole.parquet')] })).rejects.toThrow(/lacks the column role/);
    await expect(fx.ingest({ paths: [file('norole.parquet')], engine: 'js' })).rejects.toThrow(/SQL engine only/);
  });
});
