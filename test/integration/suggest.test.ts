import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOutcomeModel, trainOutcomeModel } from '../../src/models/index.ts';
import { createInProcessServing, createModelWorkerPool, type ModelServing } from '../../src/suggest/engine/index.ts';
import { trainReplyModel } from '../../src/suggest/replies/index.ts';
import { createAnalyticsFixture, MWOZ, ussSlice, type AnalyticsFixture } from '../support/analytics.ts';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

/**
 * POST /v1/suggest and /v1/suggest/rank on real conversations: a listing whose history is a
 * slice of MultiWOZ, with a published keyword rule, a trained reply model and a trained
 * satisfaction model, all promoted through the registry the api reads.
 */
let ctx: TestContext;
let fixture: AnalyticsFixture;
let listing: Awaited<ReturnType<TestContext['seedListing']>>;

beforeAll(async () => {
  ctx = await createTestContext();
  listing = await ctx.seedListing();
  fixture = await createAnalyticsFixture();
  await fixture.ingest({ paths: [await ussSlice(MWOZ, fixture.dir, 200)], listingId: listing.listingId });
  // The behaviour under test is the merge, not model quality (test/integration/suggest-replies and
  // models-* cover that): one dual encoder and a 2-fold evaluation keep this setup short.
  await trainReplyModel({ analytics: fixture.db, registry: ctx.services.models }, { listingId: listing.listingId, promote: true, config: { ensemble: 1 } });
  const outcome = await trainOutcomeModel(fixture.db, { listingId: listing.listingId, target: 'satisfaction', at: 'before-turn', seed: 1, folds: 2 });
  await ctx.services.models.save(listing.listingId, 'satisfaction', outcome.metadata as never, outcome.artifact, { promote: true });
  const rule = await ctx.request(listing.developerKey, 'POST', '/v1/rules', {
    name: 'Parking question',
    priority: 10,
    conditions: [{ type: 'keywords', terms: ['parking'] }],
    actions: [
      { type: 'reply_set', replies: [{ text: 'Yes, {{listing.name}} can check parking for you.' }] },
      { type: 'tag', tags: ['parking'] },
    ],
  });
  expect(rule.status).toBe(201);
  expect((await ctx.request(listing.developerKey, 'POST', `/v1/rules/${rule.body.id}/publish`, {})).status).toBe(200);
}, 180_000);
afterAll(async () => {
  await fixture?.close();
  await ctx?.close();
});

const hotelContext = [
  { role: 'customer', text: 'I am looking for a cheap hotel in the north with free parking.' },
  { role: 'csr', text: 'There are several. Do you have a star rating in mind?' },
  { role: 'customer', text: 'No preference. Can you book one for 2 people for 3 nights starting Friday?' },
];

