import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureMessage } from '../../src/features/index.ts';
import { createOutboxRelay } from '../../src/jobs/index.ts';
import { AppError } from '../../src/platform/index.ts';
import { createPredictionEngine, type LoadedOutcomeModel, type OutcomeModelLoader } from '../../src/predictions/index.ts';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

/**
 * The live path around a model: refresh after messages, incremental sessions, promotion picked
 * up without restart, late writes losing, the API views. The model here is a transparent one
 * (risk = share of customer messages containing its word) so the expected values are obvious;
 * test/integration/models-*.test.ts runs the real trained models through the same engine.
 */
const wordModel = (bytes: Uint8Array): LoadedOutcomeModel => {
  const { word, featureSet } = JSON.parse(new TextDecoder().decode(bytes)) as { word: string; featureSet: string };
  if (featureSet !== 'fs-live-test') throw new AppError('model_incompatible', `trained on ${featureSet}`);
  return {
    startConversation: () => {
      const seen: FeatureMessage[] = [];
      return {
        push: (message) => void seen.push(message),
        predict: () => {
          const customer = seen.filter((message) => message.role === 'customer');
          const hits = customer.filter((message) => message.text.toLowerCase().includes(word)).length;
          const risk = customer.length === 0 ? 0 : hits / customer.length;
          return {
            p: 1 - risk,
            risk,
            drivers: [{ feature: `says_${word}`, value: hits, contribution: risk, text: `the customer said "${word}" ${hits} times` }],
          };
        },
      };
    },
  };
};
let loads = 0;
const loader: OutcomeModelLoader = (bytes) => {
  loads++;
  return wordModel(bytes);
};
const artifact = (word: string, featureSet = 'fs-live-test') => new TextEncoder().encode(JSON.stringify({ word, featureSet }));

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

async function setup() {
  const listing = await ctx.seedListing();
  const queued: Array<{ listingId: string; ticketId: string }> = [];
  let now = 1_000_000;
  const engine = createPredictionEngine({
    db: ctx.db,
    registry: ctx.services.models,
    load: loader,
    jobs: { enqueue: async (_name, payload) => void queued.push(payload as { listingId: string; ticketId: string }) },
    modelsTtlMs: 5000,
    now: () => now,
  });
  const ticket = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body as { id: string };
  const say = async (text: string) => {
    const posted = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text, senderRole: 'customer' });
    expect(posted.status).toBe(201);
  };
  /** What the relay would do: hand the new outbox events to the engine, then run the queued jobs. */
  const relayAndRun = async () => {
    const { rows } = await ctx.db.query<{ id: string; listing_id: string; name: string; aggregate_id: string; actor: object; payload: object; created_at: Date; aggregate_type: string }>(
      'SELECT * FROM events WHERE listing_id = $1 ORDER BY id',
      [listing.listingId],
    );
    await engine.publish(
      rows.map((row) => ({ id: Number(row.id), listingId: row.listing_id, name: row.name as never, aggregateType: row.aggregate_type, aggregateId: row.aggregate_id, payload: row.payload as Record<string, unknown>, actor: row.actor, createdAt: row.created_at })),
    );
    const jobs = queued.splice(0);
    for (const job of jobs) await engine.refreshTicket(job.listingId, job.ticketId);
    return jobs.length;
  };
  return { listing, engine, ticket, say, relayAndRun, advance: (ms: number) => (now += ms) };
}

