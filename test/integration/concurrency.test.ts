import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/index.ts';
import { createTestContext, type TestContext } from '../support/context.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('pull under contention', () => {
  it('50 CSRs pulling from 1,000 waiting tickets at once: every ticket assigned exactly once', async () => {
    const { listingId } = await ctx.seedListing();
    const bot: Principal = { keyId: 'seed', role: 'bot', listingId, csrId: null, rateLimitPerMinute: null };
    for (let index = 0; index < 1000; index++) {
      await ctx.services.tickets.create(
        listingId,
        { customer: { identities: [{ kind: 'external', value: `c-${index}` }] }, source: { app: 'load', channel: 'website' } },
        bot,
      );
    }
    const csrs = await Promise.all(Array.from({ length: 50 }, () => ctx.seedCsr(listingId, { capacity: 1000 })));

    const pulledBy = new Map<string, string[]>();
    await Promise.all(
      csrs.map(async (csr) => {
        const mine: string[] = [];
        for (;;) {
          const response = await ctx.request(csr.key, 'POST', '/v1/tickets/pull');
          if (response.status === 404) break;
          expect(response.status).toBe(200);
          mine.push(response.body.id);
        }
        pulledBy.set(csr.csrId, mine);
      }),
    );

    const all = [...pulledBy.values()].flat();
    expect(all).toHaveLength(1000);
    expect(new Set(all).size).toBe(1000);
    const assigned = await ctx.db.query<{ n: number; distinct_tickets: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT aggregate_id)::int AS distinct_tickets FROM events WHERE listing_id = $1 AND name = 'ticket.assigned'`,
      [listingId],
    );
    expect(assigned.rows[0]).toEqual({ n: 1000, distinct_tickets: 1000 });
    const byCsr = await ctx.db.query<{ csr_id: string; n: number }>(
      `SELECT csr_id, count(*)::int AS n FROM tickets WHERE listing_id = $1 AND status = 'assigned' GROUP BY csr_id`,
      [listingId],
    );
    for (const row of byCsr.rows) expect(row.n).toBe(pulledBy.get(row.csr_id)!.length);
    // The work was actually shared, not serialised onto one CSR.
    expect(byCsr.rows.length).toBeGreaterThan(1);
  });

  it('capacity holds when one CSR pulls many times at once', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    for (let index = 0; index < 10; index++) {
      await ctx.request(botKey, 'POST', '/v1/tickets', { customer: { identities: [{ kind: 'external', value: `x${index}` }] }, source: { app: 'a', channel: 'app' } });
    }
    const csr = await ctx.seedCsr(listingId, { capacity: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, () => ctx.request(csr.key, 'POST', '/v1/tickets/pull')));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'csr_at_capacity')).toBe(true);
  });

  it('two first contacts from one new customer at once yield one customer and one ticket', async () => {
    const { botKey, managerKey } = await ctx.seedListing();
    const body = { customer: { identities: [{ kind: 'phone', value: '+15105550199' }] }, source: { app: 'a', channel: 'sms' } };
    const responses = await Promise.all(Array.from({ length: 8 }, () => ctx.request(botKey, 'POST', '/v1/tickets', body)));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect((await ctx.request(managerKey, 'GET', '/v1/customers')).body.items).toHaveLength(1);
  });
});
