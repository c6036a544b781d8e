import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIAGNOSTIC_QUESTIONS, HESITATIONS, NEGATIVE_MARKERS, PLANTED_EFFECTS, generateInteractions, writeGenerated } from '../../data/generate/index.ts';
import { validateInteraction } from '../../src/ingest/index.ts';
import { createAnalyticsFixture, type AnalyticsFixture } from '../support/analytics.ts';

// The generator's planted causes, recovered from the ingested tables with plain SQL over what any
// feature code can see (timestamps, texts, events), not from the ground-truth labels.

const CONVERSATIONS = 4000;
let fx: AnalyticsFixture;
beforeAll(async () => {
  fx = await createAnalyticsFixture();
  const file = path.join(fx.dir, 'generated.jsonl.gz');
  const written = await writeGenerated({ out: file, conversations: CONVERSATIONS, seed: 42, idPrefix: 'gen' });
  expect(written).toMatchObject({ conversations: CONVERSATIONS, format: 'jsonl' });
  const summary = await fx.ingest({ paths: [file], listingId: 'gen' });
  expect(summary).toMatchObject({ status: 'completed', accepted: CONVERSATIONS, quarantined: 0, messages: written.messages });
});
afterAll(() => fx.close());

const likeAny = (column: string, templates: readonly string[]) =>
  `(${templates.map((template) => `${column} LIKE '${template.replace(/\{\w+\}/g, '%').replaceAll("'", "''")}'`).join(' OR ')})`;

async function rates(sql: string) {
  const rows = await fx.db.all<{ grp: boolean; n: number; rate: number }>(sql);
  const by = (value: boolean) => rows.find((row) => row.grp === value)!;
  return { yes: by(true), no: by(false) };
}

