import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAutoActionService, holdoutBucket } from '../../src/auto-actions/index.ts';
import { readEvents } from '../../src/events/index.ts';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

type Listing = Awaited<ReturnType<TestContext['seedListing']>>;

const discountOffer = { name: 'Promo code', description: 'A code for your next purchase', kind: 'discount', maxDiscountPercent: 20, code: 'SAVE20' };

async function offer(listing: Listing, body: Record<string, unknown> = discountOffer): Promise<string> {
  const response = await ctx.request(listing.managerKey, 'POST', '/v1/auto-actions/offers', body);
  expect(response.status).toBe(201);
  return response.body.id;
}

async function policy(listing: Listing, body: Record<string, unknown>): Promise<string> {
  const response = await ctx.request(listing.managerKey, 'POST', '/v1/auto-actions/policies', { name: `policy ${Math.random()}`, holdoutPercent: 0, ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id;
}

/** A ticket whose customer has said `texts` (as separate turns, with a bot reply between). */
async function ticketSaying(listing: Listing, texts: string[], overrides: Record<string, unknown> = {}): Promise<{ id: string; customerId: string }> {
  const ticket = await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody(overrides));
  for (const text of texts) {
    await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.body.id}/messages`, { kind: 'text', text, senderRole: 'customer' });
    await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.body.id}/messages`, { kind: 'text', text: 'I see.', senderRole: 'bot' });
  }
  return { id: ticket.body.id, customerId: ticket.body.customerId };
}

const evaluate = (listing: Listing, ticketId: string, extra: Record<string, unknown> = {}) =>
  ctx.request(listing.managerKey, 'POST', '/v1/auto-actions/evaluate', { ticketId, ...extra });

const logOf = async (listingId: string) =>
  (await ctx.db.query<{ status: string; holdout: boolean; ticket_id: string }>('SELECT status, holdout, ticket_id FROM auto_action_log WHERE listing_id = $1 ORDER BY created_at', [listingId])).rows;

const threadOf = async (listingId: string, ticketId: string) =>
  (
    await ctx.db.query<{ id: string; sender_role: string; kind: string; content: Record<string, unknown> }>(
      'SELECT id, sender_role, kind, content FROM messages WHERE listing_id = $1 AND ticket_id = $2 ORDER BY seq',
      [listingId, ticketId],
    )
  ).rows;

