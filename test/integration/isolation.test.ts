import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, customerByPhone, newTicketBody, type TestContext } from '../support/context.ts';

/** A key of listing B presented with listing A's ids must learn nothing: 404, never 403. */
let ctx: TestContext;
let a: Awaited<ReturnType<TestContext['seedListing']>>;
let b: Awaited<ReturnType<TestContext['seedListing']>>;
let ids: { ticket: string; customer: string; csr: string; attachment: string; key: string };
let bCsr: { csrId: string; key: string };

beforeAll(async () => {
  ctx = await createTestContext();
  a = await ctx.seedListing();
  b = await ctx.seedListing();
  const aCsr = await ctx.seedCsr(a.listingId);
  bCsr = await ctx.seedCsr(b.listingId);
  const phone = '+4930123456789';
  const ticket = (await ctx.request(a.botKey, 'POST', '/v1/tickets', newTicketBody({ customer: customerByPhone(phone) }))).body;
  await ctx.request(aCsr.key, 'POST', '/v1/tickets/pull');
  const attachment = (await ctx.request(a.botKey, 'POST', `/v1/tickets/${ticket.id}/attachments?filename=a.txt`, Buffer.from('secret of A'), { 'content-type': 'text/plain' })).body;
  const key = (await ctx.services.keys.create({ listingId: a.listingId, role: 'csr' })).key.id;
  ids = { ticket: ticket.id, customer: ticket.customerId, csr: aCsr.csrId, attachment: attachment.id, key };
});
afterAll(() => ctx.close());

describe('tenant isolation', () => {
  const cases: Array<[string, string, () => string, unknown?]> = [
    ['GET', 'ticket', () => `/v1/tickets/${ids.ticket}`],
    ['GET', 'messages', () => `/v1/tickets/${ids.ticket}/messages`],
    ['POST', 'post message', () => `/v1/tickets/${ids.ticket}/messages`, { kind: 'text', text: 'hi', senderRole: 'customer' }],
    ['POST', 'end', () => `/v1/tickets/${ids.ticket}/end`, { outcome: 'resolved' }],
    ['POST', 'rate', () => `/v1/tickets/${ids.ticket}/rate`, { rating: 1 }],
    ['GET', 'in-thread', () => `/v1/tickets/in-thread?ticketId=${ids.ticket}`],
    ['GET', 'attachment', () => `/v1/attachments/${ids.attachment}`],
    ['GET', 'customer', () => `/v1/customers/${ids.customer}`],
    ['POST', 'link identity', () => `/v1/customers/${ids.customer}/identities`, { kind: 'email', value: 'x@example.com' }],
    ['GET', 'csr', () => `/v1/csrs/${ids.csr}`],
  ];
  it.each(cases)('%s %s of another listing answers 404', async (method, _name, url, body) => {
    const key = method === 'GET' ? b.managerKey : b.botKey;
    const response = await ctx.request(key, method as 'GET', url(), body);
    expect(response.status).toBe(404);
  });

  it('refuses cross-listing writes by CSRs and managers (assign, release, patch CSR, revoke key)', async () => {
    expect((await ctx.request(bCsr.key, 'POST', `/v1/tickets/${ids.ticket}/assign`, { csrId: bCsr.csrId })).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'POST', `/v1/tickets/${ids.ticket}/release`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'PATCH', `/v1/csrs/${ids.csr}`, { capacity: 1 })).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'POST', `/v1/keys/${ids.key}/revoke`)).status).toBe(404);
    // Nothing changed in A.
    const ticket = await ctx.request(a.managerKey, 'GET', `/v1/tickets/${ids.ticket}`);
    expect(ticket.body.status).toBe('assigned');
    expect(ticket.body.messageCount).toBe(0);
  });

  it('never lists another listing’s data', async () => {
    expect((await ctx.request(b.managerKey, 'GET', '/v1/tickets')).body.items).toEqual([]);
    expect((await ctx.request(b.managerKey, 'GET', '/v1/tickets/counters')).body.total).toBe(0);
    expect((await ctx.request(b.managerKey, 'GET', '/v1/customers?phone=%2B4930123456789')).body.items).toEqual([]);
    expect((await ctx.request(b.managerKey, 'GET', '/v1/csrs')).body.items.map((c: { id: string }) => c.id)).toEqual([bCsr.csrId]);
    expect((await ctx.request(b.managerKey, 'GET', '/v1/keys')).body.items.every((k: { listingId: string }) => k.listingId === b.listingId)).toBe(true);
    // B pulling gets nothing of A's queue.
    await ctx.request(a.botKey, 'POST', '/v1/tickets', newTicketBody());
    expect((await ctx.request(bCsr.key, 'POST', '/v1/tickets/pull')).status).toBe(404);
  });

  it('lets an admin key act on a listing it names, and only then', async () => {
    const noListing = await ctx.request(ctx.adminKey, 'GET', '/v1/tickets');
    expect(noListing.status).toBe(400);
    const named = await ctx.request(ctx.adminKey, 'GET', `/v1/tickets/${ids.ticket}`, undefined, { 'x-listing-id': a.listingId });
    expect(named.status).toBe(200);
    const wrong = await ctx.request(ctx.adminKey, 'GET', `/v1/tickets/${ids.ticket}`, undefined, { 'x-listing-id': b.listingId });
    expect(wrong.status).toBe(404);
    const missing = await ctx.request(ctx.adminKey, 'POST', '/v1/tickets', newTicketBody(), { 'x-listing-id': 'no-such-listing' });
    expect(missing.status).toBe(404);
    // A tenant key cannot widen its scope with the header.
    const spoof = await ctx.request(b.managerKey, 'GET', `/v1/tickets/${ids.ticket}`, undefined, { 'x-listing-id': a.listingId });
    expect(spoof.status).toBe(404);
  });
});
