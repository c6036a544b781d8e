import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsOwner, type AnalyticsDb, type AnalyticsOwner } from '../../src/analytics-store/index.ts';
import { buildApp } from '../../src/api/index.ts';
import { createOutboxIngest, createServerIngestService, getOutboxPosition, type OutboxIngestDeps } from '../../src/ingest/index.ts';
import { SGD } from '../support/analytics.ts';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';
import { withLoopProbe } from '../support/event-loop.ts';

let ctx: TestContext;
let owner: AnalyticsOwner;
let listing: Awaited<ReturnType<TestContext['seedListing']>>;
let csr: { csrId: string; key: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = createAnalyticsOwner(':memory:');
  listing = await ctx.seedListing();
  csr = await ctx.seedCsr(listing.listingId);
});
afterAll(async () => {
  await owner.close();
  await ctx.close();
});

const ingestJob = (hooks?: OutboxIngestDeps['hooks']) => createOutboxIngest({ db: ctx.db, analytics: owner, ...(hooks ? { hooks } : {}) });
const inDuck = <T>(work: (db: AnalyticsDb) => Promise<T>) => owner.use(work);
const maxEventId = async () => Number((await ctx.db.query<{ id: number }>('SELECT max(id) AS id FROM events')).rows[0]!.id);

async function counts(listingId: string) {
  return inDuck(async (db) => {
    const [row] = await db.all<{ interactions: number; messages: number; labels: number; events: number }>(
      `SELECT (SELECT count(*) FROM interactions WHERE listing_id = $1)::INTEGER AS interactions,
              (SELECT count(*) FROM messages WHERE listing_id = $1)::INTEGER AS messages,
              (SELECT count(*) FROM labels WHERE listing_id = $1)::INTEGER AS labels,
              (SELECT count(*) FROM interaction_events WHERE listing_id = $1)::INTEGER AS events`,
      [listingId],
    );
    return row!;
  });
}

/** A whole conversation through the API: created, customer writes, assigned, CSR replies, resolved, rated. */
async function conversation(keys: { botKey: string; managerKey: string }, csrKey: string, csrId: string) {
  const ticket = (await ctx.request(keys.botKey, 'POST', '/v1/tickets', newTicketBody({ source: { app: 'ios-app', channel: 'app' } }))).body;
  expect(ticket.id).toBeDefined();
  const posted = await ctx.request(keys.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, {
    kind: 'text',
    text: 'My order is late, write me at jane.doe@example.com or call +1 415 555 0134',
    senderRole: 'customer',
  });
  expect(posted.status).toBe(201);
  expect((await ctx.request(keys.managerKey, 'POST', `/v1/tickets/${ticket.id}/assign`, { csrId })).status).toBe(200);
  expect((await ctx.request(csrKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text: 'Sorry! Checking it now.' })).status).toBe(201);
  expect((await ctx.request(keys.managerKey, 'POST', `/v1/tickets/${ticket.id}/end`, { outcome: 'resolved' })).status).toBe(200);
  expect((await ctx.request(keys.botKey, 'POST', `/v1/tickets/${ticket.id}/rate`, { rating: 4 })).status).toBe(200);
  return (await ctx.request(keys.managerKey, 'GET', `/v1/tickets/${ticket.id}`)).body as {
    id: string;
    createdAt: string;
    firstAssignedAt: string;
    firstCsrReplyAt: string;
    endedAt: string;
  };
}