describe('synthetic data with planted effects', () => {
  it('is deterministic from the seed and valid against the interaction schema', () => {
    const first = [...generateInteractions({ conversations: 300, seed: 7 })];
    expect([...generateInteractions({ conversations: 300, seed: 7 })]).toEqual(first);
    expect(JSON.stringify([...generateInteractions({ conversations: 300, seed: 8 })])).not.toEqual(JSON.stringify(first));
    const now = new Date();
    for (const record of first) expect(validateInteraction(record, { listingId: 'x', now })).toMatchObject({ ok: true });
    const kinds = new Set(first.flatMap((record) => record.messages.map((message) => message.kind ?? 'text')));
    expect([...kinds].sort()).toEqual(['image', 'offer', 'text', 'voice']);
    expect(first.some((record) => record.events?.some((event) => event.type === 'channel_changed' && event.from === 'ivr'))).toBe(true);
  });

  it('long first waits raise abandonment', async () => {
    const { thresholdSeconds, abandonIfLong, abandonIfShort } = PLANTED_EFFECTS.longFirstWait;
    const { yes, no } = await rates(`
      SELECT epoch(first_csr_reply_at - created_at) > ${thresholdSeconds} AS grp, count(*)::INTEGER AS n, avg(abandoned::INTEGER) AS rate
      FROM interactions WHERE listing_id = 'gen' GROUP BY ALL`);
    expect(yes.n).toBeGreaterThan(300);
    expect(yes.rate).toBeCloseTo(abandonIfLong, 1);
    expect(no.rate).toBeCloseTo(abandonIfShort, 1);
    expect(yes.rate / no.rate).toBeGreaterThan(3);
  });

  it('an early diagnostic question raises resolution', async () => {
    const { withinCsrMessages, resolveIfEarly, resolveIfNot } = PLANTED_EFFECTS.earlyDiagnostic;
    const { yes, no } = await rates(`
      WITH csr AS (
        SELECT interaction_id, text, row_number() OVER (PARTITION BY interaction_id ORDER BY seq) AS nth
        FROM messages WHERE listing_id = 'gen' AND role = 'csr'),
      early AS (
        SELECT interaction_id, bool_or(nth <= ${withinCsrMessages} AND text IN (${DIAGNOSTIC_QUESTIONS.map((q) => `'${q}'`).join(', ')})) AS early
        FROM csr GROUP BY interaction_id)
      SELECT early.early AS grp, count(*)::INTEGER AS n, avg(i.resolved::INTEGER) AS rate
      FROM interactions i JOIN early ON early.interaction_id = i.id
      WHERE i.listing_id = 'gen' AND NOT i.abandoned GROUP BY ALL`);
    expect(yes.rate).toBeCloseTo(resolveIfEarly, 1);
    expect(no.rate).toBeCloseTo(resolveIfNot, 1);
  });

  it('a discount offered right after a hesitation raises conversion', async () => {
    const { convertIfOfferAtHesitation, convertIfNoOffer } = PLANTED_EFFECTS.discountAtHesitation;
    const rows = await fx.db.all<{ offer: string; n: number; rate: number }>(`
      WITH m AS (
        SELECT interaction_id, kind, role, text, lag(role) OVER w AS prev_role, lag(text) OVER w AS prev_text
        FROM messages WHERE listing_id = 'gen' WINDOW w AS (PARTITION BY interaction_id ORDER BY seq)),
      offers AS (
        SELECT interaction_id,
               bool_or(kind = 'offer' AND prev_role = 'customer' AND ${likeAny('prev_text', HESITATIONS)}) AS at_hesitation,
               bool_or(kind = 'offer') AS any_offer
        FROM m GROUP BY interaction_id)
      SELECT CASE WHEN at_hesitation THEN 'at_hesitation' WHEN any_offer THEN 'elsewhere' ELSE 'none' END AS offer,
             count(*)::INTEGER AS n, avg(i.converted::INTEGER) AS rate
      FROM interactions i JOIN offers o ON o.interaction_id = i.id
      WHERE i.listing_id = 'gen' AND i.converted IS NOT NULL AND NOT i.abandoned GROUP BY ALL`);
    const by = (offer: string) => rows.find((row) => row.offer === offer)!;
    expect(by('at_hesitation').n).toBeGreaterThan(150);
    expect(by('at_hesitation').rate).toBeCloseTo(convertIfOfferAtHesitation, 1);
    expect(by('none').rate).toBeCloseTo(convertIfNoOffer, 1);
    expect(by('at_hesitation').rate).toBeGreaterThan(by('elsewhere').rate + 0.2);
    // The offer is also in the event stream, on the offer message.
    const [events] = await fx.db.all<{ n: number }>(`
      SELECT count(*)::INTEGER AS n FROM interaction_events e JOIN messages m
        ON m.listing_id = e.listing_id AND m.interaction_id = e.interaction_id AND m.seq = e.seq
      WHERE e.listing_id = 'gen' AND e.type = 'offer_sent' AND m.kind = 'offer'`);
    const [offers] = await fx.db.all<{ n: number }>("SELECT count(*)::INTEGER AS n FROM messages WHERE listing_id = 'gen' AND kind = 'offer'");
    expect(events!.n).toBe(offers!.n);
  });

  it('a negative customer tone lowers satisfaction', async () => {
    const { yes, no } = await rates(`
      WITH tone AS (
        SELECT interaction_id, bool_or(regexp_matches(lower(coalesce(text, transcript)), '${NEGATIVE_MARKERS.join('|')}')) AS negative
        FROM messages WHERE listing_id = 'gen' AND role = 'customer' GROUP BY interaction_id)
      SELECT tone.negative AS grp, count(*)::INTEGER AS n, avg(i.satisfaction) AS rate
      FROM interactions i JOIN tone ON tone.interaction_id = i.id
      WHERE i.listing_id = 'gen' AND i.satisfaction IS NOT NULL GROUP BY ALL`);
    expect(no.rate - yes.rate).toBeGreaterThan(Math.abs(PLANTED_EFFECTS.tone.negativeShift) * 0.7);
  });

  it('converts IVR calls to chat with a channel change', async () => {
    const [row] = await fx.db.all<{ ivr: number; converted: number }>(`
      SELECT count(*)::INTEGER AS ivr,
             count(*) FILTER (WHERE id IN (SELECT interaction_id FROM interaction_events WHERE listing_id = 'gen' AND type = 'channel_changed'))::INTEGER AS converted
      FROM interactions WHERE listing_id = 'gen' AND source_channel = 'ivr'`);
    expect(row!.ivr / CONVERSATIONS).toBeCloseTo(PLANTED_EFFECTS.ivr.sourceShare, 1);
    expect(row!.converted / row!.ivr).toBeCloseTo(PLANTED_EFFECTS.ivr.convertToChat, 1);
  });
});
