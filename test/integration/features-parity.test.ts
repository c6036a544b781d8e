import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildFeatures,
  createOnlineFeatures,
  featureRegistry,
  featureSetVersion,
  listConversations,
  ngramPrefixSums,
  readMessages,
  sqlFeatureNames,
  sqlPrefixFeatures,
  type FeatureValue,
} from '../../src/features/index.ts';
import { IBM_DEV, MWOZ, createAnalyticsFixture, type AnalyticsFixture } from '../support/analytics.ts';

// Every prefix of every conversation of the USS MWOZ file and the IBM Twitter dev set: the values
// the online definitions compute message by message must equal (a) the rows the batch build
// materialised and (b) DuckDB's independent SQL forms, exactly for integers, booleans and
// categories and within 1e-9 (relative) for floats.

let fx: AnalyticsFixture;
beforeAll(async () => {
  fx = await createAnalyticsFixture();
  await fx.ingest({ paths: [MWOZ], listingId: 'uss' });
  await fx.ingest({ paths: [IBM_DEV], listingId: 'ibm' });
});
afterAll(() => fx.close());

const types = new Map(featureRegistry.dense.map((feature) => [feature.name, feature.type]));

function same(name: string, expected: FeatureValue, actual: unknown): boolean {
  if (expected === null || actual === null || actual === undefined) return expected === null && (actual === null || actual === undefined);
  if (types.get(name) === 'float') {
    const a = Number(actual);
    const e = expected as number;
    return Math.abs(a - e) <= 1e-9 * Math.max(1, Math.abs(e));
  }
  return expected === actual;
}

type Row = Record<string, unknown> & { interaction_id: string; seq: number };

async function checkListing(listingId: string) {
  const summary = await buildFeatures(fx.db, { listingId });
  const materialised = await fx.db.all<Row>('SELECT * FROM features_prefix WHERE listing_id = $l ORDER BY interaction_id, seq', { l: listingId });
  const conversationRows = await fx.db.all<Row>('SELECT * FROM features_conversation WHERE listing_id = $l ORDER BY interaction_id', { l: listingId });
  const sqlRows = await sqlPrefixFeatures(fx.db, listingId);
  const deltas = await fx.db.all<{ interaction_id: string; seq: number; bucket: number; count: number }>(
    'SELECT interaction_id, seq, bucket, count FROM features_ngrams WHERE listing_id = $l ORDER BY interaction_id, seq',
    { l: listingId },
  );

  const conversations = await listConversations(fx.db, listingId);
  const messages = await readMessages(fx.db, listingId, conversations.map((c) => c.id));
  const mismatches: string[] = [];
  const note = (text: string) => {
    if (mismatches.length < 20) mismatches.push(text);
  };
  let row = 0;
  let cursor = 0;
  let deltaCursor = 0;
  let prefixes = 0;
  let conversationIndex = 0;
  const checked = { materialised: 0, sql: 0, ngramPrefixes: 0 };
  for (const conversation of conversations) {
    const online = createOnlineFeatures({ sourceChannel: conversation.sourceChannel });
    const grams = new Map<number, number>();
    while (cursor < messages.length && messages[cursor]!.interactionId === conversation.id) {
      const message = messages[cursor++]!;
      online.push(message);
      prefixes++;
      const values = online.snapshot();
      const stored = materialised[row];
      const fromSql = sqlRows[row];
      row++;
      if (stored?.interaction_id !== conversation.id || stored.seq !== message.seq) {
        note(`${conversation.id}#${message.seq}: no materialised row`);
        continue;
      }
      if (stored.feature_set !== featureSetVersion) note(`${conversation.id}#${message.seq}: feature_set ${String(stored.feature_set)}`);
      for (const [name, value] of Object.entries(values)) {
        if (!same(name, value, stored[name])) note(`${conversation.id}#${message.seq} ${name}: online ${String(value)}, materialised ${String(stored[name])}`);
        checked.materialised++;
      }
      if (fromSql?.interaction_id !== conversation.id || fromSql.seq !== message.seq) {
        note(`${conversation.id}#${message.seq}: no SQL row`);
        continue;
      }
      for (const name of sqlFeatureNames) {
        if (!same(name, values[name] ?? null, fromSql[name])) note(`${conversation.id}#${message.seq} ${name}: online ${String(values[name])}, SQL ${String(fromSql[name])}`);
        checked.sql++;
      }
      // n-grams: the stored per-message deltas, summed, equal the online map after each message.
      while (deltaCursor < deltas.length && deltas[deltaCursor]!.interaction_id === conversation.id && deltas[deltaCursor]!.seq === message.seq) {
        const delta = deltas[deltaCursor++]!;
        grams.set(delta.bucket, (grams.get(delta.bucket) ?? 0) + delta.count);
      }
      const live = online.ngrams();
      if (live.size !== grams.size || [...live].some(([bucket, count]) => grams.get(bucket) !== count)) {
        note(`${conversation.id}#${message.seq}: n-grams differ (${live.size} online, ${grams.size} stored)`);
      }
      checked.ngramPrefixes++;
    }
    // The SQL sum over stored deltas, for a few conversations (one query each).
    if (conversationIndex++ < 5) {
      const sums = await ngramPrefixSums(fx.db, listingId, conversation.id);
      const last = Math.max(...sums.map((sum) => sum.seq));
      const atEnd = new Map(sums.filter((sum) => sum.seq === last).map((sum) => [sum.bucket, sum.count]));
      expect(atEnd).toEqual(new Map(online.ngrams()));
    }
    const conversationRow = conversationRows.find((r) => r.interaction_id === conversation.id);
    const lastRow = materialised[row - 1];
    if (!conversationRow || !lastRow) note(`${conversation.id}: no conversation row`);
    else for (const [name, value] of Object.entries(online.snapshot())) if (!same(name, value, conversationRow[name])) note(`${conversation.id} conversation ${name}`);
  }
  return { summary, mismatches, prefixes, checked, materialised: materialised.length, sqlRows: sqlRows.length, conversations: conversations.length };
}