describe('live source: outbox → analytics store', () => {
  let ticket: Awaited<ReturnType<typeof conversation>>;

  it('reports the lag before the first run', async () => {
    ticket = await conversation(listing, csr.key, csr.csrId);
    const status = await ctx.request(listing.managerKey, 'GET', '/v1/analytics/ingest-status');
    expect(status.status).toBe(200);
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE listing_id = $1', [listing.listingId]);
    expect(status.body).toMatchObject({ scope: 'listing', lastAppliedEventId: 0, lagEvents: rows[0]!.n, positionUpdatedAt: null });
    expect(status.body.lagSeconds).toBeGreaterThanOrEqual(0);
    const all = await ctx.request(ctx.adminKey, 'GET', '/v1/analytics/ingest-status');
    expect(all.body).toMatchObject({ scope: 'all', lastAppliedEventId: 0, newestEventId: await maxEventId() });
    expect((await ctx.request(csr.key, 'GET', '/v1/analytics/ingest-status')).status).toBe(403);
  });

  it('folds the conversation into one canonical, redacted interaction record', async () => {
    const result = await ingestJob()({});
    expect(result.lastEventId).toBe(await maxEventId());
    expect(await inDuck(getOutboxPosition)).toBe(result.lastEventId);

    const [row] = await inDuck((db) =>
      db.all<Record<string, unknown>>(
        `SELECT source_channel, source_app, created_at, first_assigned_at, first_csr_reply_at, ended_at, status, resolved, abandoned,
                satisfaction::INTEGER AS satisfaction, message_count, csr_ids, source, redacted
           FROM interactions WHERE listing_id = $1 AND id = $2`,
        [listing.listingId, ticket.id],
      ),
    );
    expect(row).toMatchObject({
      source_channel: 'app',
      source_app: 'ios-app',
      status: 'resolved',
      resolved: true,
      abandoned: false,
      satisfaction: 4,
      message_count: 2,
      source: 'outbox',
      redacted: true,
    });
    const ms = (value: unknown) => new Date(value as string).getTime();
    expect(ms(row!.created_at)).toBeCloseTo(ms(ticket.createdAt), -2);
    expect(ms(row!.first_assigned_at)).toBeCloseTo(ms(ticket.firstAssignedAt), -2);
    expect(ms(row!.first_csr_reply_at)).toBeCloseTo(ms(ticket.firstCsrReplyAt), -2);
    expect(ms(row!.ended_at)).toBeCloseTo(ms(ticket.endedAt), -2);
    expect(row!.csr_ids).toEqual([csr.csrId]);

    const messages = await inDuck((db) =>
      db.all<{ seq: number; role: string; kind: string; channel: string; text: string; ts: Date; csr_id: string | null }>(
        'SELECT seq, role, kind, channel, text, ts, csr_id FROM messages WHERE listing_id = $1 AND interaction_id = $2 ORDER BY seq',
        [listing.listingId, ticket.id],
      ),
    );
    expect(messages.map((message) => [message.seq, message.role, message.kind, message.channel])).toEqual([
      [1, 'customer', 'text', 'chat'],
      [2, 'csr', 'text', 'chat'],
    ]);
    // Redaction exactly as file ingest: the address and the number never reach DuckDB.
    expect(messages[0]!.text).not.toContain('jane.doe@example.com');
    expect(messages[0]!.text).not.toContain('555 0134');
    expect(messages[0]!.text).toContain('My order is late');
    expect(messages[1]!.text).toBe('Sorry! Checking it now.');
    expect(messages[1]!.csr_id).toBe(csr.csrId);
    expect(messages.every((message) => message.ts instanceof Date)).toBe(true);

    const labels = await inDuck((db) =>
      db.all<{ name: string; value_num: number }>(
        `SELECT name, value_num FROM labels WHERE listing_id = $1 AND interaction_id = $2 AND kind = 'outcome' ORDER BY name`,
        [listing.listingId, ticket.id],
      ),
    );
    expect(labels).toEqual([
      { name: 'abandoned', value_num: 0 },
      { name: 'resolved', value_num: 1 },
      { name: 'satisfaction', value_num: 4 },
    ]);
    const types = await inDuck((db) => db.all<{ type: string }>('SELECT type FROM interaction_events WHERE listing_id = $1 ORDER BY position', [listing.listingId]));
    expect(types.map((event) => event.type)).toEqual(['assigned', 'rated']);
  });

  it('reports no lag once caught up', async () => {
    const status = await ctx.request(listing.managerKey, 'GET', '/v1/analytics/ingest-status');
    expect(status.body).toMatchObject({ lastAppliedEventId: await maxEventId(), lagEvents: 0, lagSeconds: 0 });
    expect(status.body.positionUpdatedAt).not.toBeNull();
  });

  it('applies nothing twice when run again', async () => {
    const before = await counts(listing.listingId);
    expect(before).toEqual({ interactions: 1, messages: 2, labels: 3, events: 2 });
    const again = await ingestJob()({});
    expect(again.applied).toBe(0);
    expect(await counts(listing.listingId)).toEqual(before);
  });

  it('a crash after reading, before the DuckDB commit, re-applies the batch exactly once', async () => {
    const position = await inDuck(getOutboxPosition);
    const followUp = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body;
    await ctx.request(listing.botKey, 'POST', `/v1/tickets/${followUp.id}/messages`, { kind: 'text', text: 'one more thing', senderRole: 'customer' });
    await ctx.request(listing.botKey, 'POST', `/v1/tickets/${followUp.id}/messages`, { kind: 'text', text: 'and another', senderRole: 'customer' });

    const crashing = ingestJob({
      beforeCommit: () => {
        throw new Error('simulated crash before commit');
      },
    });
    await expect(crashing({ batchSize: 2 })).rejects.toThrow('simulated crash');
    // Nothing of the batch, and not its position either.
    expect(await inDuck(getOutboxPosition)).toBe(position);
    expect(await counts(listing.listingId)).toEqual({ interactions: 1, messages: 2, labels: 3, events: 2 });
    const pending = (await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE id > $1', [position])).rows[0]!.n;
    expect(pending).toBeGreaterThanOrEqual(3);
    const lagging = await ctx.request(listing.managerKey, 'GET', '/v1/analytics/ingest-status');
    expect(lagging.body.lagEvents).toBe(pending);
    expect(lagging.body.lagSeconds).toBeGreaterThanOrEqual(0);

    // Small batches: the rerun commits 2 events at a time, each batch with its position.
    const rerun = await ingestJob()({ batchSize: 2 });
    expect(rerun.applied).toBe(pending);
    expect(await counts(listing.listingId)).toEqual({ interactions: 2, messages: 4, labels: 3, events: 2 });
    const texts = await inDuck((db) =>
      db.all<{ text: string }>('SELECT text FROM messages WHERE listing_id = $1 AND interaction_id = $2 ORDER BY seq', [listing.listingId, followUp.id]),
    );
    expect(texts.map((message) => message.text)).toEqual(['one more thing', 'and another']);
  });

  it('a crash after the DuckDB commit, before the Postgres copy of the position, applies nothing twice', async () => {
    const other = await ctx.seedListing();
    const otherCsr = await ctx.seedCsr(other.listingId);
    await conversation(other, otherCsr.key, otherCsr.csrId);
    const crashing = ingestJob({
      afterCommit: () => {
        throw new Error('simulated crash after commit');
      },
    });
    await expect(crashing({})).rejects.toThrow('simulated crash');
    const committed = await counts(other.listingId);
    expect(committed).toEqual({ interactions: 1, messages: 2, labels: 3, events: 2 });
    // The reported lag trails (the copy was not written); it never runs ahead.
    const trailing = await ctx.request(other.managerKey, 'GET', '/v1/analytics/ingest-status');
    expect(trailing.body.lagEvents).toBeGreaterThan(0);

    const rerun = await ingestJob()({});
    expect(rerun.applied).toBe(0);
    expect(await counts(other.listingId)).toEqual(committed);
    const caughtUp = await ctx.request(other.managerKey, 'GET', '/v1/analytics/ingest-status');
    expect(caughtUp.body).toMatchObject({ lagEvents: 0, lagSeconds: 0, lastAppliedEventId: await maxEventId() });
    // Tenant scope: the first listing's rows are untouched.
    expect((await counts(listing.listingId)).interactions).toBe(2);
  });
});

describe('file ingest handed to the owning process (POST /v1/admin/ingest)', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({
      config: ctx.config,
      services: ctx.services,
      db: ctx.db,
      serverIngest: createServerIngestService({ analytics: owner, rawTextListings: [] }),
    });
  });
  afterAll(() => app.close());

  it('runs the ingest in the server and answers with its summary; admin only', async () => {
    const file = path.join(ctx.dataDir, 'two.jsonl');
    await writeFile(
      file,
      [
        { id: 'f-1', messages: [{ role: 'customer', text: 'hi, I am bob@example.org' }, { role: 'csr', text: 'hello' }] },
        { id: 'f-2', messages: [{ role: 'customer', text: 'refund please' }] },
      ]
        .map((record) => JSON.stringify(record))
        .join('\n'),
    );
    const send = (key: string, body: unknown) =>
      app.inject({ method: 'POST', url: '/v1/admin/ingest', headers: { authorization: `Bearer ${key}` }, payload: body as object });
    const body = { listingId: listing.listingId, paths: [file] };

    expect((await send(listing.managerKey, body)).statusCode).toBe(403);
    expect((await send(ctx.adminKey, { ...body, paths: ['relative.jsonl'] })).statusCode).toBe(400);
    expect((await send(ctx.adminKey, { ...body, redact: false })).statusCode).toBe(403);

    const response = await send(ctx.adminKey, body);
    expect(response.statusCode).toBe(200);
    const summary = response.json();
    expect(summary).toMatchObject({ status: 'completed', listingId: listing.listingId, accepted: 2, messages: 3, redact: true });
    expect(summary.sources[0]).toMatchObject({ source: file, format: 'jsonl' });
    const stored = await inDuck((db) => db.all<{ text: string }>(`SELECT text FROM messages WHERE listing_id = $1 AND interaction_id = 'f-1' ORDER BY seq`, [listing.listingId]));
    expect(stored[0]!.text).not.toContain('bob@example.org');

    // The live source still works alongside, on the same open database.
    await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody());
    expect((await ingestJob()({})).applied).toBeGreaterThan(0);
  });

  it('shares the event loop with live requests while it ingests a dataset', async () => {
    const { listingId } = await ctx.seedListing();
    const { result: response, longestGapMs } = await withLoopProbe(() =>
      app.inject({ method: 'POST', url: '/v1/admin/ingest', headers: { authorization: `Bearer ${ctx.adminKey}` }, payload: { listingId, paths: [SGD], format: 'uss' } }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'completed', accepted: 800 });
    // Record by record without a pause, the 800 SGD dialogues held the loop for ~200 ms; ~30 ms now.
    expect(longestGapMs).toBeLessThan(100);
  });

  it('refuses with 503 where the process does not own the analytics store', async () => {
    const response = await ctx.request(ctx.adminKey, 'POST', '/v1/admin/ingest', { listingId: listing.listingId, paths: ['/tmp/x.jsonl'] });
    expect(response.status).toBe(503);
  });
});