describe('POST /v1/suggest', () => {
  it('merges rule replies and learned replies into one diverse list, with evidence, outcome predictions and logged ids', async () => {
    const response = await ctx.request(listing.botKey, 'POST', '/v1/suggest', { context: [{ role: 'customer', text: 'Is there parking at the hotel?' }], top: 4 });
    expect(response.status).toBe(200);
    const { suggestions, actions, models } = response.body;
    expect(models).toEqual({ reply: 1, outcome: 1 });
    expect(suggestions[0]).toMatchObject({ source: 'rule', score: 1, text: `Yes, Listing ${listing.listingId} can check parking for you.`, evidence: { matchedTerms: ['parking'] } });
    expect(actions).toEqual([expect.objectContaining({ type: 'tag', ruleName: 'Parking question', detail: { tags: ['parking'] } })]);
    const learned = suggestions.filter((item: { source: string }) => item.source === 'learned');
    expect(learned.length).toBeGreaterThan(0);
    for (const item of learned) {
      expect(item.replyId).toEqual(expect.any(Number));
      expect(item.evidence.timesGiven).toBeGreaterThan(0);
      expect(item.score).toBeGreaterThanOrEqual(0.05);
    }
    expect(new Set(learned.map((item: { replyId: number }) => item.replyId)).size).toBe(learned.length);
    for (const item of suggestions) {
      expect(item.predictedOutcome).toMatchObject({ target: 'satisfaction', modelVersion: 1 });
      expect(item.predictedOutcome.risk).toBeGreaterThanOrEqual(0);
      expect(item.predictedOutcome.risk).toBeLessThanOrEqual(1);
    }
    const logged = await ctx.request(listing.managerKey, 'GET', `/v1/suggestions/${suggestions[1].id}`);
    expect(logged.status).toBe(200);
    expect(logged.body).toMatchObject({ source: suggestions[1].source, text: suggestions[1].text });
  });

  it('suggests booking-style replies for a booking request, from a live ticket’s own messages', async () => {
    const ticket = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body as { id: string };
    for (const message of hotelContext) {
      await ctx.request(listing.managerKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text: message.text, senderRole: message.role });
    }
    const response = await ctx.request(listing.managerKey, 'POST', '/v1/suggest', { ticketId: ticket.id, top: 5, minScore: 0 });
    expect(response.status).toBe(200);
    expect(response.body.ticketId).toBe(ticket.id);
    expect(response.body.suggestions.length).toBe(5);
    // A relevance check a CSR would make: replies about booking come up for a booking request.
    expect(response.body.suggestions.some((item: { text: string }) => /book/i.test(item.text))).toBe(true);
  });

  it('applies the confidence gate and can leave outcome predictions out', async () => {
    const response = await ctx.request(listing.botKey, 'POST', '/v1/suggest', { context: hotelContext, minScore: 0.999, outcome: false });
    expect(response.status).toBe(200);
    expect(response.body.suggestions).toEqual([]);
    expect(response.body.models.outcome).toBeNull();
  });

  it('refuses bad input with a problem and writes nothing', async () => {
    const before = (await ctx.db.query('SELECT count(*)::int AS n FROM suggestions')).rows[0];
    for (const body of [{}, { context: hotelContext, ticketId: '018f2f4e-0000-7000-8000-000000000000' }, { context: [] }, { context: hotelContext, top: 50 }, { context: [{ role: 'robot', text: 'x' }] }]) {
      const response = await ctx.request(listing.botKey, 'POST', '/v1/suggest', body);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM suggestions')).rows[0]).toEqual(before);
    const other = await ctx.seedListing();
    const ticket = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body as { id: string };
    expect((await ctx.request(other.botKey, 'POST', '/v1/suggest', { ticketId: ticket.id })).status).toBe(404);
  });
});

describe('POST /v1/suggest/rank', () => {
  it('scores given candidates in order, the fitting reply above unrelated ones', async () => {
    const candidates = ['The train leaves at 10:15 from Cambridge.', 'I have booked it for you; your reference number is ABC123.', 'The museum is free to enter.'];
    const response = await ctx.request(listing.botKey, 'POST', '/v1/suggest/rank', { context: hotelContext, candidates });
    expect(response.status).toBe(200);
    expect(response.body.model).toBe(1);
    expect(response.body.scores).toHaveLength(3);
    expect(response.body.scores[1]).toBeGreaterThan(Math.max(response.body.scores[0], response.body.scores[2]));
  });

  it('answers 409 when the listing has no reply model', async () => {
    const other = await ctx.seedListing();
    const response = await ctx.request(other.botKey, 'POST', '/v1/suggest/rank', { context: hotelContext, candidates: ['hello'] });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('no_promoted_model');
  });
});