describe('live predictions', () => {
  it('stays empty without a promoted model, then follows every message once one is promoted', async () => {
    const { listing, ticket, say, relayAndRun, advance } = await setup();
    await say('hello, my order is late');
    await relayAndRun();
    expect((await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`)).body).toEqual({ items: [] });

    await ctx.services.models.save(listing.listingId, 'resolved', { kind: 'test-word', featureSet: 'fs-live-test' }, artifact('late'), { promote: true });
    advance(6000);
    await say('this is terrible');
    expect(await relayAndRun()).toBe(1);
    const first = await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ target: 'resolved', modelVersion: 1, atSeq: 2, p: 0.5, risk: 0.5, probs: null });
    expect(first.body.items[0].drivers[0]).toMatchObject({ feature: 'says_late', text: 'the customer said "late" 1 times' });

    await say('still late!');
    await relayAndRun();
    const second = (await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`)).body.items[0];
    expect(second).toMatchObject({ atSeq: 3, risk: 2 / 3 });
  });

  it('switches to a newly promoted version without a restart, and back on rollback', async () => {
    const { listing, ticket, say, relayAndRun, advance } = await setup();
    await ctx.services.models.save(listing.listingId, 'resolved', { kind: 'test-word', featureSet: 'fs-live-test' }, artifact('refund'), { promote: true });
    await say('I want a refund');
    await relayAndRun();
    expect((await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`)).body.items[0]).toMatchObject({ modelVersion: 1, risk: 1 });

    await ctx.services.models.save(listing.listingId, 'resolved', { kind: 'test-word', featureSet: 'fs-live-test' }, artifact('cancel'), { promote: true });
    advance(1000);
    await say('or cancel it');
    // The promotion event reaches the engine with the message, so the new version serves at once.
    await relayAndRun();
    expect((await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`)).body.items[0]).toMatchObject({ modelVersion: 2, atSeq: 2, risk: 0.5 });

    const rolledBack = await ctx.request(listing.managerKey, 'POST', '/v1/models/resolved/rollback');
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body).toMatchObject({ version: 1, promoted: true });
    await say('refund please');
    await relayAndRun();
    expect((await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`)).body.items[0]).toMatchObject({ modelVersion: 1, atSeq: 3, risk: 2 / 3 });
  });

  it('skips a model trained on another feature set and keeps serving the others', async () => {
    const { listing, ticket, say, relayAndRun } = await setup();
    await ctx.services.models.save(listing.listingId, 'resolved', { kind: 'test-word', featureSet: 'fs-live-test' }, artifact('late'), { promote: true });
    await ctx.services.models.save(listing.listingId, 'converted', { kind: 'test-word', featureSet: 'fs-old' }, artifact('buy', 'fs-old'), { promote: true });
    await say('late again');
    await relayAndRun();
    const items = (await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`)).body.items;
    expect(items.map((item: { target: string }) => item.target)).toEqual(['resolved']);
  });

  it('lists open tickets by descending risk, and never lets a late refresh overwrite a newer prediction', async () => {
    const { listing, engine, say, relayAndRun } = await setup();
    await ctx.services.models.save(listing.listingId, 'satisfaction', { kind: 'test-word', featureSet: 'fs-live-test' }, artifact('angry'), { promote: true });
    await say('I am angry');
    const calm = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body as { id: string };
    await ctx.request(listing.botKey, 'POST', `/v1/tickets/${calm.id}/messages`, { kind: 'text', text: 'thanks, all good', senderRole: 'customer' });
    await relayAndRun();

    const atRisk = await ctx.request(listing.managerKey, 'GET', '/v1/analytics/at-risk?target=satisfaction');
    expect(atRisk.status).toBe(200);
    expect(atRisk.body.items.map((item: { risk: number }) => item.risk)).toEqual([1, 0]);
    expect(atRisk.body.items[1].ticketId).toBe(calm.id);
    expect((await ctx.request(listing.managerKey, 'GET', '/v1/analytics/at-risk?target=satisfaction&minRisk=0.5')).body.items).toHaveLength(1);
    expect((await ctx.request(listing.botKey, 'GET', '/v1/analytics/at-risk')).status).toBe(403);

    // A second engine (another worker) with a stale view writes nothing over the newer row.
    const before = loads;
    const stale = createPredictionEngine({ db: ctx.db, registry: ctx.services.models, load: loader, jobs: { enqueue: async () => {} } });
    await ctx.db.query(`UPDATE ticket_predictions SET at_seq = 99 WHERE ticket_id = $1`, [calm.id]);
    expect((await stale.refreshTicket(listing.listingId, calm.id)).predictions).toBe(0);
    expect(loads).toBe(before + 1);
    void engine;
  });

  it('takes relayed messages inside the relay’s transaction without waiting on the database', async () => {
    // The relay publishes inside a transaction; on PGlite (the embedded default) that holds the
    // only connection, so an engine that queried the registry there waited forever — and every
    // request after it with it.
    const { listing, engine, ticket, say } = await setup();
    await ctx.services.models.save(listing.listingId, 'resolved', { kind: 'test-word', featureSet: 'fs-live-test' }, artifact('late'), { promote: true });
    await say('my parcel is late');
    const relay = createOutboxRelay({ db: ctx.db, publisher: engine });
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the relay did not finish')), 10_000)));
    const { relayed } = await Promise.race([relay({}), hung]).finally(() => clearTimeout(timer));
    expect(relayed).toBeGreaterThan(0);
    expect((await ctx.db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    // The ticket's refresh was queued and serves the promoted model.
    expect((await engine.refreshTicket(listing.listingId, ticket.id)).predictions).toBe(1);
  });

  it('answers 404 for another listing’s ticket', async () => {
    const { ticket } = await setup();
    const other = await ctx.seedListing();
    expect((await ctx.request(other.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`)).status).toBe(404);
  });
});
