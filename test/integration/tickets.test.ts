import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, customerByPhone, newTicketBody, type TestContext } from '../support/context.ts';

let ctx: TestContext;
let listing: Awaited<ReturnType<TestContext['seedListing']>>;

beforeAll(async () => {
  ctx = await createTestContext();
  listing = await ctx.seedListing();
});
afterAll(() => ctx.close());

const eventsOf = async (aggregateId: string) =>
  (await ctx.db.query<{ name: string; payload: Record<string, unknown> }>('SELECT name, payload FROM events WHERE aggregate_id = $1 ORDER BY id', [aggregateId])).rows;

describe('ticket lifecycle', () => {
  it('creates a ticket with a per-listing reference, and returns the open one with 200 for the same customer', async () => {
    const customer = customerByPhone('+14155550100');
    const first = await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody({ customer, subject: 'Where is my order?' }));
    expect(first.status).toBe(201);
    expect(first.body.ref).toMatch(new RegExp(`^${listing.listingId.replace(/[^a-z0-9]/g, '').toUpperCase().slice(0, 6)}-\\d{6}$`));
    expect(first.body.status).toBe('waiting');
    expect(first.body.source).toEqual({ app: 'web-widget', channel: 'website' });

    // The same person, reached by the same phone number written differently.
    const again = await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody({ customer: customerByPhone('+1 (415) 555-0100') }));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);

    const other = await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody());
    expect(other.status).toBe(201);
    const seq = (ref: string) => Number(ref.split('-')[1]);
    expect(seq(other.body.ref)).toBe(seq(first.body.ref) + 1);
    expect(await eventsOf(first.body.id)).toEqual([
      {
        name: 'ticket.created',
        payload: { ref: first.body.ref, customerId: first.body.customerId, source: { app: 'web-widget', channel: 'website' }, requiredSkills: [], priority: 0 },
      },
    ]);
    // A new customer: the customer and the identity it was reached by are recorded once each.
    expect(await eventsOf(first.body.customerId)).toEqual([
      { name: 'customer.created', payload: {} },
      { name: 'customer.identity_linked', payload: { kind: 'phone' } },
    ]);
  });

  it('pulls the oldest waiting ticket, puts a released ticket back at the front, and ends and rates it', async () => {
    const { listingId, botKey, managerKey } = await ctx.seedListing();
    const csr = await ctx.seedCsr(listingId, { capacity: 3 });
    const a = (await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody())).body;
    const b = (await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody())).body;

    const pulled = await ctx.request(csr.key, 'POST', '/v1/tickets/pull');
    expect(pulled.status).toBe(200);
    expect(pulled.body.id).toBe(a.id);
    expect(pulled.body.status).toBe('assigned');
    expect(pulled.body.csrId).toBe(csr.csrId);

    const released = await ctx.request(csr.key, 'POST', `/v1/tickets/${a.id}/release`);
    expect(released.status).toBe(200);
    expect(released.body.status).toBe('waiting');
    // a was released after b was created, yet it is pulled first.
    expect((await ctx.request(csr.key, 'POST', '/v1/tickets/pull')).body.id).toBe(a.id);
    expect((await ctx.request(csr.key, 'POST', '/v1/tickets/pull')).body.id).toBe(b.id);
    const empty = await ctx.request(csr.key, 'POST', '/v1/tickets/pull');
    expect(empty.status).toBe(404);
    expect(empty.body.code).toBe('queue_empty');

    const current = await ctx.request(csr.key, 'GET', '/v1/tickets/current');
    expect(current.body.items.map((t: { id: string }) => t.id).sort()).toEqual([a.id, b.id].sort());

    const rateOpen = await ctx.request(botKey, 'POST', `/v1/tickets/${a.id}/rate`, { rating: 5 });
    expect(rateOpen.status).toBe(409);
    expect(rateOpen.body.code).toBe('invalid_transition');

    const ended = await ctx.request(csr.key, 'POST', `/v1/tickets/${a.id}/end`, { outcome: 'resolved' });
    expect(ended.status).toBe(200);
    expect(ended.body.status).toBe('resolved');
    expect(ended.body.endedAt).not.toBeNull();
    const endTwice = await ctx.request(csr.key, 'POST', `/v1/tickets/${a.id}/end`, { outcome: 'resolved' });
    expect(endTwice.status).toBe(409);
    expect(endTwice.body.code).toBe('invalid_transition');

    const rated = await ctx.request(botKey, 'POST', `/v1/tickets/${a.id}/rate`, { rating: 4, comment: 'quick and kind' });
    expect(rated.status).toBe(200);
    expect(rated.body.rating).toBe(4);
    expect((await ctx.request(botKey, 'POST', `/v1/tickets/${a.id}/rate`, { rating: 1 })).body.code).toBe('already_rated');

    expect((await eventsOf(a.id)).map((event) => event.name)).toEqual([
      'ticket.created',
      'ticket.assigned',
      'ticket.released',
      'ticket.assigned',
      'ticket.ended',
      'ticket.rated',
    ]);

    const counters = await ctx.request(managerKey, 'GET', '/v1/tickets/counters');
    expect(counters.body).toEqual({ waiting: 0, assigned: 1, resolved: 1, abandoned: 0, open: 1, total: 2 });
    expect((await ctx.request(managerKey, 'GET', '/v1/tickets/count?status=assigned')).body).toEqual({ count: 1 });
  });

  it('refuses to release a ticket the CSR does not hold, and enforces capacity on pull', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const alice = await ctx.seedCsr(listingId, { capacity: 1 });
    const bob = await ctx.seedCsr(listingId, { capacity: 1 });
    await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody());
    await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody());
    const held = (await ctx.request(alice.key, 'POST', '/v1/tickets/pull')).body;
    const notHeld = await ctx.request(bob.key, 'POST', `/v1/tickets/${held.id}/release`);
    expect(notHeld.status).toBe(409);
    expect(notHeld.body.code).toBe('ticket_not_held');
    const full = await ctx.request(alice.key, 'POST', '/v1/tickets/pull');
    expect(full.status).toBe(409);
    expect(full.body.code).toBe('csr_at_capacity');
  });

  it('forwards a ticket to another CSR and routes a returning customer back to their CSR (sticky)', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const alice = await ctx.seedCsr(listingId);
    const bob = await ctx.seedCsr(listingId);
    const customer = customerByPhone();
    const ticket = (await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody({ customer }))).body;
    await ctx.request(alice.key, 'POST', '/v1/tickets/pull');
    const forwarded = await ctx.request(alice.key, 'POST', `/v1/tickets/${ticket.id}/assign`, { csrId: bob.csrId });
    expect(forwarded.status).toBe(200);
    expect(forwarded.body.csrId).toBe(bob.csrId);
    const same = await ctx.request(bob.key, 'POST', `/v1/tickets/${ticket.id}/assign`, { csrId: bob.csrId });
    expect(same.body.assignedAt).toBe(forwarded.body.assignedAt);
    await ctx.request(bob.key, 'POST', `/v1/tickets/${ticket.id}/end`, { outcome: 'resolved' });

    const returning = await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody({ customer }));
    expect(returning.status).toBe(201);
    expect(returning.body.status).toBe('assigned');
    expect(returning.body.csrId).toBe(bob.csrId);
    expect(returning.body.assignedAt).not.toBeNull();
    expect((await eventsOf(returning.body.id)).map(({ name, payload }) => [name, name === 'ticket.assigned' ? payload : payload.ref])).toEqual([
      ['ticket.created', returning.body.ref],
      ['ticket.assigned', { csrId: bob.csrId, previousCsrId: null, via: 'sticky' }],
    ]);
    // The returning customer's identity was already linked: no second event.
    expect((await eventsOf(ticket.customerId)).map((event) => event.name)).toEqual(['customer.created', 'customer.identity_linked']);

    const thread = await ctx.request(botKey, 'GET', `/v1/tickets/in-thread?ticketId=${returning.body.id}`);
    expect(thread.body.items.map((t: { id: string }) => t.id)).toEqual([returning.body.id, ticket.id]);
  });

  it('only gives a CSR tickets whose required skills they have', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const generalist = await ctx.seedCsr(listingId, { skills: ['billing'] });
    const specialist = await ctx.seedCsr(listingId, { skills: ['billing', 'spanish'] });
    const spanish = (await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody({ requiredSkills: ['spanish'] }))).body;
    expect((await ctx.request(generalist.key, 'POST', '/v1/tickets/pull')).status).toBe(404);
    expect((await ctx.request(specialist.key, 'POST', '/v1/tickets/pull')).body.id).toBe(spanish.id);
  });

  it('lists with filters and cursor paging, newest first', async () => {
    const { listingId, botKey, managerKey } = await ctx.seedListing();
    const created: string[] = [];
    for (let index = 0; index < 7; index++) {
      created.push((await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody({ source: { app: 'ios', channel: index % 2 ? 'sms' : 'app' } }))).body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await ctx.request(managerKey, 'GET', `/v1/tickets?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...created].reverse());
    const sms = await ctx.request(managerKey, 'GET', '/v1/tickets?channel=sms');
    expect(sms.body.items).toHaveLength(3);
    expect((await ctx.request(managerKey, 'GET', '/v1/tickets?cursor=nonsense')).status).toBe(400);
    void listingId;
  });
});
