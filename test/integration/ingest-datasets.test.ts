import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows } from '../../src/ingest/index.ts';
import { ABCD_SAMPLE, IBM_DEV, MWOZ, createAnalyticsFixture, dumpTables, type AnalyticsFixture } from '../support/analytics.ts';

// The real datasets in ../shared/data, ingested into a DuckDB file in a temp dir.

let fx: AnalyticsFixture;
beforeAll(async () => {
  fx = await createAnalyticsFixture();
});
afterAll(() => fx.close());

function ussCounts(text: string) {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const turns = lines.filter((line) => line.split('\t')[1] !== 'OVERALL');
  return {
    dialogues: lines.length - turns.length,
    messages: turns.length,
    ratedTurns: turns.filter((line) => line.startsWith('USER\t') && (line.split('\t')[3] ?? '') !== '').length,
  };
}

describe('ingest of the real datasets', () => {
  it('loads all 800 MWOZ dialogues with every turn and rating, and a rerun changes nothing', async () => {
    const expected = ussCounts(await readFile(MWOZ, 'utf8'));
    expect(expected.dialogues).toBe(800);
    const first = await fx.ingest({ paths: [MWOZ], listingId: 'uss' });
    expect(first).toMatchObject({ status: 'completed', records: 800, accepted: 800, updated: 0, quarantined: 0, messages: expected.messages });
    expect(first.sources[0]).toMatchObject({ format: 'uss' });

    const counts = await countRows(fx.db, 'uss');
    expect(counts).toMatchObject({ interactions: 800, messages: expected.messages, quarantine: 0 });
    const [labels] = await fx.db.all<{ turns: number; overall: number; mean: number }>(
      `SELECT count(*) FILTER (WHERE kind = 'turn' AND name = 'satisfaction')::INTEGER AS turns,
              count(*) FILTER (WHERE kind = 'outcome' AND name = 'satisfaction')::INTEGER AS overall,
              avg(value_num) FILTER (WHERE kind = 'outcome' AND name = 'satisfaction') AS mean
       FROM labels WHERE listing_id = 'uss'`,
    );
    expect(labels).toMatchObject({ turns: expected.ratedTurns, overall: 800 });
    expect(labels!.mean).toBeGreaterThan(1);
    const [first001] = await fx.db.all<{ id: string; satisfaction: number; message_count: number }>(
      "SELECT id, satisfaction, message_count FROM interactions WHERE listing_id = 'uss' ORDER BY source_index LIMIT 1",
    );
    expect(first001).toEqual({ id: 'mwoz-0001', satisfaction: 3, message_count: 13 });

    const before = await dumpTables(fx.db);
    const again = await fx.ingest({ paths: [MWOZ], listingId: 'uss' });
    expect(again).toMatchObject({ records: 800, accepted: 0, updated: 0, unchanged: 800, quarantined: 0, messages: 0 });
    expect(await dumpTables(fx.db)).toEqual(before);
  });

  it('loads the IBM Twitter threads into one listing with their brands, and no e-mail address reaches DuckDB', async () => {
    const raw = await readFile(IBM_DEV, 'utf8');
    const threads = JSON.parse(raw) as Array<{ dialogContent: unknown[]; dialogHeader: { company: string } }>;
    const emails = [...new Set(raw.match(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g) ?? [])];
    expect(emails.length).toBeGreaterThanOrEqual(5);

    const summary = await fx.ingest({ paths: [IBM_DEV], listingId: 'brands' });
    const messages = threads.reduce((sum, thread) => sum + thread.dialogContent.length + 1, 0);
    expect(summary).toMatchObject({ records: threads.length, accepted: threads.length, quarantined: 0, messages });
    expect(summary.sources[0]!.redactions.email).toBeGreaterThanOrEqual(emails.length);

    const brands = await fx.db.all<{ brand: string; n: number }>(
      "SELECT brand, count(*)::INTEGER AS n FROM interactions WHERE listing_id = 'brands' GROUP BY brand ORDER BY brand",
    );
    expect(brands.map((row) => row.brand)).toEqual([...new Set(threads.map((thread) => thread.dialogHeader.company))].sort());
    const [reply] = await fx.db.all<{ n: number }>(
      "SELECT count(*)::INTEGER AS n FROM messages WHERE listing_id = 'brands' AND role = 'csr' AND (meta->>'docId') IS NOT NULL AND (meta->>'url') LIKE 'http%' AND ts IS NOT NULL",
    );
    expect(reply!.n).toBe(threads.length);

    // Every text column of every table, the quarantine included.
    const everything = await dumpTables(fx.db);
    const haystack = Object.values(everything).join('\n').toLowerCase();
    for (const email of emails) expect(haystack).not.toContain(email.toLowerCase());
    expect(haystack).toContain('[email]');
  });

  it('loads the ABCD sample with actions as events and intents as labels', async () => {
    const summary = await fx.ingest({ paths: [ABCD_SAMPLE], listingId: 'abcd' });
    expect(summary).toMatchObject({ records: 3, accepted: 3, messages: 72, quarantined: 0 });
    const counts = await countRows(fx.db, 'abcd');
    expect(counts).toMatchObject({ interactions: 3, messages: 72, events: 9 });
    const intents = await fx.db.all<{ value_text: string }>(
      "SELECT value_text FROM labels WHERE listing_id = 'abcd' AND name = 'intent' ORDER BY value_text",
    );
    expect(intents.map((row) => row.value_text)).toEqual(['refund_status', 'return_size', 'timing_4']);
  });

  it('keeps listings apart', async () => {
    expect((await countRows(fx.db, 'nobody')).interactions).toBe(0);
    const [row] = await fx.db.all<{ listings: number }>('SELECT count(DISTINCT listing_id)::INTEGER AS listings FROM messages');
    expect(row!.listings).toBe(3);
  });
});
