import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAutomationEngine } from '../../src/automation/index.ts';
import { readEvents } from '../../src/events/index.ts';
import { createHandoffService } from '../../src/handoff/index.ts';
import { createOutboxRelay } from '../../src/jobs/index.ts';
import { createTestContext, customerByPhone, newTicketBody, type TestContext } from '../support/context.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const transcript = [
  { role: 'customer', text: 'I want a refund for order 1234', ts: '2025-01-07T09:00:00Z' },
  { role: 'bot', text: 'I can help with orders. What would you like to do?', ts: '2025-01-07T09:00:05Z' },
  { role: 'customer', text: 'A refund. Refund for order 1234!', ts: '2025-01-07T09:00:30Z' },
  { role: 'bot', text: "Sorry, I didn't understand that.", ts: '2025-01-07T09:00:31Z' },
  { role: 'customer', text: 'I want to talk to a human', ts: '2025-01-07T09:01:00Z' },
];

const handoffBody = (overrides: Record<string, unknown> = {}) => ({ customer: customerByPhone(), messages: transcript, ...overrides });

const threadOf = async (listingId: string, ticketId: string) =>
  (
    await ctx.db.query<{ sender_role: string; text: string; kind: string }>(
      'SELECT sender_role, text, kind FROM messages WHERE listing_id = $1 AND ticket_id = $2 ORDER BY seq',
      [listingId, ticketId],
    )
  ).rows;

