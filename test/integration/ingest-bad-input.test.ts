import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync, createGunzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, listQuarantine } from '../../src/ingest/index.ts';
import { MWOZ, createAnalyticsFixture, dumpTables, type AnalyticsFixture } from '../support/analytics.ts';

// Bad input: a clear message or quarantined records; never a crash, never a partial record.

let fx: AnalyticsFixture;
beforeAll(async () => {
  fx = await createAnalyticsFixture();
});
afterAll(() => fx.close());

const file = (name: string) => path.join(fx.dir, name);
const record = (id: string, text = 'hello', extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id, messages: [{ role: 'customer', text }, { role: 'csr', text: 'hi, how can I help?' }], ...extra });

/** What a reader gets out of a damaged gzip before the error. */
async function gunzipPrefix(gz: string): Promise<string> {
  const parts: Buffer[] = [];
  await new Promise<void>((resolve) => {
    createReadStream(gz)
      .pipe(createGunzip())
      .on('data', (chunk: Buffer) => parts.push(chunk))
      .on('error', () => resolve())
      .on('end', () => resolve());
  });
  return Buffer.concat(parts).toString('utf8');
}

describe('ingest of bad input', () => {
  it('keeps every complete dialogue of a truncated gzip and quarantines the cut one', async () => {
    const gz = gzipSync(await readFile(MWOZ));
    await writeFile(file('mwoz-cut.txt.gz'), gz.subarray(0, Math.floor(gz.length * 0.4)));
    const readable = await gunzipPrefix(file('mwoz-cut.txt.gz'));
    const complete = readable.split(/\n\s*\n/).length - 1;
    expect(complete).toBeGreaterThan(100);

    const summary = await fx.ingest({ paths: [file('mwoz-cut.txt.gz')], listingId: 'cut' });
    expect(summary).toMatchObject({ status: 'completed', accepted: complete, quarantined: 1 });
    const [row] = await listQuarantine(fx.db, { listingId: 'cut' });
    expect(row).toMatchObject({ reason: 'truncated', recordIndex: complete });
    expect(row!.detail).toMatch(/gzip/);
    expect((await countRows(fx.db, 'cut')).interactions).toBe(complete);

    // The same damaged file again: nothing changes.
    const before = await dumpTables(fx.db);
    expect(await fx.ingest({ paths: [file('mwoz-cut.txt.gz')], listingId: 'cut' })).toMatchObject({ accepted: 0, unchanged: complete, quarantined: 1 });
    expect(await dumpTables(fx.db)).toEqual(before);
  });

  it('quarantines malformed, invalid and impossible records with their line and offset, and loads the rest', async () => {
    const lines = [
      record('ok-1'),
      '{"id": "broken", "messages": [',
      record('bad-role', 'x').replace('"customer"', '"alien"'),
      record('old', 'x', { createdAt: '1969-07-20T20:17:00Z' }),
      record('ok-2', 'reach me at jane.doe@example.com or 4111 1111 1111 1111'),
      record('other-tenant', 'x', { listingId: 'globex' }),
      '[1, 2, 3]',
    ];
    await writeFile(file('mixed.jsonl'), `${lines.join('\n')}\n`);
    const summary = await fx.ingest({ paths: [file('mixed.jsonl')], listingId: 'mixed' });
    expect(summary).toMatchObject({ records: 7, accepted: 2, quarantined: 5 });
    expect(summary.sources[0]!.reasons).toEqual({ malformed_json: 1, invalid_record: 2, impossible_timestamp: 1, wrong_listing: 1 });
    const rows = await listQuarantine(fx.db, { listingId: 'mixed' });
    expect(rows.map((row) => [row.recordIndex, row.line, row.reason])).toEqual([
      [1, 2, 'malformed_json'],
      [2, 3, 'invalid_record'],
      [3, 4, 'impossible_timestamp'],
      [5, 6, 'wrong_listing'],
      [6, 7, 'invalid_record'],
    ]);
    expect(rows[0]!.byteOffset).toBe(Buffer.byteLength(lines[0]!) + 1);
    const [text] = await fx.db.all<{ text: string }>("SELECT text FROM messages WHERE listing_id = 'mixed' AND interaction_id = 'ok-2' AND seq = 1");
    expect(text!.text).toBe('reach me at [email] or [card]');

    // Fixed in place and re-ingested: the quarantine follows the file.
    await writeFile(file('mixed.jsonl'), `${record('ok-1')}\n${record('ok-3')}\n`);
    expect(await fx.ingest({ paths: [file('mixed.jsonl')], listingId: 'mixed' })).toMatchObject({ accepted: 1, unchanged: 1, quarantined: 0 });
    expect(await listQuarantine(fx.db, { listingId: 'mixed' })).toEqual([]);
  });

  it('quarantines invalid UTF-8 per record, whatever the format', async () => {
    const uss = Buffer.concat([
      Buffer.from('USER\thello\t\t3,3,3\nSYSTEM\thi\t\t\n\nUSER\tcaf'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('\t\t3,3,3\nSYSTEM\tok\t\t\n\nUSER\tbye\t\t4,4,4\n'),
    ]);
    await writeFile(file('utf8.txt'), uss);
    const summary = await fx.ingest({ paths: [file('utf8.txt')], listingId: 'utf8' });
    expect(summary).toMatchObject({ records: 3, accepted: 2, quarantined: 1 });
    expect(summary.sources[0]!.reasons).toEqual({ invalid_utf8: 1 });
    const [row] = await listQuarantine(fx.db, { listingId: 'utf8' });
    expect(row).toMatchObject({ recordIndex: 1, line: 4, detail: expect.stringMatching(/line 4/) });
    const ids = await fx.db.all<{ id: string }>("SELECT id FROM interactions WHERE listing_id = 'utf8' ORDER BY id");
    expect(ids.map((item) => item.id)).toEqual(['utf8-0001', 'utf8-0003']);
  });

  it('treats empty files as empty, plain or gzipped', async () => {
    await writeFile(file('empty.jsonl'), '');
    await writeFile(file('blank.txt'), '\n\n  \n');
    await writeFile(file('empty.jsonl.gz'), gzipSync(Buffer.alloc(0)));
    const summary = await fx.ingest({ paths: [file('empty.jsonl'), file('blank.txt'), file('empty.jsonl.gz')], listingId: 'empty' });
    expect(summary).toMatchObject({ status: 'completed', records: 0, accepted: 0, quarantined: 0 });
    expect(summary.sources.map((source) => source.status)).toEqual(['empty', 'empty', 'empty']);
  });

  it('quarantines a 50 MB single line as oversize without stopping', async () => {
    const huge = `{"id":"huge","messages":[{"role":"customer","text":"${'a'.repeat(50 * 1024 * 1024)}"}]}`;
    await writeFile(file('huge.jsonl'), `${record('before')}\n${huge}\n${record('after')}\n`);
    const summary = await fx.ingest({ paths: [file('huge.jsonl')], listingId: 'huge' });
    expect(summary).toMatchObject({ records: 3, accepted: 2, quarantined: 1 });
    const [row] = await listQuarantine(fx.db, { listingId: 'huge' });
    expect(row).toMatchObject({ reason: 'oversize', recordIndex: 1, line: 2 });
    expect(row!.detail).toMatch(/exceeds the limit/);
    expect(row!.excerpt.length).toBeLessThanOrEqual(1001);
  });

  it('replaces a record with a known id, all its rows at once; the last of duplicates wins', async () => {
    const v1 = JSON.stringify({
      id: 'r-1',
      outcome: { satisfaction: 2, labels: { topic: 'billing' } },
      messages: [
        { role: 'customer', text: 'one', labels: { satisfaction: 2 } },
        { role: 'csr', text: 'two' },
        { role: 'customer', text: 'three' },
      ],
    });
    const v2 = JSON.stringify({ id: 'r-1', outcome: { satisfaction: 5 }, messages: [{ role: 'customer', text: 'only one now' }] });
    await writeFile(file('v1.jsonl'), `${v1}\n`);
    await writeFile(file('v2.jsonl'), `${v2}\n${record('r-2')}\n${record('r-2', 'second version')}\n`);
    await fx.ingest({ paths: [file('v1.jsonl')], listingId: 'replace' });
    expect(await countRows(fx.db, 'replace')).toMatchObject({ interactions: 1, messages: 3, labels: 3 });
    const summary = await fx.ingest({ paths: [file('v2.jsonl')], listingId: 'replace' });
    expect(summary).toMatchObject({ accepted: 1, updated: 1 });
    expect(summary.sources[0]!.superseded).toBe(1);
    expect(await countRows(fx.db, 'replace')).toMatchObject({ interactions: 2, messages: 3, labels: 1 });
    const rows = await fx.db.all<{ id: string; satisfaction: number | null; text: string }>(
      "SELECT i.id, i.satisfaction, m.text FROM interactions i JOIN messages m ON m.listing_id = i.listing_id AND m.interaction_id = i.id AND m.seq = 1 WHERE i.listing_id = 'replace' ORDER BY i.id",
    );
    expect(rows).toEqual([
      { id: 'r-1', satisfaction: 5, text: 'only one now' },
      { id: 'r-2', satisfaction: null, text: 'second version' },
    ]);
  });

  it('says clearly what it cannot read', async () => {
    await writeFile(file('data.parquet'), 'PAR1');
    await expect(fx.ingest({ paths: [file('data.parquet')] })).rejects.toThrow(/cannot read .*data\.parquet as Parquet/);
    // A CSV with only its header holds nothing; one without the required columns says which.
    await writeFile(file('data.csv'), 'interaction_id,role,text\n');
    expect(await fx.ingest({ paths: [file('data.csv')], listingId: 'header-only' })).toMatchObject({ records: 0, accepted: 0, quarantined: 0 });
    await writeFile(file('other.csv'), 'who,what\na,b\n');
    expect(await fx.ingest({ paths: [file('other.csv')], listingId: 'no-columns' })).toMatchObject({ accepted: 0, quarantined: 1 });
    expect((await listQuarantine(fx.db, { listingId: 'no-columns' }))[0]).toMatchObject({ reason: 'malformed_line', detail: expect.stringMatching(/lacks the columns interaction_id, role/) });
    await expect(fx.ingest({ paths: [file('missing.jsonl')] })).rejects.toThrow(/no such file/);
    await writeFile(file('noise.bin'), 'hello world');
    await expect(fx.ingest({ paths: [file('noise.bin')] })).rejects.toThrow(/pass --format/);
    // Forced to a format it is not: one quarantined row saying so, not a crash.
    await writeFile(file('records.jsonl'), `${record('x')}\n`);
    const summary = await fx.ingest({ paths: [file('records.jsonl')], format: 'ibm-twitter', listingId: 'forced' });
    expect(summary).toMatchObject({ accepted: 0, quarantined: 1 });
    expect((await listQuarantine(fx.db, { listingId: 'forced' }))[0]!.detail).toMatch(/not a JSON array/);
  });
});
