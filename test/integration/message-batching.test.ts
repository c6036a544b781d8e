import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/index.ts';
import { INSERT_MANY_SQL } from '../../src/messages/messages.store.ts';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

// Concurrent posts are written in shared statements (group commit). Posts issued in the same tick
// are guaranteed to share one, so these tests call the service directly to exercise that path.

let ctx: TestContext;
let listingId: string;
let botKey: string;
let bot: Principal;
let csr: { csrId: string; principal: Principal };
let otherCsr: Principal;

const principalOf = async (key: string) => (await ctx.services.keys.authenticate(key))!;

async function openTicket(assignTo?: string) {
  const ticket = (await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody())).body;
  if (assignTo) await ctx.services.tickets.assign(listingId, ticket.id, { csrId: assignTo, force: false }, bot);
  return ticket as { id: string };
}

beforeAll(async () => {
  ctx = await createTestContext();
  const listing = await ctx.seedListing();
  listingId = listing.listingId;
  botKey = listing.botKey;
  bot = await principalOf(listing.botKey);
  const seeded = await ctx.seedCsr(listingId, { capacity: 50 });
  csr = { csrId: seeded.csrId, principal: await principalOf(seeded.key) };
  otherCsr = await principalOf((await ctx.seedCsr(listingId, { capacity: 50 })).key);
});
afterAll(() => ctx.close());

const text = (value: string, extra: Record<string, unknown> = {}) => ({ kind: 'text' as const, text: value, ...extra });

