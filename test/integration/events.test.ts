import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/events/index.ts';
import { createBullConsumer, createBullProducer, createOutboxRelay, createRedisEventBus, type JobHandlers } from '../../src/jobs/index.ts';
import { createLogger } from '../../src/platform/index.ts';
import { createTestContext, newTicketBody, testDbKind, type TestContext } from '../support/context.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let ctx: TestContext;
let listing: Awaited<ReturnType<TestContext['seedListing']>>;

beforeAll(async () => {
  ctx = await createTestContext();
  listing = await ctx.seedListing();
});
afterAll(() => ctx.close());

/** Reads SSE frames from a fetch response until `count` events arrived. */
async function readSse(response: Response, until: (frame: { event: string }) => boolean, timeoutMs = 10_000) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const frames: Array<{ id: number; event: string; data: StoredEvent }> = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  while (!frames.some(until) && Date.now() < deadline) {
    const { value, done } = await Promise.race([
      reader.read(),
      new Promise<{ value: undefined; done: true }>((resolve) => setTimeout(() => resolve({ value: undefined, done: true }), deadline - Date.now())),
    ]);
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let split;
    while ((split = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const fields = Object.fromEntries(frame.split('\n').filter((line) => !line.startsWith(':') && line.includes(': ')).map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]));
      if (fields.id) frames.push({ id: Number(fields.id), event: fields.event!, data: JSON.parse(fields.data!) });
    }
  }
  await reader.cancel();
  return frames;
}

describe('domain events', () => {
  it('pages through the listing’s outbox in commit order', async () => {
    const ticket = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body;
    await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text: 'hello', senderRole: 'customer' });
    const first = await ctx.request(listing.managerKey, 'GET', '/v1/events?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    const rest = await ctx.request(listing.managerKey, 'GET', `/v1/events?after=${first.body.nextAfter}&limit=100`);
    const names = [...first.body.items, ...rest.body.items].map((event: { name: string }) => event.name);
    expect(names).toEqual(expect.arrayContaining(['listing.created', 'ticket.created', 'message.created']));
    const ids = [...first.body.items, ...rest.body.items].map((event: { id: number }) => event.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const onlyMessages = await ctx.request(listing.managerKey, 'GET', '/v1/events?names=message.created');
    expect(onlyMessages.body.items.map((event: { payload: { text: string } }) => event.payload.text)).toEqual(['hello']);
  });

  it('streams events over SSE: replays after a cursor, then delivers what the relay publishes', async () => {
    const { listingId, botKey, managerKey } = await ctx.seedListing();
    const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' }).then(() => ctx.app.server.address() as AddressInfo);
    const ticket = (await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody())).body;
    await ctx.relayOutbox();
    const response = await fetch(`http://127.0.0.1:${address.port}/v1/events/stream?after=0`, { headers: { authorization: `Bearer ${managerKey}` } });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reading = readSse(response, (frame) => frame.event === 'message.created');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ctx.request(botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text: 'live one', senderRole: 'customer' });
    await ctx.relayOutbox();
    const frames = await reading;
    const names = frames.map((frame) => frame.event);
    // Replayed history first (in commit order), then the live event.
    expect(names[0]).toBe('listing.created');
    expect(names.indexOf('ticket.created')).toBeLessThan(names.indexOf('message.created'));
    expect(frames.map((frame) => frame.id)).toEqual([...frames.map((frame) => frame.id)].sort((a, b) => a - b));
    const live = frames.find((frame) => frame.event === 'message.created');
    expect(live?.data.payload.text).toBe('live one');
    expect(frames.every((frame) => frame.data.listingId === listingId)).toBe(true);
  });

  it('relays the outbox through BullMQ and Redis pub/sub exactly once', async () => {
    if (testDbKind() !== 'postgres') return;
    const { listingId, botKey } = await ctx.seedListing();
    await ctx.relayOutbox();
    const publisher = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const subscriber = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const bus = createRedisEventBus(publisher, subscriber);
    const received: StoredEvent[] = [];
    bus.subscribe(listingId, (event) => received.push(event));
    await new Promise((resolve) => setTimeout(resolve, 100));

    const queueName = `test-${randomBytes(4).toString('hex')}`;
    const logger = createLogger({ LOG_LEVEL: 'silent' });
    const consumer = createBullConsumer(publisher, { 'outbox.relay': createOutboxRelay({ db: ctx.db, publisher: bus }) } as JobHandlers, logger, { queueName });
    const producer = createBullProducer(publisher, queueName);
    try {
      await consumer.start();
      for (let index = 0; index < 3; index++) await ctx.request(botKey, 'POST', '/v1/tickets', newTicketBody());
      await producer.enqueue('outbox.relay', {});
      await producer.enqueue('outbox.relay', {});
      const deadline = Date.now() + 10_000;
      while (received.filter((event) => event.name === 'ticket.created').length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const created = received.filter((event) => event.name === 'ticket.created');
      expect(created).toHaveLength(3);
      expect(new Set(received.map((event) => event.id)).size).toBe(received.length);
    } finally {
      await consumer.close();
      await producer.close();
      const cleanup = new Redis(REDIS_URL);
      const keys = await cleanup.keys(`bull:${queueName}:*`);
      if (keys.length) await cleanup.del(...keys);
      cleanup.disconnect();
      await bus.close();
      subscriber.disconnect();
      publisher.disconnect();
    }
  });
});

describe('outbox relay cursor', () => {
  it('waits for a hole in the ids (a transaction still open) and skips it once it is older than the grace period', async () => {
    const { listingId } = await ctx.seedListing();
    await ctx.relayOutbox();
    const published: number[] = [];
    const now = { value: new Date() };
    const relay = createOutboxRelay({ db: ctx.db, publisher: { publish: async (events) => void published.push(...events.map((e) => e.id)) }, clock: { now: () => now.value }, gapGraceMs: 30_000 });
    const insert = (id: number, createdAt: Date) =>
      ctx.db.query(`INSERT INTO events (id, listing_id, name, aggregate_type, aggregate_id, payload, created_at) VALUES ($1, $2, 'ticket.created', 'ticket', 'x', '{}', $3)`, [id, listingId, createdAt]);
    const { rows } = await ctx.db.query<{ id: number }>('SELECT max(id) AS id FROM events');
    const base = Number(rows[0]!.id) + 100;
    await ctx.db.query(`SELECT setval(pg_get_serial_sequence('events', 'id'), $1)`, [base + 10]);
    // base+1 committed, base+2 missing (in flight or rolled back), base+3 committed.
    const justNow = new Date(now.value.getTime() - 1000);
    await insert(base + 1, justNow);
    await insert(base + 3, justNow);
    // Everything up to base is older history the relay already passed; move the cursor there.
    await ctx.db.query(`UPDATE outbox_cursors SET last_id = $1 WHERE name = 'relay'`, [base]);
    await relay({});
    expect(published).toEqual([base + 1]);
    // The late transaction commits: delivered in order.
    await insert(base + 2, justNow);
    await relay({});
    expect(published).toEqual([base + 1, base + 2, base + 3]);
    // A hole that never fills is skipped once the event after it is older than the grace period.
    await insert(base + 5, justNow);
    await relay({});
    expect(published).toHaveLength(3);
    now.value = new Date(now.value.getTime() + 31_000);
    await relay({});
    expect(published).toEqual([base + 1, base + 2, base + 3, base + 5]);
  });
});