describe('live source: a conversation that grows across runs', () => {
  it('appends new messages after the stored ones, in order, and keeps the counts right', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const job = ingestJob();
    const ticket = (await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody())).body;
    const say = async (text: string) =>
      expect((await ctx.request(botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text, senderRole: 'customer' })).status).toBe(201);
    await say('one');
    await say('two');
    await job({});
    await say('three');
    await job({});
    await say('four');
    await say('five');
    await job({});
    await job({});
    const rows = await inDuck((db) =>
      db.all<{ seq: number; text: string }>('SELECT seq, text FROM messages WHERE listing_id = $1 AND interaction_id = $2 ORDER BY seq', [listingId, ticket.id]),
    );
    expect(rows.map((row) => [row.seq, row.text])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
      [4, 'four'],
      [5, 'five'],
    ]);
    const [interaction] = await inDuck((db) =>
      db.all<{ message_count: number }>('SELECT message_count FROM interactions WHERE listing_id = $1 AND id = $2', [listingId, ticket.id]),
    );
    expect(interaction!.message_count).toBe(5);
    expect((await counts(listingId)).interactions).toBe(1);
  });
});

describe('live source: a large backlog in a process that serves requests', () => {
  /** The outbox as the core writes it, straight into the table: a created event and four messages per ticket, each with an e-mail address and a phone number to redact. */
  async function seedBacklog(listingId: string, tickets: number, messagesPerTicket: number) {
    await ctx.db.query(
      `INSERT INTO events (listing_id, name, aggregate_type, aggregate_id, payload)
       SELECT $1, CASE WHEN m = 0 THEN 'ticket.created' ELSE 'message.created' END, 'ticket', md5($1 || n)::uuid::text,
              CASE WHEN m = 0 THEN jsonb_build_object('customerId', 'customer-' || n, 'source', jsonb_build_object('channel', 'app'))
                   ELSE jsonb_build_object('messageId', gen_random_uuid(), 'seq', m, 'senderRole', CASE WHEN m % 2 = 1 THEN 'customer' ELSE 'csr' END,
                          'kind', 'text', 'channel', 'chat', 'createdAt', now(),
                          'text', 'Message ' || m || ': write me at person' || n || '@example.com or call +1 415 555 ' || lpad((n % 10000)::text, 4, '0'))
              END
         FROM generate_series(1, $2::int) AS n, generate_series(0, $3::int) AS m
        ORDER BY n, m`,
      [listingId, tickets, messagesPerTicket],
    );
  }

  /**
   * A request's view of the event loop while `work` runs: the longest wait between two turns, and
   * the share of the time the loop was held (turns more than 1 ms apart count as held).
   */
  async function watchLoop(work: () => Promise<unknown>): Promise<{ longestGapMs: number; heldShare: number }> {
    let longestGapMs = 0;
    let heldMs = 0;
    let running = true;
    const started = performance.now();
    let last = started;
    const ticker = (async () => {
      while (running) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const now = performance.now();
        longestGapMs = Math.max(longestGapMs, now - last);
        if (now - last > 1) heldMs += now - last;
        last = now;
      }
    })();
    await work();
    running = false;
    await ticker;
    return { longestGapMs, heldShare: heldMs / (performance.now() - started) };
  }

  let greedyHeldShare = 0;

  it('folds thousands of conversations without holding the event loop for long', async () => {
    const { listingId } = await ctx.seedListing();
    const tickets = 3000;
    const messagesPerTicket = 4;
    await seedBacklog(listingId, tickets, messagesPerTicket);
    const { longestGapMs, heldShare } = await watchLoop(() => ingestJob()({}));
    greedyHeldShare = heldShare;

    expect(await counts(listingId)).toMatchObject({ interactions: tickets, messages: tickets * messagesPerTicket });
    const [leak] = await inDuck((db) => db.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM messages WHERE listing_id = $1 AND text LIKE '%@example.com%'`, [listingId]));
    expect(leak!.n).toBe(0);
    // The job yields after every few milliseconds of work; what remains are single native calls (a
    // DuckDB flush, a page of events) and the machine's own scheduling: 14–26 ms measured on an
    // idle machine. Before, a 5,000-event read alone held the loop for 35–155 ms (PGlite: all of a
    // batch's reads, 104–163 ms). The bound leaves room for a CI machine running other test files.
    expect(longestGapMs).toBeLessThan(75);
  });

  it('in the api process (sharesEventLoop), leaves most of the event loop to requests', async () => {
    const { listingId } = await ctx.seedListing();
    await seedBacklog(listingId, 3000, 4);
    const shared = createOutboxIngest({ db: ctx.db, analytics: owner, sharesEventLoop: true });
    const { longestGapMs, heldShare } = await watchLoop(() => shared({}));
    expect(await counts(listingId)).toMatchObject({ interactions: 3000, messages: 12_000 });
    // 2 ms of work, then at least 6 ms for everything else. Measured: the loop held 27 % of the
    // time against 61 % when the fold runs flat out (the test before); on PGlite, whose queries run
    // on this thread and are not sliced, 45 % against 71 %.
    expect(heldShare).toBeLessThan(0.65);
    expect(heldShare).toBeLessThan(greedyHeldShare * 0.8);
    expect(longestGapMs).toBeLessThan(75);
  });
});