describe('feature parity: batch (materialised and SQL) against online, every prefix', () => {
  it('agrees on every prefix of the 800 MWOZ dialogues', async () => {
    const result = await checkListing('uss');
    expect(result.mismatches).toEqual([]);
    expect(result.conversations).toBe(800);
    expect(result.prefixes).toBe(result.materialised);
    expect(result.prefixes).toBe(result.sqlRows);
    expect(result.summary).toMatchObject({ listingId: 'uss', interactions: 800, prefixes: result.prefixes, featureSet: featureSetVersion });
    expect(result.checked.sql).toBe(result.prefixes * sqlFeatureNames.length);
    // The SQL path covers the counts, lengths, timing and channel features at least.
    for (const name of ['message_count_customer', 'chars_mean_csr', 'speaker_changes', 'wait_first_csr_s', 'csr_gap_mean_s', 'duration_s', 'channel_changes']) {
      expect(sqlFeatureNames).toContain(name);
    }
    process.stderr.write(`features parity MWOZ: ${result.prefixes} prefixes, build ${result.summary.seconds.toFixed(2)} s (${result.summary.prefixesPerSecond}/s)\n`);
  });

  it('agrees on every prefix of the IBM Twitter threads (timestamps, gaps, waits)', async () => {
    const result = await checkListing('ibm');
    expect(result.mismatches).toEqual([]);
    expect(result.prefixes).toBe(result.materialised);
    expect(result.prefixes).toBe(result.sqlRows);
    // Timestamps exist here, so the timing features are really exercised.
    const [timed] = await fx.db.all<{ waits: number; gaps: number; hours: number }>(
      `SELECT count(wait_first_csr_s)::INTEGER AS waits, count(csr_gap_mean_s)::INTEGER AS gaps, count(DISTINCT start_hour)::INTEGER AS hours
       FROM features_conversation WHERE listing_id = 'ibm'`,
    );
    expect(timed!.waits).toBeGreaterThan(result.conversations / 2);
    expect(timed!.gaps).toBeGreaterThan(result.conversations / 2);
    expect(timed!.hours).toBeGreaterThan(5);
    process.stderr.write(`features parity IBM: ${result.prefixes} prefixes, build ${result.summary.seconds.toFixed(2)} s\n`);
  });

  it('rebuilding replaces a listing\'s rows and leaves other listings alone', async () => {
    const count = async (listing: string) =>
      (await fx.db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM features_prefix WHERE listing_id = $l', { l: listing }))[0]!.n;
    const before = { uss: await count('uss'), ibm: await count('ibm') };
    await buildFeatures(fx.db, { listingId: 'ibm' });
    expect({ uss: await count('uss'), ibm: await count('ibm') }).toEqual(before);
  });
});
