import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGenerated } from '../../data/generate/index.ts';
import { countRows, listQuarantine } from '../../src/ingest/index.ts';
import { createAnalyticsFixture, type AnalyticsFixture } from '../support/analytics.ts';

// CSV ingest: the same guarantees as JSONL (one validation gate, redaction, quarantine,
// idempotency), proven by loading the same generated data both ways.

let fx: AnalyticsFixture;
beforeAll(async () => {
  fx = await createAnalyticsFixture();
});
afterAll(() => fx.close());

const file = (name: string) => path.join(fx.dir, name);
const MESSAGES_HEADER = 'interaction_id,seq,role,kind,channel,ts,text';
const INTERACTIONS_HEADER = 'id,source_channel,created_at,status,satisfaction,resolved,converted,labels';

/** One listing's rows, without the columns that say where and when they were loaded from. */
async function tables(listingId: string) {
  const queries = {
    interactions: 'SELECT * EXCLUDE (listing_id, source, source_format, source_index, source_line, run_id, ingested_at) FROM interactions WHERE listing_id = $1 ORDER BY id',
    messages: 'SELECT * EXCLUDE (listing_id) FROM messages WHERE listing_id = $1 ORDER BY interaction_id, seq',
    labels: 'SELECT * EXCLUDE (listing_id) FROM labels WHERE listing_id = $1 ORDER BY ALL',
    events: 'SELECT * EXCLUDE (listing_id) FROM interaction_events WHERE listing_id = $1 ORDER BY interaction_id, position',
  };
  const dump: Record<string, string> = {};
  for (const [name, sql] of Object.entries(queries)) dump[name] = JSON.stringify((await fx.db.connection.runAndReadAll(sql, [listingId])).getRowsJson());
  return dump;
}

