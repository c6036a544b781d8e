import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsOwner, type AnalyticsOwner } from '../../src/analytics-store/index.ts';
import { buildApp } from '../../src/api/index.ts';
import { createPredictionEngine, createTrainingService, type TrainingService } from '../../src/predictions/index.ts';
import { loadLiveOutcomeModel, outcomeTrainer } from '../../src/runtime.ts';
import { createAnalyticsFixture, MWOZ, ussSlice, type AnalyticsFixture } from '../support/analytics.ts';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

/**
 * The outcome models through the API, end to end on real data: train as a job (on a slice of
 * MultiWOZ in a DuckDB store owned by this process), see the run's progress and result, find
 * the version in the registry, and get live predictions with drivers for a ticket from it.
 */
let ctx: TestContext;
let fixture: AnalyticsFixture;
let owner: AnalyticsOwner;
let app: FastifyInstance;
let training: TrainingService;
let listing: Awaited<ReturnType<TestContext['seedListing']>>;
const queued: Array<{ name: string; payload: { listingId: string; runId: string } }> = [];

beforeAll(async () => {
  ctx = await createTestContext();
  listing = await ctx.seedListing();
  fixture = await createAnalyticsFixture();
  await fixture.ingest({ paths: [await ussSlice(MWOZ, fixture.dir, 150)], listingId: listing.listingId });
  fixture.db.close();
  owner = createAnalyticsOwner(fixture.file);
  training = createTrainingService({
    db: ctx.db,
    registry: ctx.services.models,
    jobs: { enqueue: async (name, payload) => void queued.push({ name, payload: payload as { listingId: string; runId: string } }) },
    analytics: owner,
    train: outcomeTrainer(ctx.services),
    progressEveryMs: 0,
  });
  app = await buildApp({ config: ctx.config, services: ctx.services, db: ctx.db, training });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await owner?.close();
  await fixture?.reopen();
  await fixture?.close();
  await ctx?.close();
});

const call = async (key: string, method: 'GET' | 'POST', url: string, payload?: object) => {
  const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
  return { status: response.statusCode, body: response.json() };
};

describe('training through the API', () => {
  it('queues a run, trains it as the job, saves and promotes the version, and serves live predictions from it', async () => {
    const requested = await call(listing.managerKey, 'POST', '/v1/models/satisfaction/train', { at: 'after-turn', promote: true, seed: 7 });
    expect(requested.status).toBe(202);
    expect(requested.body).toMatchObject({ target: 'satisfaction', status: 'queued', options: { at: 'after-turn', model: 'logistic', promote: true, seed: 7 } });
    expect(queued.at(-1)).toEqual({ name: 'models.train', payload: { listingId: listing.listingId, runId: requested.body.id } });

    const finished = await training.run(listing.listingId, requested.body.id);
    expect(finished.status).toBe('succeeded');
    const run = await call(listing.managerKey, 'GET', `/v1/models/training-runs/${requested.body.id}`);
    expect(run.body).toMatchObject({ status: 'succeeded', result: { version: 1, promoted: true }, error: null });
    expect(run.body.finishedAt).not.toBeNull();
    // Running the job again (a redelivery) does not train a second version.
    await training.run(listing.listingId, requested.body.id);

    const versions = await call(listing.developerKey, 'GET', '/v1/models?target=satisfaction');
    expect(versions.body.items).toHaveLength(1);
    expect(versions.body.items[0]).toMatchObject({ target: 'satisfaction', version: 1, promoted: true, kind: 'logistic' });
    expect(versions.body.items[0].metadata.classes).toEqual([1, 2, 3, 4, 5]);

    const ticket = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body as { id: string };
    for (const [senderRole, text] of [
      ['customer', 'I need a cheap hotel in the north of town'],
      ['csr', 'I am sorry, there is nothing available.'],
      ['customer', 'That is not what I asked for. This is useless, I said north!'],
    ] as const) {
      expect((await ctx.request(listing.managerKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text, senderRole })).status).toBe(201);
    }
    const engine = createPredictionEngine({ db: ctx.db, registry: ctx.services.models, load: loadLiveOutcomeModel, jobs: { enqueue: async () => {} } });
    expect(await engine.refreshTicket(listing.listingId, ticket.id)).toEqual({ predictions: 1, atSeq: 3 });
    const predictions = await ctx.request(listing.managerKey, 'GET', `/v1/tickets/${ticket.id}/predictions`);
    const [prediction] = predictions.body.items;
    expect(prediction).toMatchObject({ target: 'satisfaction', modelVersion: 1, atSeq: 3, classes: ['1', '2', '3', '4', '5'] });
    expect(prediction.probs).toHaveLength(5);
    expect(prediction.probs.reduce((sum: number, p: number) => sum + p, 0)).toBeCloseTo(1, 5);
    expect(prediction.risk).toBeCloseTo(prediction.probs[0] + prediction.probs[1], 5);
    expect(prediction.drivers.length).toBeGreaterThan(0);
    expect(typeof prediction.drivers[0].text).toBe('string');
  }, 120_000);

  it('fails a run whose target has no labels, with the reason, and saves nothing', async () => {
    const requested = await call(listing.managerKey, 'POST', '/v1/models/converted/train', {});
    expect(requested.status).toBe(202);
    const finished = await training.run(listing.listingId, requested.body.id);
    expect(finished.status).toBe('failed');
    expect(finished.error).toMatch(/converted/);
    expect((await call(listing.managerKey, 'GET', '/v1/models?target=converted')).body.items).toEqual([]);
  }, 60_000);

  it('refuses bad input and the wrong roles without queuing anything', async () => {
    const before = queued.length;
    expect((await call(listing.managerKey, 'POST', '/v1/models/satisfaction/train', { model: 'forest' })).status).toBe(400);
    expect((await call(listing.managerKey, 'POST', '/v1/models/Bad!/train', {})).status).toBe(400);
    expect((await call(listing.developerKey, 'POST', '/v1/models/satisfaction/train', {})).status).toBe(403);
    expect((await call(listing.botKey, 'GET', '/v1/models')).status).toBe(403);
    expect(queued.length).toBe(before);
    const other = await ctx.seedListing();
    const runs = await call(listing.managerKey, 'GET', '/v1/models/training-runs');
    expect((await call(other.managerKey, 'GET', `/v1/models/training-runs/${runs.body.items[0].id}`)).status).toBe(404);
  });
});
