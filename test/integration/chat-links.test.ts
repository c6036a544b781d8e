import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/index.ts';
import { createCoreServices } from '../../src/core.ts';
import type { Clock } from '../../src/platform/index.ts';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

let ctx: TestContext;
/** An app over the same database whose services read this clock, so expiry needs no sleeping. */
let app: FastifyInstance;
let now = new Date('2026-03-02T10:00:00.000Z');
const clock: Clock = { now: () => new Date(now) };

beforeAll(async () => {
  ctx = await createTestContext();
  app = await buildApp({ config: ctx.config, services: createCoreServices({ db: ctx.db, config: ctx.config, clock }), db: ctx.db });
});
afterAll(async () => {
  await app.close();
  await ctx.close();
});

async function call(key: string | undefined, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) {
  const response = await app.inject({ method, url, headers: key ? { authorization: `Bearer ${key}` } : {}, ...(payload ? { payload } : {}) });
  const body = response.body && String(response.headers['content-type'] ?? '').includes('json') ? JSON.parse(response.body) : response.body;
  return { status: response.statusCode, body, headers: response.headers };
}

async function configuredListing(settings: Record<string, unknown> = {}) {
  const listing = await ctx.seedListing();
  const put = await call(listing.managerKey, 'PUT', '/v1/listing/chat-settings', { chatUrlBase: 'https://chat.example.com/s/{ticketId}?c={customerId}&via={channel}', ...settings });
  expect(put.status).toBe(200);
  const ticket = (await call(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body;
  return { ...listing, ticket };
}

describe('chat settings', () => {
  it('are set by managers and validated', async () => {
    const { listingId, managerKey, botKey } = await ctx.seedListing();
    const csr = await ctx.seedCsr(listingId);
    const missing = await call(managerKey, 'GET', '/v1/listing/chat-settings');
    expect(missing.status).toBe(404);

    expect((await call(csr.key, 'PUT', '/v1/listing/chat-settings', { chatUrlBase: 'https://chat.example.com' })).status).toBe(403);
    for (const body of [
      { chatUrlBase: 'ftp://chat.example.com' },
      { chatUrlBase: 'javascript:alert(1)' },
      { chatUrlBase: 'https://chat.example.com/{sessionToken}' },
      { chatUrlBase: 'https://chat.example.com', linkTtlSeconds: 10 },
      { chatUrlBase: 'https://chat.example.com', shortUrlBase: 'https://go.example.com/?x=1' },
      {},
    ]) {
      const response = await call(managerKey, 'PUT', '/v1/listing/chat-settings', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }

    const put = await call(managerKey, 'PUT', '/v1/listing/chat-settings', { chatUrlBase: 'https://chat.example.com/start', linkTtlSeconds: 600 });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ listingId, chatUrlBase: 'https://chat.example.com/start', shortUrlBase: null, linkTtlSeconds: 600 });
    expect((await call(botKey, 'GET', '/v1/listing/chat-settings')).body.linkTtlSeconds).toBe(600);
  });
});

describe('chat links', () => {
  it('mints unguessable, unique short links that redirect to the chat session until they expire', async () => {
    const { managerKey, botKey, ticket, listingId } = await configuredListing({ linkTtlSeconds: 3600 });
    const created = await call(botKey, 'POST', `/v1/tickets/${ticket.id}/chat-links`, { channel: 'email' });
    expect(created.status).toBe(201);
    const link = created.body;
    expect(link.code).toMatch(/^[A-Za-z0-9_-]{16}$/); // 96 random bits
    expect(link.url).toBe(`http://localhost:80/c/${link.code}`);
    expect(link.targetUrl).toBe(`https://chat.example.com/s/${ticket.id}?c=${ticket.customerId}&via=email`);
    expect(new Date(link.expiresAt).getTime() - new Date(link.createdAt).getTime()).toBe(3600_000);

    const opened = await call(undefined, 'GET', `/c/${link.code}`);
    expect(opened.status).toBe(302);
    expect(opened.headers.location).toBe(link.targetUrl);
    expect(opened.headers['cache-control']).toBe('no-store');
    expect(opened.headers['referrer-policy']).toBe('no-referrer');

    now = new Date(now.getTime() + 3599_000);
    expect((await call(undefined, 'GET', `/c/${link.code}`)).status).toBe(302);
    now = new Date(now.getTime() + 1000);
    const expired = await call(undefined, 'GET', `/c/${link.code}`);
    expect(expired.status).toBe(410);
    expect(expired.body.code).toBe('link_expired');

    const listed = await call(managerKey, 'GET', `/v1/tickets/${ticket.id}/chat-links`);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({ code: link.code, openCount: 2, channel: 'email' });

    // Only the first open is a domain event; the code never appears in events.
    const events = (await ctx.db.query<{ name: string; payload: unknown }>(`SELECT name, payload FROM events WHERE listing_id = $1 AND name LIKE 'chat_link.%' ORDER BY id`, [listingId])).rows;
    expect(events.map((event) => event.name)).toEqual(['chat_link.created', 'chat_link.opened']);
    expect(JSON.stringify(events)).not.toContain(link.code);

    const codes = new Set<string>();
    for (let index = 0; index < 25; index++) codes.add((await call(botKey, 'POST', `/v1/tickets/${ticket.id}/chat-links`, { channel: 'sms' })).body.code);
    expect(codes.size).toBe(25);
  });

  it('honours a per-link lifetime, the short-link base and a plain chat URL', async () => {
    const { botKey, ticket } = await configuredListing();
    const listing = await configuredListing({ chatUrlBase: 'https://chat.example.com/start', shortUrlBase: 'https://go.example.com/' });
    const link = (await call(listing.botKey, 'POST', `/v1/tickets/${listing.ticket.id}/chat-links`, { channel: 'sms', ttlSeconds: 60 })).body;
    expect(link.url).toBe(`https://go.example.com/c/${link.code}`);
    const target = new URL(link.targetUrl);
    expect(Object.fromEntries(target.searchParams)).toEqual({ ticketId: listing.ticket.id, customerId: listing.ticket.customerId, ref: listing.ticket.ref, channel: 'sms' });
    now = new Date(now.getTime() + 61_000);
    expect((await call(undefined, 'GET', `/c/${link.code}`)).status).toBe(410);

    expect((await call(botKey, 'POST', `/v1/tickets/${ticket.id}/chat-links`, { channel: 'sms', ttlSeconds: 5 })).status).toBe(400);
    expect((await call(botKey, 'POST', `/v1/tickets/${ticket.id}/chat-links`, { channel: 'pigeon' })).status).toBe(400);
  });

  it('answers 404 for unknown codes and needs no key to follow a link', async () => {
    for (const code of ['AAAAAAAAAAAAAAAA', 'short', '../../etc/passwd', 'x'.repeat(64)]) {
      const response = await call(undefined, 'GET', `/c/${encodeURIComponent(code)}`);
      expect(response.status, code).toBe(404);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('needs chat settings and an open ticket, and a CSR, bot or manager key', async () => {
    const { botKey, developerKey } = await ctx.seedListing();
    const ticket = (await call(botKey, 'POST', '/v1/tickets', newTicketBody())).body;
    const unconfigured = await call(botKey, 'POST', `/v1/tickets/${ticket.id}/chat-links`, { channel: 'sms' });
    expect(unconfigured.status).toBe(409);
    expect(unconfigured.body.code).toBe('chat_not_configured');

    const configured = await configuredListing();
    const csr = await ctx.seedCsr(configured.listingId);
    expect((await call(csr.key, 'POST', `/v1/tickets/${configured.ticket.id}/chat-links`, { channel: 'social' })).status).toBe(201);
    expect((await call(developerKey, 'POST', `/v1/tickets/${ticket.id}/chat-links`, { channel: 'sms' })).status).toBe(403);
    await call(configured.managerKey, 'POST', `/v1/tickets/${configured.ticket.id}/end`, { outcome: 'resolved' });
    const ended = await call(configured.botKey, 'POST', `/v1/tickets/${configured.ticket.id}/chat-links`, { channel: 'sms' });
    expect(ended.status).toBe(409);
    expect(ended.body.code).toBe('ticket_closed');
  });

  it("never lets one listing mint or list links for another listing's ticket", async () => {
    const a = await configuredListing();
    const b = await configuredListing();
    const mint = await call(b.botKey, 'POST', `/v1/tickets/${a.ticket.id}/chat-links`, { channel: 'sms' });
    expect(mint.status).toBe(404);
    await call(a.botKey, 'POST', `/v1/tickets/${a.ticket.id}/chat-links`, { channel: 'sms' });
    expect((await call(b.managerKey, 'GET', `/v1/tickets/${a.ticket.id}/chat-links`)).status).toBe(404);
    expect((await call(b.managerKey, 'GET', '/v1/listing/chat-settings')).body.listingId).toBe(b.listingId);
  });
});