describe('ingest --format csv', () => {
  it('loads generated CSV tables exactly as the same records in JSONL, and re-ingesting changes nothing', async () => {
    const options = { conversations: 400, seed: 3, idPrefix: 'g' };
    const jsonl = await writeGenerated({ ...options, out: file('g.jsonl') });
    const csv = await writeGenerated({ ...options, out: file('g.csv.gz') });
    expect(csv.files).toEqual([file('g.csv.gz'), file('g.interactions.csv.gz')]);
    const fromJsonl = await fx.ingest({ paths: [file('g.jsonl')], listingId: 'via-jsonl' });
    const fromCsv = await fx.ingest({ paths: [file('g.csv.gz')], interactions: file('g.interactions.csv.gz'), listingId: 'via-csv', batchSize: 64 });
    expect(fromCsv).toMatchObject({ status: 'completed', accepted: 400, quarantined: 0, messages: jsonl.messages });
    expect(fromCsv.sources[0]!.format).toBe('csv');
    expect(fromCsv.sources[0]!.redactions.email).toBe(fromJsonl.sources[0]!.redactions.email);
    expect(await tables('via-csv')).toEqual(await tables('via-jsonl'));

    const again = await fx.ingest({ paths: [file('g.csv.gz')], interactions: file('g.interactions.csv.gz'), listingId: 'via-csv' });
    expect(again).toMatchObject({ accepted: 0, updated: 0, unchanged: 400, quarantined: 0 });
  });

  it('reads RFC 4180 quoting, SQL-style timestamps, seq order and interactions without messages', async () => {
    await writeFile(
      file('quoted.csv'),
      [
        `${MESSAGES_HEADER},mood`,
        'q-1,2,csr,,chat,2024-03-01 10:00:30+00,"Sure, ""quoted"" and\nmultiline",',
        'q-1,1,customer,,chat,2024-03-01 10:00:00+00,"Hi, mail me at ann@example.com",grumpy',
        'q-2,1,customer,,chat,2024-03-01T11:00:00Z,"",',
        '',
      ].join('\r\n'),
    );
    await writeFile(
      file('quoted.interactions.csv'),
      [INTERACTIONS_HEADER, 'q-1,livechat,2024-03-01 10:00:00+00,resolved,4,yes,,"{""topic"":""billing""}"', 'q-9,ivr,2024-03-01T12:00:00Z,abandoned,,,,', ''].join('\n'),
    );
    const summary = await fx.ingest({ paths: [file('quoted.csv')], interactions: file('quoted.interactions.csv'), listingId: 'quoted' });
    expect(summary).toMatchObject({ accepted: 3, quarantined: 0 });
    const messages = await fx.db.all<{ interaction_id: string; seq: number; role: string; text: string; meta: string | null }>(
      "SELECT interaction_id, seq, role, text, meta FROM messages WHERE listing_id = 'quoted' ORDER BY interaction_id, seq",
    );
    expect(messages).toEqual([
      { interaction_id: 'q-1', seq: 1, role: 'customer', text: 'Hi, mail me at [email]', meta: '{"mood":"grumpy"}' },
      { interaction_id: 'q-1', seq: 2, role: 'csr', text: 'Sure, "quoted" and\nmultiline', meta: null },
      { interaction_id: 'q-2', seq: 1, role: 'customer', text: '', meta: null },
    ]);
    const interactions = await fx.db.all<{ id: string; source_channel: string | null; satisfaction: number | null; resolved: boolean | null; message_count: number }>(
      "SELECT id, source_channel, satisfaction, resolved, message_count FROM interactions WHERE listing_id = 'quoted' ORDER BY id",
    );
    expect(interactions).toEqual([
      { id: 'q-1', source_channel: 'livechat', satisfaction: 4, resolved: true, message_count: 2 },
      { id: 'q-2', source_channel: null, satisfaction: null, resolved: null, message_count: 1 },
      { id: 'q-9', source_channel: 'ivr', satisfaction: null, resolved: null, message_count: 0 },
    ]);
    const [label] = await fx.db.all<{ value_text: string }>("SELECT value_text FROM labels WHERE listing_id = 'quoted' AND name = 'topic'");
    expect(label!.value_text).toBe('billing');
  });

  it('quarantines the whole interaction of a malformed row, with line and reason, and loads the rest', async () => {
    await writeFile(
      file('bad.csv'),
      [
        MESSAGES_HEADER,
        'ok-1,1,customer,,chat,2024-03-01T10:00:00Z,hello',
        'ok-1,2,csr,,chat,2024-03-01T10:00:10Z,hi',
        'bad-1,1,customer,,chat,2024-03-01T10:00:00Z,fine row',
        'bad-1,2,csr,,chat,2024-03-01T10:00:10Z,too,many,fields',
        'bad-2,1,customer,,chat,2024-03-01T10:00:00Z,a "stray" quote',
        'bad-3,1,alien,,chat,2024-03-01T10:00:00Z,unknown role',
        'bad-4,x,customer,,chat,2024-03-01T10:00:00Z,bad seq',
        ',1,customer,,chat,2024-03-01T10:00:00Z,no id: jane@example.com',
        'ok-2,1,customer,,chat,2024-03-01T10:00:00Z,bye',
        '',
      ].join('\n'),
    );
    const summary = await fx.ingest({ paths: [file('bad.csv')], listingId: 'bad' });
    expect(summary).toMatchObject({ records: 7, accepted: 2, quarantined: 5 });
    const rows = await listQuarantine(fx.db, { listingId: 'bad' });
    expect(rows.map((row) => [row.recordIndex, row.line, row.reason])).toEqual([
      [1, 4, 'malformed_line'],
      [2, 6, 'malformed_line'],
      [3, 7, 'invalid_record'],
      [4, 8, 'invalid_record'],
      [5, 9, 'invalid_record'],
    ]);
    expect(rows[0]!.detail).toMatch(/interaction bad-1: messages table line 5: 9 fields, the header has 7/);
    expect(rows[1]!.detail).toMatch(/quote inside an unquoted field/);
    expect(rows[3]!.detail).toMatch(/column seq/);
    expect(rows[4]!.excerpt).not.toContain('jane@example.com');
    expect(await countRows(fx.db, 'bad')).toMatchObject({ interactions: 2, messages: 3 });
  });

  it('quarantines a message group whose interactions row is malformed, and says what a wrong header means', async () => {
    await writeFile(file('pair.csv'), [MESSAGES_HEADER, 'p-1,1,customer,,chat,,hello', 'p-2,1,customer,,chat,,hello', ''].join('\n'));
    await writeFile(file('pair.interactions.csv'), [INTERACTIONS_HEADER, 'p-1,livechat,,resolved,4', 'p-2,livechat,,resolved,4,true,false,', ''].join('\n'));
    const summary = await fx.ingest({ paths: [file('pair.csv')], interactions: file('pair.interactions.csv'), listingId: 'pair' });
    expect(summary).toMatchObject({ accepted: 1, quarantined: 1 });
    const [row] = await listQuarantine(fx.db, { listingId: 'pair' });
    expect(row!.detail).toMatch(/interaction p-1: interactions table line 2: 5 fields, the header has 8/);

    const swapped = await fx.ingest({ paths: [file('pair.interactions.csv')], listingId: 'swapped' });
    expect(swapped).toMatchObject({ accepted: 0, quarantined: 1 });
    expect((await listQuarantine(fx.db, { listingId: 'swapped' }))[0]!.detail).toMatch(/looks like an interactions table/);
    await expect(fx.ingest({ paths: [file('g.jsonl')], interactions: file('pair.interactions.csv') })).rejects.toThrow(/goes with CSV or Parquet input/);
  });
});

describe('resumable CSV ingest', () => {
  it('killed after a committed batch and run again, ends with the tables of one clean run', async () => {
    const written = await writeGenerated({ out: file('r.csv'), conversations: 200, seed: 9, idPrefix: 'r' });
    const [messages, interactions] = written.files as [string, string];
    await fx.ingest({ paths: [messages], interactions, listingId: 'clean', batchSize: 30 });
    let batches = 0;
    await expect(
      fx.ingest({
        paths: [messages],
        interactions,
        listingId: 'resumed',
        batchSize: 30,
        onBatchCommitted: () => {
          if (++batches === 3) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    const rerun = await fx.ingest({ paths: [messages], interactions, listingId: 'resumed', batchSize: 30 });
    expect(rerun.sources[0]).toMatchObject({ resumedAfter: 90, records: 110, accepted: 110 });
    expect(await tables('resumed')).toEqual(await tables('clean'));
  });
});
