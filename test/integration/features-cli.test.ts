import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCliCaptured, type CliRun } from '../support/cli.ts';
import { openAnalyticsDb, type AnalyticsDb } from '../../src/analytics-store/index.ts';
import { featureRegistry, sqlFeatureNames, sqlPrefixFeatures } from '../../src/features/index.ts';
import type { InteractionInput } from '../../src/ingest/index.ts';
import { createAnalyticsFixture, type AnalyticsFixture } from '../support/analytics.ts';

// `loopwise features build` over small hand-made records that exercise what the real datasets do
// not: channel changes, an IVR call continued by SMS and chat, attachments, bots, missing
// timestamps, a non-UTC listing time zone.

let fx: AnalyticsFixture;
const savedEnv = { ...process.env };
beforeAll(async () => {
  fx = await createAnalyticsFixture();
  fx.db.close(); // the CLI opens the file itself
});
afterAll(() => fx.close().catch(() => undefined));
afterEach(() => {
  process.env = { ...savedEnv };
  vi.restoreAllMocks();
});

async function cli(...args: string[]): Promise<CliRun> {
  Object.assign(process.env, { DATA_DIR: fx.dir, ANALYTICS_DB_PATH: fx.file, LOG_LEVEL: 'silent' });
  return runCliCaptured(...args);
}

async function withDb<T>(work: (db: AnalyticsDb) => Promise<T>): Promise<T> {
  const db = await openAnalyticsDb(fx.file);
  try {
    return await work(db);
  } finally {
    db.close();
  }
}

const at = (seconds: number) => new Date(Date.UTC(2024, 0, 15, 23, 30, 0) + seconds * 1000).toISOString();
const records: InteractionInput[] = [
  {
    id: 'ivr-1',
    source: { channel: 'ivr' },
    messages: [
      { role: 'customer', kind: 'voice', channel: 'voice', ts: at(0), transcript: 'I want to cancel my order, I am not happy' },
      { role: 'bot', channel: 'ivr', ts: at(20), text: 'We will text you a link to chat.' },
      { role: 'csr', channel: 'sms', ts: at(90), text: 'Hi! What is your order number?' },
      { role: 'customer', kind: 'image', channel: 'sms', ts: at(150), text: 'here', attachment: { name: 'receipt.png', mimeType: 'image/png' } },
      { role: 'csr', channel: 'chat', text: 'Thanks, refund issued.' },
      { role: 'customer', channel: 'chat', ts: at(400), text: 'THANKS!!! that was NOT bad' },
    ],
  },
  {
    id: 'no-ts',
    messages: [
      { role: 'csr', text: 'Hello, how can I help you?' },
      { role: 'customer', text: 'I want a refund please' },
      { role: 'csr', text: 'Is there anything else? What size was it?' },
    ],
  },
];

describe('npx loopwise features build', () => {
  it('materialises a listing, agrees with the SQL path, and honours --timezone', async () => {
    const file = path.join(fx.dir, 'cases.jsonl');
    await writeFile(file, `${records.map((record) => JSON.stringify(record)).join('\n')}\n`);
    expect((await cli('ingest', file, '--listing', 'cases', '--quiet', '--json')).code).toBe(0);

    const run = await cli('features', 'build', '--listing', 'cases', '--json', '--quiet');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ listingId: 'cases', interactions: 2, prefixes: 9, denseFeatures: featureRegistry.dense.length });

    await withDb(async (db) => {
      const rows = await db.all<Record<string, unknown>>("SELECT * FROM features_conversation WHERE listing_id = 'cases' ORDER BY interaction_id");
      expect(rows[0]).toMatchObject({
        interaction_id: 'ivr-1',
        seq: 6,
        message_count: 6,
        message_count_bot: 1,
        message_count_channel_voice: 1,
        message_count_channel_none: 0,
        channel_changes: 3,
        ivr_converted: true,
        multimedia_count: 2,
        wait_first_csr_s: 90,
        duration_s: 400,
        start_hour: 23,
        start_weekday: 1,
        start_season: 'winter',
        source_channel: 'ivr',
        intent_cancel: true,
        intent_thanks: true,
        intent_refund: false, // "refund" was said by the CSR
        csr_first_question_seq: 3,
        csr_first_diagnostic_seq: 3,
        caps_words_customer: 2, // THANKS, NOT
        exclamation_count_customer: 1,
      });
      // Customer gaps: only 90 → 150 (the 400 s reply follows a CSR message without a timestamp).
      expect(rows[0]!.customer_gap_mean_s).toBe(60);
      // CSR gaps: none (the first CSR message follows the bot, the second has no timestamp).
      expect(rows[0]!.csr_gap_mean_s).toBeNull();
      expect(rows[0]!.tone_min as number).toBeLessThan(0);
      expect(rows[0]!.tone_last as number).toBeGreaterThan(0);
      expect(rows[1]).toMatchObject({
        interaction_id: 'no-ts',
        wait_first_csr_s: null,
        duration_s: null,
        start_hour: null,
        csr_gap_mean_s: null,
        csr_first_question_seq: 1,
        csr_first_diagnostic_seq: 3,
        intent_refund: true,
      });

      const stored = await db.all<Record<string, unknown>>("SELECT * FROM features_prefix WHERE listing_id = 'cases' ORDER BY interaction_id, seq");
      const fromSql = await sqlPrefixFeatures(db, 'cases');
      expect(fromSql).toHaveLength(stored.length);
      fromSql.forEach((row, index) => {
        for (const name of sqlFeatureNames) expect([row.interaction_id, row.seq, name, row[name]]).toEqual([row.interaction_id, row.seq, name, stored[index]![name]]);
      });
      const [ivrConversion] = await db.all<{ seq: number }>(
        "SELECT min(seq) AS seq FROM features_prefix WHERE listing_id = 'cases' AND interaction_id = 'ivr-1' AND ivr_converted",
      );
      expect(ivrConversion!.seq).toBe(3);
    });

    // Berlin is UTC+1 in January: 23:30 UTC on Monday is 00:30 on Tuesday.
    expect((await cli('features', 'build', '--listing', 'cases', '--timezone', 'Europe/Berlin', '--quiet')).stdout).toMatch(
      /built features fs-[0-9a-f]+ for listing cases: 2 interactions, 9 prefixes/,
    );
    await withDb(async (db) => {
      const [row] = await db.all<{ start_hour: number; start_weekday: number }>(
        "SELECT start_hour, start_weekday FROM features_conversation WHERE listing_id = 'cases' AND interaction_id = 'ivr-1'",
      );
      expect(row).toEqual({ start_hour: 0, start_weekday: 2 });
    });

    const bad = await cli('features', 'build', '--listing', 'cases', '--timezone', 'Mars/Olympus');
    expect(bad.code).toBe(2);
  });
});