describe('model worker threads (SUGGEST_WORKERS)', () => {
  const refs = () => ({
    reply: { listingId: listing.listingId, target: 'reply', version: 1 },
    outcome: { listingId: listing.listingId, target: 'satisfaction', version: 1 },
  });
  const loadBoth = async (serving: ModelServing) => {
    const { reply, outcome } = refs();
    for (const ref of [reply, outcome]) {
      const artifact = await ctx.services.models.get(ref.listingId, ref.target, ref.version);
      await serving.load(ref, artifact.bytes, artifact.version.metadata);
    }
  };
  const conversation = hotelContext.map((message, index) => ({ role: message.role as 'customer' | 'csr', text: message.text, seq: index + 1 }));

  it('answer exactly what the request thread answers: suggestions with risks, rule-reply risks, rank scores, risk', async () => {
    const local = createInProcessServing(loadOutcomeModel);
    // Two workers: requests alternate between them, each with its own copy of every model.
    const pool = createModelWorkerPool({ workers: 2 });
    try {
      await Promise.all([loadBoth(local), loadBoth(pool)]);
      const { reply, outcome } = refs();
      const request = { reply, outcome, messages: conversation, top: 5, riskTexts: ['We have parking, yes.', 'Goodbye.'] };
      const expected = await local.suggest(request);
      expect(expected.learned).toHaveLength(5);
      expect(expected.learned.every((item) => typeof item.risk === 'number')).toBe(true);
      expect(expected.risks).toHaveLength(2);
      const answers = await Promise.all([pool.suggest(request), pool.suggest(request), pool.suggest({ ...request, outcome: undefined })]);
      expect(answers[0]).toEqual(expected);
      expect(answers[1]).toEqual(expected);
      expect(answers[2].risks).toBeNull();
      expect(answers[2].learned.map((item) => item.text)).toEqual((await local.suggest({ ...request, outcome: undefined })).learned.map((item) => item.text));
      const candidates = ['Booking was successful. Your reference number is 00000001.', 'The museum opens at 9.'];
      expect(await pool.rank(reply, conversation, candidates)).toEqual(await local.rank(reply, conversation, candidates));
      expect(await pool.risk(outcome, conversation)).toBe(await local.risk(outcome, conversation));
      // A version dropped is no longer served.
      pool.drop(outcome);
      await expect(pool.risk(outcome, conversation)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await pool.close();
    }
    await expect(pool.suggest({ reply: refs().reply, messages: conversation, top: 3, riskTexts: [] })).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('report their own GC pauses and event-loop figures in GET /v1/admin/runtime', async () => {
    // This context's api serves with the default SUGGEST_WORKERS=1; its models are loaded by the tests above.
    const before = await ctx.request(ctx.adminKey, 'GET', '/v1/admin/runtime');
    expect(before.status).toBe(200);
    expect(before.body.modelWorkers).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect((await ctx.request(listing.botKey, 'POST', '/v1/suggest', { context: hotelContext, top: 5 })).status).toBe(200);
    const after = await ctx.request(ctx.adminKey, 'GET', '/v1/admin/runtime');
    const [worker] = after.body.modelWorkers;
    // The worker ranked those five requests: its event loop ran, and its heap holds the models.
    expect(worker.eventLoop.activeMs).toBeGreaterThan(before.body.modelWorkers[0].eventLoop.activeMs);
    expect(worker.heap.usedBytes).toBeGreaterThan(1_000_000);
    expect(worker.gc.scavenge.buckets.reduce((sum: number, n: number) => sum + n, 0)).toBe(worker.gc.scavenge.count);
  });

  it('refuse an outcome model from other code with model_incompatible, as the request thread does', async () => {
    const pool = createModelWorkerPool({ workers: 1 });
    try {
      const artifact = await ctx.services.models.get(listing.listingId, 'satisfaction', 1);
      await expect(pool.load(refs().outcome, artifact.bytes, { ...artifact.version.metadata, featureSet: 'older' })).rejects.toMatchObject({ code: 'model_incompatible' });
    } finally {
      await pool.close();
    }
  });

  it('survive a worker that dies: requests in flight fail with unavailable, listeners reload, the next load starts new workers', async () => {
    // A heap cap far below what a decoded reply model needs makes the worker die while loading.
    const starved = createModelWorkerPool({ workers: 1, maxHeapMb: 4 });
    let resets = 0;
    starved.onReset(() => resets++);
    try {
      const artifact = await ctx.services.models.get(listing.listingId, 'reply', 1);
      await expect(starved.load(refs().reply, artifact.bytes, artifact.version.metadata)).rejects.toMatchObject({ code: 'unavailable' });
      expect(resets).toBe(1);
    } finally {
      await starved.close();
    }
  });
});