const count = async (table: string, listingId: string) =>
  (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE listing_id = $1`, [listingId])).rows[0]!.n;

describe('POST /v1/handoff/assess', () => {
  it('answers the decision, the confidence and the reasons, and writes nothing', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const before = (await readEvents(ctx.db, { listingId, limit: 1000 })).length;
    const response = await ctx.request(botKey, 'POST', '/v1/handoff/assess', { messages: transcript });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ handoff: true, threshold: 0.5, intent: 'refund', priorityLabel: 'high', priority: 10, customerTurns: 3 });
    expect(response.body.confidence).toBeGreaterThan(0.9);
    expect(response.body.signals.map((signal: { name: string }) => signal.name)).toEqual(
      expect.arrayContaining(['explicit_request', 'bot_fallback', 'rephrasing', 'high_value_intent']),
    );
    expect(response.body.reasons[0]).toContain('asked for a person');

    const quiet = await ctx.request(botKey, 'POST', '/v1/handoff/assess', { messages: [{ role: 'customer', text: 'What are your opening hours?' }] });
    expect(quiet.body).toMatchObject({ handoff: false, reasons: [], signals: [] });
    expect((await readEvents(ctx.db, { listingId, limit: 1000 })).length).toBe(before);
  });

  it('refuses keys other than bot and developer, and bad input with a problem', async () => {
    const { listingId, managerKey, developerKey, botKey } = await ctx.seedListing();
    const csr = await ctx.seedCsr(listingId);
    expect((await ctx.request(csr.key, 'POST', '/v1/handoff/assess', { messages: transcript })).status).toBe(403);
    expect((await ctx.request(managerKey, 'POST', '/v1/handoff/assess', { messages: transcript })).status).toBe(403);
    expect((await ctx.request(developerKey, 'POST', '/v1/handoff/assess', { messages: transcript })).status).toBe(200);
    for (const body of [{ messages: [] }, { messages: [{ role: 'csr', text: 'hi' }] }, { messages: [{ role: 'customer', text: '' }] }, { messages: transcript, extra: 1 }]) {
      const response = await ctx.request(botKey, 'POST', '/v1/handoff/assess', body);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('uses the listing settings: threshold, keywords and weights, per listing', async () => {
    const a = await ctx.seedListing();
    const b = await ctx.seedListing();
    const defaults = await ctx.request(a.managerKey, 'GET', '/v1/handoff/settings');
    expect(defaults.body).toMatchObject({ threshold: 0.5, highValueIntents: ['cancel', 'refund', 'complaint', 'billing'], highValueKeywords: [], bias: -3, updatedAt: null });
    expect(defaults.body.weights.explicit_request).toBe(5);

    const messages = [{ role: 'customer', text: 'Tell me about a business account' }];
    expect((await ctx.request(a.botKey, 'POST', '/v1/handoff/assess', { messages })).body.handoff).toBe(false);
    const put = await ctx.request(a.managerKey, 'PUT', '/v1/handoff/settings', { threshold: 0.15, highValueKeywords: ['Business Account'], weights: { high_value_intent: 2 } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ threshold: 0.15, highValueKeywords: ['business account'], highValueIntents: ['cancel', 'refund', 'complaint', 'billing'] });
    expect(put.body.weights.high_value_intent).toBe(2);
    const assessed = await ctx.request(a.botKey, 'POST', '/v1/handoff/assess', { messages });
    expect(assessed.body).toMatchObject({ handoff: true, intent: 'business account', threshold: 0.15 });
    expect(assessed.body.logit).toBeCloseTo(-1, 4);

    // Another listing keeps its defaults; a bot may read but not write settings.
    expect((await ctx.request(b.botKey, 'POST', '/v1/handoff/assess', { messages })).body).toMatchObject({ handoff: false, threshold: 0.5 });
    expect((await ctx.request(a.botKey, 'PUT', '/v1/handoff/settings', { threshold: 0.2 })).status).toBe(403);
    const bad = await ctx.request(a.managerKey, 'PUT', '/v1/handoff/settings', { threshold: 1.5, highValueIntents: ['nonsense'] });
    expect(bad.status).toBe(400);
    expect((await ctx.request(a.managerKey, 'GET', '/v1/handoff/settings')).body.threshold).toBe(0.15);
    expect((await readEvents(ctx.db, { listingId: a.listingId, limit: 1000 })).filter((event) => event.name === 'handoff.settings_updated')).toHaveLength(1);
  });
});

describe('injected components', () => {
  it('takes rule hits and model risk from the composition root, and leaves a failing one out', async () => {
    const { listingId } = await ctx.seedListing();
    const warnings: unknown[] = [];
    const seen: unknown[] = [];
    const service = createHandoffService({
      db: ctx.db,
      tickets: ctx.services.tickets,
      messages: ctx.services.messages,
      ruleHits: (query) => {
        seen.push(query);
        return [{ ruleId: 'r1', name: 'mortgage questions', actions: [{ type: 'handoff', priority: 'urgent', skills: ['mortgages'] }] }];
      },
      risk: () => {
        throw new Error('model unavailable');
      },
      logger: { warn: (...args: unknown[]) => warnings.push(args) },
    });
    const messages = [{ role: 'customer' as const, text: 'A question about my mortgage' }];
    const result = await service.assess(listingId, { messages });
    expect(result).toMatchObject({ handoff: true, priorityLabel: 'urgent', skills: ['mortgages'] });
    expect(result.signals.map((signal) => signal.name)).toEqual(['rule_match']);
    expect(seen).toEqual([{ listingId, messages }]);
    expect(warnings).toHaveLength(1);
  });
});

describe('POST /v1/handoff', () => {
  it('creates a bot ticket with the transcript in its roles, a summary note, priority, queue position and events', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    // Two tickets already wait at normal priority; the hand-off is high priority (refund intent).
    await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody());
    await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody());
    const response = await ctx.request(botKey, 'POST', '/v1/handoff', handoffBody({ externalId: 'conv-1' }));
    expect(response.status).toBe(201);
    const body = response.body;
    expect(body).toMatchObject({ replayed: false, ticketCreated: true, intent: 'refund', priority: 10, importedMessages: 5 });
    expect(body.ticket).toMatchObject({ source: { app: 'bot', channel: 'bot' }, status: 'waiting', priority: 10, subject: 'I want a refund for order 1234', messageCount: 6 });
    expect(body.ticket.metadata.handoff).toMatchObject({ intent: 'refund', externalId: 'conv-1' });
    expect(body.queue).toMatchObject({ position: 1, waiting: 3, expectedWaitSeconds: null, csrsOnline: 0, businessOpen: true, nextOpening: null });
    expect(body.thread).toEqual({ ticketId: body.ticket.id, messagesPath: `/v1/tickets/${body.ticket.id}/messages` });
    expect(body.summary).toContain('Customer opened with: "I want a refund for order 1234"');
    expect(body.reasons[0]).toContain('asked for a person');

    const thread = await threadOf(listingId, body.ticket.id);
    expect(thread.map((message) => message.sender_role)).toEqual(['customer', 'bot', 'customer', 'bot', 'customer', 'system']);
    expect(thread[1]!.text).toBe('I can help with orders. What would you like to do?');
    expect(thread[5]!.text).toMatch(/^Hand-off from the bot\. Customer opened with/);
    const stored = await ctx.db.query<{ transcript: Array<{ role: string; ts: string }> }>('SELECT transcript FROM handoffs WHERE listing_id = $1', [listingId]);
    expect(stored.rows[0]!.transcript.map((entry) => entry.ts)).toEqual(transcript.map((message) => message.ts));

    const events = await readEvents(ctx.db, { listingId, limit: 1000 });
    const mine = events.filter((event) => event.aggregateId === body.ticket.id).map((event) => event.name);
    expect(mine[0]).toBe('ticket.created');
    expect(mine.filter((name) => name === 'message.created')).toHaveLength(6);
    expect(mine.at(-1)).toBe('handoff.requested');
    expect(events.find((event) => event.name === 'handoff.requested')!.payload).toMatchObject({ handoffId: body.handoffId, intent: 'refund', priority: 10, messages: 5 });

    // The chat continues in the thread: the bot key posts the customer's next message there.
    const next = await ctx.request(botKey, 'POST', body.thread.messagesPath, { kind: 'text', text: 'Are you there?', senderRole: 'customer' });
    expect(next.status).toBe(201);
    expect(next.body.seq).toBe(7);

    // A normal-priority hand-off queues behind all three.
    const normal = await ctx.request(botKey, 'POST', '/v1/handoff', handoffBody({ messages: [{ role: 'customer', text: 'Hello' }, { role: 'customer', text: 'agent' }] }));
    expect(normal.status).toBe(201);
    expect(normal.body).toMatchObject({ priority: 0, queue: { position: 4, waiting: 4 } });
  });

  it('answers a retry with the same Idempotency-Key or externalId with the first hand-off, writing nothing twice', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const body = handoffBody();
    const first = await ctx.request(botKey, 'POST', '/v1/handoff', body, { 'idempotency-key': 'retry-1' });
    const second = await ctx.request(botKey, 'POST', '/v1/handoff', body, { 'idempotency-key': 'retry-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ handoffId: first.body.handoffId, replayed: true, ticket: { id: first.body.ticket.id } });
    expect(await threadOf(listingId, first.body.ticket.id)).toHaveLength(6);

    // Without a key, the same customer and transcript are recognised by their hash.
    const other = handoffBody();
    const a = await ctx.request(botKey, 'POST', '/v1/handoff', other);
    const b = await ctx.request(botKey, 'POST', '/v1/handoff', other);
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(b.body.handoffId).toBe(a.body.handoffId);
    expect(await count('handoffs', listingId)).toBe(2);
  });

  it('converges when the same hand-off is posted twice at once', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const body = handoffBody({ externalId: 'race' });
    const [a, b] = await Promise.all([ctx.request(botKey, 'POST', '/v1/handoff', body), ctx.request(botKey, 'POST', '/v1/handoff', body)]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.ticket.id).toBe(b.body.ticket.id);
    expect(await count('handoffs', listingId)).toBe(1);
    expect(await count('tickets', listingId)).toBe(1);
    expect((await threadOf(listingId, a.body.ticket.id)).map((message) => message.sender_role)).toEqual(['customer', 'bot', 'customer', 'bot', 'customer', 'system']);
  });

  it("appends to the customer's open ticket instead of opening a second one", async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const customer = customerByPhone();
    const open = await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody({ customer }));
    const response = await ctx.request(botKey, 'POST', '/v1/handoff', handoffBody({ customer }));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ ticketCreated: false, ticket: { id: open.body.id, source: { channel: 'website' } } });
    expect(await threadOf(listingId, open.body.id)).toHaveLength(6);
  });

  it('reports 0 for a sticky assignment and the median recent wait otherwise', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const csr = await ctx.seedCsr(listingId, { capacity: 50 });
    // Four earlier tickets, assigned after 60, 120, 180 and 600 s: the median is 150 s.
    for (const seconds of [60, 120, 180, 600]) {
      const ticket = await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody());
      await ctx.request(csr.key, 'POST', '/v1/tickets/pull');
      await ctx.db.query(`UPDATE tickets SET created_at = first_assigned_at - make_interval(secs => $3) WHERE listing_id = $1 AND id = $2`, [listingId, ticket.body.id, seconds]);
    }
    const waiting = await ctx.request(botKey, 'POST', '/v1/handoff', handoffBody());
    expect(waiting.body.queue).toMatchObject({ position: 1, expectedWaitSeconds: 150, csrsOnline: 1 });

    // A returning customer goes back to their CSR: nothing to wait for.
    const customer = customerByPhone();
    const earlier = await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody({ customer }));
    await ctx.request(csr.key, 'POST', `/v1/tickets/${earlier.body.id}/assign`, { csrId: csr.csrId });
    await ctx.request(csr.key, 'POST', `/v1/tickets/${earlier.body.id}/end`, { outcome: 'resolved' });
    const sticky = await ctx.request(botKey, 'POST', '/v1/handoff', handoffBody({ customer }));
    expect(sticky.body.ticket).toMatchObject({ status: 'assigned', csrId: csr.csrId });
    expect(sticky.body.queue).toMatchObject({ position: 0, expectedWaitSeconds: 0 });
  });

  it('sends the after-hours message like for any new ticket when the schedule has the listing closed', async () => {
    const { listingId, managerKey, botKey } = await ctx.seedListing();
    // No open hours on any day: closed now, whenever the test runs.
    expect((await ctx.request(managerKey, 'PUT', '/v1/listing/schedule', { timezone: 'Europe/Berlin', weekly: {} })).status).toBe(200);
    await ctx.request(managerKey, 'PUT', '/v1/listing/automated-messages', {
      welcome: null,
      inactivity: [],
      offline: { text: 'Nobody is online.' },
      afterHours: { text: 'We are closed now and will reply when we open.' },
    });
    const response = await ctx.request(botKey, 'POST', '/v1/handoff', handoffBody());
    expect(response.status).toBe(201);
    expect(response.body.queue).toMatchObject({ businessOpen: false, nextOpening: null });

    // The automation engine hears ticket.created through the outbox relay, as in production;
    // its checks run after the relay's transaction, as queued jobs do.
    const checks: Array<{ listingId: string; ticketId: string }> = [];
    const engine = createAutomationEngine({
      db: ctx.db,
      jobs: {
        enqueue: async (name, payload, options = {}) => {
          if (name === 'automated.check-ticket' && !options.delayMs) checks.push(payload as { listingId: string; ticketId: string });
        },
      },
    });
    await createOutboxRelay({ db: ctx.db, publisher: engine })({});
    expect(checks).toContainEqual({ listingId, ticketId: response.body.ticket.id });
    for (const check of checks) await engine.checkTicket(check.listingId, check.ticketId);
    const thread = await threadOf(listingId, response.body.ticket.id);
    expect(thread.at(-1)).toMatchObject({ sender_role: 'system', text: 'We are closed now and will reply when we open.' });
    expect(thread).toHaveLength(7);
  });

  it('refuses bad input and other roles with a problem, writing nothing', async () => {
    const { listingId, botKey, managerKey } = await ctx.seedListing();
    const other = await ctx.seedListing();
    const foreignCustomer = (await ctx.request(other.botKey, 'POST', '/v1/tickets', newTicketBody())).body.customerId as string;
    const bad: Array<[Record<string, unknown>, number]> = [
      [handoffBody({ messages: [] }), 400],
      [handoffBody({ messages: [{ role: 'csr', text: 'I am a CSR' }] }), 400],
      [handoffBody({ customerId: foreignCustomer }), 400],
      [{ messages: transcript }, 400],
      [handoffBody({ requiredSkills: ['Not A Skill!'] }), 400],
      [{ customerId: foreignCustomer, messages: transcript }, 404],
    ];
    for (const [body, status] of bad) {
      const response = await ctx.request(botKey, 'POST', '/v1/handoff', body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    expect((await ctx.request(botKey, 'POST', '/v1/handoff', handoffBody(), { 'idempotency-key': 'bad key with spaces' })).status).toBe(400);
    expect((await ctx.request(managerKey, 'POST', '/v1/handoff', handoffBody())).status).toBe(403);
    expect(await count('tickets', listingId)).toBe(0);
    expect(await count('handoffs', listingId)).toBe(0);
    expect(await count('messages', listingId)).toBe(0);
    expect((await ctx.db.query('SELECT 1 FROM customers WHERE listing_id = $1', [listingId])).rowCount).toBe(0);
  });
});