describe('group commit of message posts', () => {
  it('numbers a batch per ticket without gaps, in arrival order, with one outbox event each', async () => {
    const tickets = await Promise.all([openTicket(csr.csrId), openTicket(csr.csrId), openTicket()]);
    const posts = Array.from({ length: 30 }, (_, index) => {
      const ticket = tickets[index % tickets.length]!;
      const fromCsr = index % 2 === 1 && ticket !== tickets[2];
      return ctx.services.messages.post(
        listingId,
        ticket.id,
        text(`message ${index} with "quotes", {braces}, a \\ backslash and ünïcode`, fromCsr ? {} : { senderRole: 'customer' }),
        fromCsr ? csr.principal : bot,
      );
    });
    const results = await Promise.all(posts);
    expect(results.every((result) => result.created)).toBe(true);
    // One statement, one now(): the batch path was taken.
    expect(new Set(results.map((result) => result.message.createdAt.getTime())).size).toBe(1);

    for (const ticket of tickets) {
      const mine = results.map((result) => result.message).filter((message) => message.ticketId === ticket.id);
      // Arrival order within the batch is thread order.
      expect(mine.map((message) => message.seq)).toEqual(mine.map((_, index) => index + 1));
      const { rows } = await ctx.db.query<{ message_count: number; first_csr_reply_at: Date | null }>(
        'SELECT message_count, first_csr_reply_at FROM tickets WHERE id = $1',
        [ticket.id],
      );
      expect(rows[0]!.message_count).toBe(mine.length);
      expect(rows[0]!.first_csr_reply_at !== null).toBe(ticket !== tickets[2]);
      const events = await ctx.db.query<{ payload: { seq: number; text: string } }>(
        `SELECT payload FROM events WHERE name = 'message.created' AND aggregate_id = $1 ORDER BY id`,
        [ticket.id],
      );
      expect(events.rows.map((row) => row.payload.seq)).toEqual(mine.map((message) => message.seq));
      expect(events.rows.map((row) => row.payload.text)).toEqual(mine.map((message) => message.text));
    }
    expect(results[0]!.message.text).toBe('message 0 with "quotes", {braces}, a \\ backslash and ünïcode');
  });

  it('rejects only the posts whose ticket ended or is held by someone else', async () => {
    const held = await openTicket(csr.csrId);
    const ended = await openTicket();
    await ctx.services.tickets.end(listingId, ended.id, { outcome: 'resolved' }, bot);
    const outcomes = await Promise.allSettled([
      ctx.services.messages.post(listingId, held.id, text('from the holder'), csr.principal),
      ctx.services.messages.post(listingId, held.id, text('from another CSR'), otherCsr),
      ctx.services.messages.post(listingId, ended.id, text('too late', { senderRole: 'customer' }), bot),
      ctx.services.messages.post(listingId, held.id, text('from the customer', { senderRole: 'customer' }), bot),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ticket_not_held' });
    expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'ticket_closed' });
    const seqs = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.message.seq] : []));
    expect(seqs).toEqual([1, 2]);
  });

  it('falls back to one post at a time when a batch fails, so a duplicate clientMessageId answers the first message', async () => {
    const ticket = await openTicket();
    const body = text('sent twice', { senderRole: 'customer', clientMessageId: 'retry-1' });
    // Neither sees the other in the pre-check, so both reach the batch; the unique index decides.
    const [first, second, other] = await Promise.all([
      ctx.services.messages.post(listingId, ticket.id, body, bot),
      ctx.services.messages.post(listingId, ticket.id, body, bot),
      ctx.services.messages.post(listingId, ticket.id, text('unrelated', { senderRole: 'customer' }), bot),
    ]);
    expect(first.message.id).toBe(second.message.id);
    expect([first.created, second.created].sort()).toEqual([false, true]);
    expect(other.created).toBe(true);
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE ticket_id = $1', [ticket.id]);
    expect(rows[0]!.n).toBe(2);
  });

  it('keeps every post under HTTP concurrency', async () => {
    const tickets = await Promise.all(Array.from({ length: 8 }, () => openTicket()));
    const responses = await Promise.all(
      Array.from({ length: 80 }, (_, index) =>
        ctx.request(botKey, 'POST', `/v1/tickets/${tickets[index % 8]!.id}/messages`, text(`hello ${index}`, { senderRole: 'customer' })),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(responses.map(() => 201));
    for (const ticket of tickets) {
      const thread = await ctx.request(botKey, 'GET', `/v1/tickets/${ticket.id}/messages`);
      expect(thread.body.items.map((message: { seq: number }) => message.seq)).toEqual(Array.from({ length: 10 }, (_, index) => index + 1));
    }
  });

  it('finds the tickets of a batch by key, however many tickets the listing has', async () => {
    // Served statements are prepared, so PostgreSQL soon uses a generic plan, which cannot see how
    // many messages the batch holds. A scan of every ticket per batch made each post O(tickets).
    await ctx.db.exec(`
      WITH bulk AS (
        INSERT INTO customers (id, listing_id) SELECT gen_random_uuid(), '${listingId}' FROM generate_series(1, 5000) RETURNING id, listing_id
      )
      INSERT INTO tickets (id, listing_id, ref, customer_id, status, source_app, source_channel, queue_key)
        SELECT gen_random_uuid(), listing_id, 'BULK-' || row_number() OVER (), id, 'waiting', 'bench', 'website', 0 FROM bulk;
      ANALYZE tickets;`);
    const ticket = await openTicket();
    const batch = ['a', 'b'].map((word) => ({
      listing_id: listingId, ticket_id: ticket.id, id: crypto.randomUUID(), sender_role: 'customer', csr_id: null, kind: 'text',
      channel: null, text: word, content: {}, attachment_id: null, client_message_id: null, actor: {}, must_hold_as: null,
    }));
    const plan = await ctx.db.transaction(async (tx) => {
      await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await tx.query(`PREPARE batch_plan_check(jsonb) AS ${INSERT_MANY_SQL}`);
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE batch_plan_check($batch$${JSON.stringify(batch)}$batch$)`);
      await tx.query('DEALLOCATE batch_plan_check');
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    // Probed by primary key, not a scan of the tickets (or of all open ones, through the partial index).
    expect(plan).toMatch(/Index Cond: \(id = ANY/);
    expect(plan).not.toMatch(/Seq Scan on tickets|tickets_one_open_per_customer/);
  });
});