describe('offer catalogue and policies', () => {
  it('lets managers write, others read, and keeps listings apart', async () => {
    const listing = await ctx.seedListing();
    const other = await ctx.seedListing();
    const csr = await ctx.seedCsr(listing.listingId);
    const id = await offer(listing);
    expect((await ctx.request(csr.key, 'GET', '/v1/auto-actions/offers')).body.items).toEqual([
      expect.objectContaining({ id, name: 'Promo code', kind: 'discount', maxDiscountPercent: 20, code: 'SAVE20' }),
    ]);
    expect((await ctx.request(csr.key, 'POST', '/v1/auto-actions/offers', { ...discountOffer, name: 'x' })).status).toBe(403);
    expect((await ctx.request(listing.managerKey, 'POST', '/v1/auto-actions/offers', discountOffer)).status).toBe(409);
    expect((await ctx.request(other.managerKey, 'GET', `/v1/auto-actions/offers/${id}`)).status).toBe(404);
    expect((await ctx.request(other.managerKey, 'PUT', `/v1/auto-actions/offers/${id}`, discountOffer)).status).toBe(404);

    const updated = await ctx.request(listing.managerKey, 'PUT', `/v1/auto-actions/offers/${id}`, { ...discountOffer, maxDiscountPercent: 15 });
    expect(updated.body).toMatchObject({ maxDiscountPercent: 15 });

    const policyId = await policy(listing, { name: 'price objection', conditions: { hesitation: ['price_objection'] }, offerId: id, discountPercent: 10 });
    expect((await ctx.request(other.managerKey, 'GET', `/v1/auto-actions/policies/${policyId}`)).status).toBe(404);
    expect((await ctx.request(listing.developerKey, 'GET', '/v1/auto-actions/policies')).body.items).toEqual([
      expect.objectContaining({ id: policyId, mode: 'propose', holdoutPercent: 0, maxPerCustomerPerDay: 1, discountPercent: 10, conditions: { hesitation: ['price_objection'] } }),
    ]);
    const inUse = await ctx.request(listing.managerKey, 'DELETE', `/v1/auto-actions/offers/${id}`);
    expect(inUse).toMatchObject({ status: 409, body: { code: 'auto_action_offer_in_use', policies: ['price objection'] } });
    expect((await ctx.request(listing.managerKey, 'PUT', `/v1/auto-actions/offers/${id}`, { name: 'Promo code', kind: 'refund' })).status).toBe(409);
    expect((await ctx.request(listing.managerKey, 'DELETE', `/v1/auto-actions/policies/${policyId}`)).status).toBe(204);
    expect((await ctx.request(listing.managerKey, 'DELETE', `/v1/auto-actions/offers/${id}`)).status).toBe(204);
    expect((await ctx.request(listing.managerKey, 'GET', '/v1/auto-actions/offers')).body.items).toEqual([]);

    const names = (await readEvents(ctx.db, { listingId: listing.listingId, limit: 1000 })).map((event) => event.name);
    expect(names).toEqual(
      expect.arrayContaining(['auto_action_offer.created', 'auto_action_offer.updated', 'auto_action_policy.created', 'auto_action_policy.deleted', 'auto_action_offer.deleted']),
    );
  });

  it('refuses bad catalogue entries and policies with a problem, writing nothing', async () => {
    const listing = await ctx.seedListing();
    const other = await ctx.seedListing();
    const foreignOffer = await offer(other);
    const escalate = await offer(listing, { name: 'Manager call-back', kind: 'escalate' });
    const discount = await offer(listing);
    const before = await readEvents(ctx.db, { listingId: listing.listingId, limit: 1000 });
    const cases: Array<[string, Record<string, unknown>, number]> = [
      ['/v1/auto-actions/offers', { name: 'No cap', kind: 'discount' }, 400],
      ['/v1/auto-actions/offers', { name: 'Refund with %', kind: 'refund', maxDiscountPercent: 5 }, 400],
      ['/v1/auto-actions/offers', { name: 'Too much', kind: 'discount', maxDiscountPercent: 150 }, 400],
      ['/v1/auto-actions/policies', { name: 'p', conditions: {}, offerId: discount }, 400],
      ['/v1/auto-actions/policies', { name: 'p', conditions: { turn: { min: 2 } }, offerId: discount }, 400],
      ['/v1/auto-actions/policies', { name: 'p', conditions: { hesitation: ['boredom'] }, offerId: discount }, 400],
      ['/v1/auto-actions/policies', { name: 'p', conditions: { hesitation: ['price_objection'] }, offerId: discount, holdoutPercent: 80 }, 400],
      ['/v1/auto-actions/policies', { name: 'p', conditions: { hesitation: ['price_objection'] }, offerId: foreignOffer }, 422],
      ['/v1/auto-actions/policies', { name: 'p', conditions: { hesitation: ['price_objection'] }, offerId: discount, discountPercent: 25 }, 422],
      ['/v1/auto-actions/policies', { name: 'p', conditions: { hesitation: ['price_objection'] }, offerId: escalate, discountPercent: 5 }, 422],
      ['/v1/auto-actions/policies', { name: 'p', conditions: { hesitation: ['price_objection'] }, offerId: escalate, mode: 'auto' }, 422],
    ];
    for (const [url, body, status] of cases) {
      const response = await ctx.request(listing.managerKey, 'POST', url, body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    expect(await readEvents(ctx.db, { listingId: listing.listingId, limit: 1000 })).toHaveLength(before.length);
    expect((await ctx.request(listing.managerKey, 'GET', '/v1/auto-actions/policies')).body.items).toEqual([]);
  });
});

describe('evaluation', () => {
  it('proposes to the CSR, who sends the offer into the thread; a policy acts once per ticket', async () => {
    const listing = await ctx.seedListing();
    const csr = await ctx.seedCsr(listing.listingId);
    const offerId = await offer(listing);
    const policyId = await policy(listing, { name: 'price objection', conditions: { hesitation: ['price_objection'], turn: { min: 2 } }, offerId, discountPercent: 10 });
    const ticket = await ticketSaying(listing, ['Hi, I am looking at the premium plan', 'Hmm, that is too expensive']);
    await ctx.request(csr.key, 'POST', `/v1/tickets/${ticket.id}/assign`, { csrId: csr.csrId });

    const result = await evaluate(listing, ticket.id);
    expect(result.status).toBe(200);
    expect(result.body.facts).toMatchObject({ status: 'assigned', turn: 2, hesitation: [{ kind: 'price_objection', phrase: 'too expensive' }] });
    expect(result.body.actions).toEqual([
      expect.objectContaining({
        policyId,
        policyName: 'price objection',
        status: 'proposed',
        mode: 'propose',
        holdout: false,
        action: 'discount',
        discountPercent: 10,
        offer: expect.objectContaining({ id: offerId, code: 'SAVE20' }),
        reason: 'price objection: price objection in the last customer message ("too expensive"); turn 2',
      }),
    ]);
    expect(result.body.actions[0].inputs).toMatchObject({ turn: 2, holdoutPercent: 0, discountPercent: 10, counts: { customerToday: 0, policyToday: 0 } });

    const proposals = await ctx.request(csr.key, 'GET', `/v1/tickets/${ticket.id}/auto-actions`);
    expect(proposals.body.items.map((item: { id: string }) => item.id)).toEqual([result.body.actions[0].id]);

    const sent = await ctx.request(csr.key, 'POST', `/v1/auto-actions/${result.body.actions[0].id}/send`);
    expect(sent.body).toMatchObject({ status: 'sent' });
    const thread = await threadOf(listing.listingId, ticket.id);
    expect(thread.at(-1)).toMatchObject({
      id: sent.body.messageId,
      sender_role: 'csr',
      kind: 'offer',
      content: { offer: { title: 'Promo code: 10% off', description: 'A code for your next purchase', discountPercent: 10, code: 'SAVE20' } },
    });
    expect((await ctx.request(csr.key, 'POST', `/v1/auto-actions/${result.body.actions[0].id}/send`)).body.messageId).toBe(sent.body.messageId);
    expect((await ctx.request(csr.key, 'POST', `/v1/auto-actions/${result.body.actions[0].id}/dismiss`, {})).status).toBe(409);

    const again = await evaluate(listing, ticket.id);
    expect(again.body.actions).toEqual([]);
    expect(again.body.skipped).toEqual([expect.objectContaining({ policyId, reason: 'already_acted' })]);
    const names = (await readEvents(ctx.db, { listingId: listing.listingId, limit: 1000 })).map((event) => event.name);
    expect(names.filter((name) => name.startsWith('auto_action.'))).toEqual(['auto_action.proposed', 'auto_action.sent']);
  });

  it('sends automatically in auto mode (risk from the request), through the message service, and logs the inputs', async () => {
    const listing = await ctx.seedListing();
    const offerId = await offer(listing);
    await policy(listing, { name: 'conversion at risk', conditions: { risk: [{ target: 'converted', atLeast: 0.7 }] }, offerId, mode: 'auto' });
    const ticket = await ticketSaying(listing, ['I will think about it']);
    const quiet = await evaluate(listing, ticket.id, { signals: { risk: { converted: 0.5 } } });
    expect(quiet.body.skipped).toEqual([expect.objectContaining({ reason: 'conditions', detail: 'converted risk 0.50 < 0.70' })]);

    const result = await evaluate(listing, ticket.id, { signals: { risk: { converted: 0.82 } } });
    expect(result.body.actions).toEqual([expect.objectContaining({ status: 'sent', mode: 'auto', discountPercent: 20, reason: 'conversion at risk: converted risk 0.82 ≥ 0.70' })]);
    expect(result.body.actions[0].inputs).toMatchObject({ risk: { converted: 0.82 }, hesitation: [{ kind: 'deliberation' }] });
    const thread = await threadOf(listing.listingId, ticket.id);
    expect(thread.at(-1)).toMatchObject({ id: result.body.actions[0].messageId, sender_role: 'system', kind: 'offer', content: { offer: { discountPercent: 20 } } });

    const events = await readEvents(ctx.db, { listingId: listing.listingId, limit: 1000 });
    const offerMessage = events.filter((event) => event.name === 'message.created' && event.payload.kind === 'offer');
    expect(offerMessage).toHaveLength(1);
    expect(offerMessage[0]!.actor).toMatchObject({ keyId: 'auto-actions' });
    expect(events.find((event) => event.name === 'auto_action.sent')!.payload).toMatchObject({ messageId: result.body.actions[0].messageId, mode: 'auto' });
  });

  it('never acts for a customer in the holdout group, and hides the log row from the CSR', async () => {
    const listing = await ctx.seedListing();
    const offerId = await offer(listing);
    const policyId = await policy(listing, { name: 'objection', conditions: { hesitation: ['price_objection'] }, offerId, mode: 'auto', holdoutPercent: 50 });
    let ticket: { id: string; customerId: string } | undefined;
    // Customers get random ids; take the first one the hash puts in the holdout half.
    for (let attempt = 0; attempt < 40 && !ticket; attempt++) {
      const candidate = await ticketSaying(listing, ['too expensive']);
      if (holdoutBucket(listing.listingId, candidate.customerId, policyId) < 0.5) ticket = candidate;
    }
    const result = await evaluate(listing, ticket!.id);
    expect(result.body.actions).toEqual([expect.objectContaining({ status: 'holdout', holdout: true, messageId: null })]);
    expect(result.body.actions[0].reason).toContain('holdout');
    expect((await threadOf(listing.listingId, ticket!.id)).some((message) => message.kind === 'offer')).toBe(false);
    expect((await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket!.id}/auto-actions`)).body.items).toEqual([]);
    expect((await ctx.request(listing.managerKey, 'POST', `/v1/auto-actions/${result.body.actions[0].id}/send`)).status).toBe(404);
  });

  it('caps actions per customer and day under a lock: two concurrent evaluations cannot both pass', async () => {
    const listing = await ctx.seedListing();
    const offerId = await offer(listing);
    await ctx.request(listing.managerKey, 'PUT', '/v1/auto-actions/settings', { maxPerCustomerPerDay: 1 });
    // Four policies on four rule tags; four evaluations at once, each seeing another tag, so
    // each takes a different policy: only the customer's lock stops all four from passing the cap.
    const tags = ['t1', 't2', 't3', 't4'];
    for (const tag of tags) await policy(listing, { name: tag, conditions: { ruleTags: [tag] }, offerId });
    const ticket = await ticketSaying(listing, ['way too expensive']);
    const results = await Promise.all(tags.map((tag) => evaluate(listing, ticket.id, { signals: { ruleTags: [tag] } })));
    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200]);
    expect(results.flatMap((result) => result.body.actions)).toHaveLength(1);
    expect(await logOf(listing.listingId)).toHaveLength(1);
    expect(results.flatMap((result) => result.body.skipped.map((skipped: { reason: string }) => skipped.reason)).filter((reason: string) => reason === 'cap_customer')).toHaveLength(3);

    // The same customer's next ticket that day is capped too.
    await ctx.request(listing.managerKey, 'POST', `/v1/tickets/${ticket.id}/end`, { outcome: 'resolved' });
    const customerId = (await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}`)).body.customerId;
    const next = await ctx.request(listing.botKey, 'POST', '/v1/tickets', { customerId, source: { app: 'web', channel: 'website' } });
    const capped = await evaluate(listing, next.body.id, { signals: { ruleTags: ['t1', 't2'] } });
    expect(capped.body.actions).toEqual([]);
    expect(capped.body.skipped.map((skipped: { reason: string }) => skipped.reason)).toEqual(['cap_customer', 'cap_customer', 'conditions', 'conditions']);
  });

  it('does nothing while switched off, nothing in a dry run, and refuses bad input and other tenants', async () => {
    const listing = await ctx.seedListing();
    const other = await ctx.seedListing();
    const offerId = await offer(listing);
    await policy(listing, { name: 'objection', conditions: { hesitation: ['price_objection'] }, offerId, mode: 'auto' });
    const ticket = await ticketSaying(listing, ['too expensive']);

    const dry = await evaluate(listing, ticket.id, { dryRun: true });
    expect(dry.body).toMatchObject({ dryRun: true, actions: [expect.objectContaining({ status: 'sending', mode: 'auto' })] });
    expect(await logOf(listing.listingId)).toEqual([]);

    expect((await ctx.request(listing.managerKey, 'PUT', '/v1/auto-actions/settings', { enabled: false })).body).toMatchObject({ enabled: false, maxPerCustomerPerDay: 3 });
    const off = await evaluate(listing, ticket.id);
    expect(off.body).toMatchObject({ enabled: false, actions: [], skipped: [] });
    expect(await logOf(listing.listingId)).toEqual([]);

    for (const body of [{}, { ticketId: 'nope' }, { ticketId: ticket.id, signals: { risk: { converted: 2 } } }, { ticketId: ticket.id, extra: true }]) {
      const response = await ctx.request(listing.managerKey, 'POST', '/v1/auto-actions/evaluate', body);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    expect((await evaluate(other, ticket.id)).status).toBe(404);
    expect((await ctx.request(other.managerKey, 'GET', `/v1/tickets/${ticket.id}/auto-actions`)).status).toBe(404);
    expect((await ctx.request(listing.botKey, 'POST', '/v1/auto-actions/evaluate', { ticketId: ticket.id })).status).toBe(403);
    expect(await logOf(listing.listingId)).toEqual([]);
  });
});

describe('after each message (the job path)', () => {
  it('does nothing for a listing without an active policy, and acts as soon as this process adds one', async () => {
    const listing = await ctx.seedListing();
    const ticket = await ticketSaying(listing, ['that is too expensive for me']);
    const service = ctx.services.autoActions;
    expect(await service.afterMessage(listing.listingId, ticket.id)).toBeUndefined();

    // Created through the service the job uses: the cached "no policy" answer is dropped at once.
    const offerId = await service.createOffer(listing.listingId, { ...discountOffer, kind: 'discount' }, {}).then((created) => created.id);
    await service.createPolicy(listing.listingId, { name: 'objection', conditions: { hesitation: ['price_objection'] }, offerId, holdoutPercent: 0 }, {});
    const evaluated = await service.afterMessage(listing.listingId, ticket.id);
    expect(evaluated).toMatchObject({ enabled: true, actions: [expect.objectContaining({ status: 'proposed' })] });
    expect(await logOf(listing.listingId)).toEqual([expect.objectContaining({ status: 'proposed', ticket_id: ticket.id })]);

    await service.putSettings(listing.listingId, { enabled: false }, {});
    expect(await service.afterMessage(listing.listingId, ticket.id)).toBeUndefined();
  });
});

describe('injected components', () => {
  it('asks the model only for the targets policies name, and the rules only when a policy reads tags', async () => {
    const listing = await ctx.seedListing();
    const offerId = await offer(listing);
    await policy(listing, { name: 'risky and tagged', conditions: { risk: [{ target: 'converted', atLeast: 0.6 }], ruleTags: ['upsell'] }, offerId });
    const ticket = await ticketSaying(listing, ['hello']);
    const asked: unknown[] = [];
    const service = createAutoActionService({
      db: ctx.db,
      messages: ctx.services.messages,
      risk: (query) => {
        asked.push(query);
        return 0.75;
      },
      ruleTags: () => ['upsell'],
    });
    const result = await service.evaluate(listing.listingId, { ticketId: ticket.id });
    expect(asked).toEqual([{ listingId: listing.listingId, ticketId: ticket.id, target: 'converted' }]);
    expect(result.facts).toMatchObject({ risk: { converted: 0.75 }, ruleTags: ['upsell'] });
    expect(result.actions).toEqual([expect.objectContaining({ status: 'proposed', reason: 'risky and tagged: converted risk 0.75 ≥ 0.60; rule tag "upsell"' })]);
    // Values in the request win over the injected ones.
    const other = await ticketSaying(listing, ['hello']);
    const overridden = await service.evaluate(listing.listingId, { ticketId: other.id, signals: { risk: { converted: 0.1 } } });
    expect(overridden.skipped).toEqual([expect.objectContaining({ reason: 'conditions', detail: 'converted risk 0.10 < 0.60' })]);
  });
});

describe('offer answers and analytics', () => {
  it('records answers to offer messages once', async () => {
    const listing = await ctx.seedListing();
    const ticket = await ticketSaying(listing, ['hello']);
    const offerMessage = await ctx.request(listing.managerKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'offer', offer: { title: '10% off' } });
    const url = `/v1/tickets/${ticket.id}/offers/${offerMessage.body.id}/response`;
    expect((await ctx.request(listing.botKey, 'POST', url, { accepted: true })).status).toBe(201);
    expect((await ctx.request(listing.botKey, 'POST', url, { accepted: true })).status).toBe(200);
    expect((await ctx.request(listing.botKey, 'POST', url, { accepted: false })).status).toBe(409);
    const text = (await threadOf(listing.listingId, ticket.id))[0]!.id;
    expect((await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/offers/${text}/response`, { accepted: true })).status).toBe(422);
    const other = await ctx.seedListing();
    expect((await ctx.request(other.botKey, 'POST', url, { accepted: true })).status).toBe(404);
    expect((await readEvents(ctx.db, { listingId: listing.listingId, limit: 1000 })).filter((event) => event.name === 'offer.accepted')).toHaveLength(1);
  });

  it('reports treated vs holdout outcomes per policy with the difference and its interval', async () => {
    const listing = await ctx.seedListing();
    const offerId = await offer(listing);
    const policyId = await policy(listing, { name: 'objection', conditions: { hesitation: ['price_objection'] }, offerId, mode: 'auto', holdoutPercent: 50 });
    const arms = { treated: 0, holdout: 0 };
    while (arms.treated < 3 || arms.holdout < 3) {
      const ticket = await ticketSaying(listing, ['too expensive']);
      const action = (await evaluate(listing, ticket.id)).body.actions[0];
      // Treated customers take the offer and are happy; held-out ones leave.
      if (action.holdout) {
        arms.holdout++;
        await ctx.request(listing.managerKey, 'POST', `/v1/tickets/${ticket.id}/end`, { outcome: 'abandoned' });
        await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/rate`, { rating: 2 });
      } else {
        arms.treated++;
        await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/offers/${action.messageId}/response`, { accepted: true });
        await ctx.request(listing.managerKey, 'POST', `/v1/tickets/${ticket.id}/end`, { outcome: 'resolved' });
        await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/rate`, { rating: 5 });
      }
    }
    // One more treated ticket, still open: eligible, not yet an outcome.
    const open = await ticketSaying(listing, ['too expensive']);
    const openAction = (await evaluate(listing, open.id)).body.actions[0];
    const extra = openAction.holdout ? { treated: 0, holdout: 1 } : { treated: 1, holdout: 0 };

    const report = await ctx.request(listing.managerKey, 'GET', '/v1/analytics/auto-actions');
    expect(report.status).toBe(200);
    const [row] = report.body.policies;
    expect(row).toMatchObject({
      policyId,
      policyName: 'objection',
      eligible: arms.treated + arms.holdout + 1,
      treated: arms.treated + extra.treated,
      holdout: arms.holdout + extra.holdout,
      delivered: arms.treated + extra.treated,
      ended: { treated: arms.treated, holdout: arms.holdout },
      meanRating: { treated: 5, holdout: 2 },
    });
    expect(row.outcomes.converted).toMatchObject({ treated: { n: arms.treated, successes: arms.treated, rate: 1 }, holdout: { n: arms.holdout, successes: 0, rate: 0 }, difference: 1 });
    expect(row.outcomes.converted.ci95[0]).toBeGreaterThan(0);
    expect(row.outcomes.converted.ci95[1]).toBeLessThanOrEqual(1);
    expect(row.outcomes.resolved.difference).toBe(1);
    expect(row.outcomes.satisfied).toMatchObject({ treated: { rate: 1 }, holdout: { rate: 0 } });

    expect((await ctx.request(listing.managerKey, 'GET', '/v1/analytics/auto-actions?from=2100-01-01T00:00:00Z')).body.policies).toEqual([]);
    expect((await ctx.request(listing.managerKey, 'GET', '/v1/analytics/auto-actions?from=yesterday')).status).toBe(400);
    const csr = await ctx.seedCsr(listing.listingId);
    expect((await ctx.request(csr.key, 'GET', '/v1/analytics/auto-actions')).status).toBe(403);
    const other = await ctx.seedListing();
    expect((await ctx.request(other.managerKey, 'GET', '/v1/analytics/auto-actions')).body.policies).toEqual([]);
  });
});
