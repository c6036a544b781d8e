import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAutomationEngine, createAutomationJobs } from '../../src/automation/index.ts';
import { readEvents } from '../../src/events/index.ts';
import {
  createBullConsumer,
  createBullProducer,
  createInProcessJobs,
  createOutboxRelay,
  jobPayloads,
  type EnqueueOptions,
  type JobHandlers,
  type JobName,
  type JobProducer,
} from '../../src/jobs/index.ts';
import { createLogger, type Clock } from '../../src/platform/index.ts';
import { createScheduleService } from '../../src/schedule/index.ts';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MINUTE = 60_000;
const silent = createLogger({ LOG_LEVEL: 'silent' });

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

/** A clock the test moves by hand. */
function manualClock(iso: string) {
  let current = new Date(iso);
  const clock: Clock & { set(iso: string | Date): void; advance(ms: number): void } = {
    now: () => current,
    set: (value) => {
      current = new Date(value);
    },
    advance: (ms) => {
      current = new Date(current.getTime() + ms);
    },
  };
  return clock;
}

/** A producer that only records, so tests see what the engine scheduled. */
function recordingJobs() {
  const enqueued: Array<{ name: JobName; payload: unknown; options: EnqueueOptions }> = [];
  const jobs: Pick<JobProducer, 'enqueue'> = {
    enqueue: async (name, payload, options = {}) => {
      enqueued.push({ name, payload, options });
    },
  };
  return { jobs, enqueued };
}

const weekdaysNineToFive = {
  mon: [{ open: '09:00', close: '17:00' }],
  tue: [{ open: '09:00', close: '17:00' }],
  wed: [{ open: '09:00', close: '17:00' }],
  thu: [{ open: '09:00', close: '17:00' }],
  fri: [{ open: '09:00', close: '17:00' }],
};
const texts = {
  five: 'Thanks for waiting, someone will be with you shortly.',
  fifteen: 'Still here? You are next in line.',
  offline: 'Nobody is online right now; we will answer as soon as someone is.',
  afterHours: 'We are closed now and will reply when we open.',
};

/** A listing in Berlin, open Mon–Fri 09:00–17:00, with every triggered message configured. */
async function configuredListing(options: { csrOnline?: boolean } = {}) {
  const seeded = await ctx.seedListing();
  await ctx.request(seeded.managerKey, 'PUT', '/v1/listing/schedule', { timezone: 'Europe/Berlin', weekly: weekdaysNineToFive });
  await ctx.request(seeded.managerKey, 'PUT', '/v1/listing/automated-messages', {
    welcome: null,
    inactivity: [
      { afterMinutes: 15, text: texts.fifteen },
      { afterMinutes: 5, text: texts.five },
    ],
    offline: { text: texts.offline },
    afterHours: { text: texts.afterHours },
  });
  const csr = await ctx.seedCsr(seeded.listingId, { presence: options.csrOnline === false ? 'offline' : 'online' });
  return { ...seeded, csr };
}

/** Creates a ticket through the API and dates it to `createdAt` (the API stamps database time). */
async function ticketCreatedAt(listing: { listingId: string; botKey: string }, createdAt: string): Promise<string> {
  const response = await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody());
  expect(response.status).toBe(201);
  await ctx.db.query('UPDATE tickets SET created_at = $3, updated_at = $3 WHERE listing_id = $1 AND id = $2', [listing.listingId, response.body.id, createdAt]);
  return response.body.id as string;
}

const threadOf = async (listingId: string, ticketId: string) =>
  (
    await ctx.db.query<{ sender_role: string; text: string; client_message_id: string | null }>(
      'SELECT sender_role, text, client_message_id FROM messages WHERE listing_id = $1 AND ticket_id = $2 ORDER BY seq',
      [listingId, ticketId],
    )
  ).rows;

const sendsOf = async (listingId: string, ticketId: string) =>
  (
    await ctx.db.query<{ key: string; outcome: string }>('SELECT key, outcome FROM automated_message_sends WHERE listing_id = $1 AND ticket_id = $2 ORDER BY key', [
      listingId,
      ticketId,
    ])
  ).rows;

// January 2025 is CET (UTC+1): Tuesday 7 January, 10:00 local = 09:00Z.
const TUESDAY_10_LOCAL = '2025-01-07T09:00:00Z';

describe('inactivity messages', () => {
  it('go out after N minutes of waiting in business hours, each exactly once, as system messages', async () => {
    const listing = await configuredListing();
    const ticketId = await ticketCreatedAt(listing, TUESDAY_10_LOCAL);
    const clock = manualClock('2025-01-07T09:04:00Z');
    const { jobs, enqueued } = recordingJobs();
    const engine = createAutomationEngine({ db: ctx.db, jobs, clock });

    const early = await engine.checkTicket(listing.listingId, ticketId);
    expect(early).toEqual({ sent: [], nextCheckAt: new Date('2025-01-07T09:05:00Z') });
    // The follow-up is a delayed job, deduplicated by ticket and time.
    expect(enqueued.at(-1)).toEqual({
      name: 'automated.check-ticket',
      payload: { listingId: listing.listingId, ticketId },
      options: { delayMs: MINUTE, jobId: `automated-check-${ticketId}-${Date.parse('2025-01-07T09:05:00Z')}` },
    });

    clock.set('2025-01-07T09:05:00Z');
    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual(['inactivity:5']);
    clock.advance(MINUTE);
    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual([]);

    // Two workers racing at the 15-minute mark still send it once.
    clock.set('2025-01-07T09:15:00Z');
    const raced = await Promise.all([engine.checkTicket(listing.listingId, ticketId), engine.checkTicket(listing.listingId, ticketId)]);
    expect(raced.flatMap((result) => result.sent)).toEqual(['inactivity:15']);
    expect(raced.every((result) => result.nextCheckAt === null)).toBe(true);

    const thread = await ctx.request(listing.botKey, 'GET', `/v1/tickets/${ticketId}/messages`);
    expect(thread.body.items.map((message: { senderRole: string; kind: string; text: string; clientMessageId: string }) => [message.senderRole, message.kind, message.text, message.clientMessageId])).toEqual([
      ['system', 'text', texts.five, 'automated:inactivity:5'],
      ['system', 'text', texts.fifteen, 'automated:inactivity:15'],
    ]);
    const events = await readEvents(ctx.db, { listingId: listing.listingId, limit: 1000, names: ['message.created', 'automated_message.sent'] });
    const ofTicket = events.filter((event) => event.aggregateId === ticketId);
    expect(ofTicket.map((event) => event.name)).toEqual(['message.created', 'automated_message.sent', 'message.created', 'automated_message.sent']);
    expect(ofTicket.every((event) => event.actor.role === 'automation')).toBe(true);
    expect(ofTicket[1]!.payload).toMatchObject({ key: 'inactivity:5', kind: 'inactivity', afterMinutes: 5 });
    expect((await ctx.request(listing.botKey, 'GET', `/v1/tickets/${ticketId}`)).body.messageCount).toBe(2);
  });

  it('wait outside business hours, then send only the latest one that fell due', async () => {
    const listing = await configuredListing();
    // 16:58 local on Tuesday, two minutes before closing.
    const ticketId = await ticketCreatedAt(listing, '2025-01-07T15:58:00Z');
    const clock = manualClock('2025-01-07T16:10:00Z');
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock });

    const closed = await engine.checkTicket(listing.listingId, ticketId);
    expect(closed).toEqual({ sent: [], nextCheckAt: new Date('2025-01-08T08:00:00Z') });

    clock.set('2025-01-08T08:00:00Z');
    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual(['inactivity:15']);
    expect(await sendsOf(listing.listingId, ticketId)).toEqual([
      { key: 'inactivity:15', outcome: 'sent' },
      { key: 'inactivity:5', outcome: 'superseded' },
    ]);
    expect((await threadOf(listing.listingId, ticketId)).map((message) => message.text)).toEqual([texts.fifteen]);
  });

  it('count from the last release back to the queue, not from creation', async () => {
    const listing = await configuredListing();
    const ticketId = await ticketCreatedAt(listing, TUESDAY_10_LOCAL);
    expect((await ctx.request(listing.csr.key, 'POST', '/v1/tickets/pull')).body.id).toBe(ticketId);
    expect((await ctx.request(listing.csr.key, 'POST', `/v1/tickets/${ticketId}/release`)).status).toBe(200);
    await ctx.db.query(`UPDATE events SET created_at = $3 WHERE listing_id = $1 AND aggregate_id = $2 AND name = 'ticket.released'`, [
      listing.listingId,
      ticketId,
      '2025-01-07T09:30:00Z',
    ]);
    const clock = manualClock('2025-01-07T09:34:00Z');
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock });
    expect(await engine.checkTicket(listing.listingId, ticketId)).toEqual({ sent: [], nextCheckAt: new Date('2025-01-07T09:35:00Z') });
    clock.set('2025-01-07T09:35:00Z');
    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual(['inactivity:5']);
  });

  it('never reach a ticket a CSR holds or that has ended', async () => {
    const listing = await configuredListing();
    const held = await ticketCreatedAt(listing, TUESDAY_10_LOCAL);
    await ctx.request(listing.csr.key, 'POST', '/v1/tickets/pull');
    const ended = await ticketCreatedAt(listing, TUESDAY_10_LOCAL);
    await ctx.request(listing.managerKey, 'POST', `/v1/tickets/${ended}/end`, { outcome: 'abandoned' });
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock: manualClock('2025-01-07T09:30:00Z') });
    expect(await engine.checkTicket(listing.listingId, held)).toEqual({ sent: [], nextCheckAt: null });
    expect(await engine.checkTicket(listing.listingId, ended)).toEqual({ sent: [], nextCheckAt: null });
    expect(await threadOf(listing.listingId, held)).toEqual([]);
    // Another tenant's id is simply not found.
    const other = await configuredListing();
    expect(await engine.checkTicket(other.listingId, held)).toEqual({ sent: [], nextCheckAt: null });
  });
});

describe('the offline message', () => {
  it('goes out in business hours when no CSR is online, and holds inactivity back until one is', async () => {
    const listing = await configuredListing({ csrOnline: false });
    const ticketId = await ticketCreatedAt(listing, TUESDAY_10_LOCAL);
    const clock = manualClock('2025-01-07T09:00:30Z');
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock, presenceRecheckMs: MINUTE });

    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual(['offline']);
    clock.set('2025-01-07T09:06:00Z');
    // Inactivity is due but held back; the engine looks again soon in case someone came online.
    expect(await engine.checkTicket(listing.listingId, ticketId)).toEqual({ sent: [], nextCheckAt: new Date('2025-01-07T09:07:00Z') });

    expect((await ctx.request(listing.csr.key, 'PUT', '/v1/csrs/me/presence', { presence: 'online' })).status).toBe(200);
    clock.set('2025-01-07T09:07:00Z');
    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual(['inactivity:5']);
    expect((await threadOf(listing.listingId, ticketId)).map((message) => message.text)).toEqual([texts.offline, texts.five]);
  });

  it('is not sent outside business hours (the after-hours message covers that)', async () => {
    const listing = await configuredListing({ csrOnline: false });
    // Saturday 11 January.
    const ticketId = await ticketCreatedAt(listing, '2025-01-11T10:00:00Z');
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock: manualClock('2025-01-11T10:00:05Z') });
    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual(['after_hours']);
  });
});

describe('the after-hours message', () => {
  it('goes out when a ticket is created while closed, and not once they have opened again', async () => {
    const listing = await configuredListing();
    const saturday = await ticketCreatedAt(listing, '2025-01-11T10:00:00Z');
    const clock = manualClock('2025-01-11T10:00:05Z');
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock });
    expect(await engine.checkTicket(listing.listingId, saturday)).toEqual({ sent: ['after_hours'], nextCheckAt: new Date('2025-01-13T08:00:00Z') });

    // A ticket from the same weekend that nobody looked at until Monday: after hours is moot now.
    const late = await ticketCreatedAt(listing, '2025-01-11T11:00:00Z');
    clock.set('2025-01-13T08:30:00Z');
    expect((await engine.checkTicket(listing.listingId, late)).sent).toEqual(['inactivity:15']);
  });

  it('treats a holiday as closed all local day', async () => {
    const listing = await configuredListing();
    // Holidays must lie in the future when added: add it "before" Wednesday 8 January 2025.
    const schedule = createScheduleService({ db: ctx.db, clock: manualClock('2025-01-01T12:00:00Z') });
    await schedule.addHoliday(listing.listingId, { date: '2025-01-08', name: 'Company day' });
    const ticketId = await ticketCreatedAt(listing, '2025-01-08T09:00:00Z');
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock: manualClock('2025-01-08T09:20:00Z') });
    // Closed: after hours, and no inactivity message although 20 minutes passed; Thursday opens 09:00.
    expect(await engine.checkTicket(listing.listingId, ticketId)).toEqual({ sent: ['after_hours'], nextCheckAt: new Date('2025-01-09T08:00:00Z') });
  });

  it('plans the next opening across the spring-forward weekend in local time (Europe/Berlin)', async () => {
    const listing = await configuredListing();
    // Friday 28 March 2025, 17:30 CET; the clocks go forward on Sunday 30 March.
    const ticketId = await ticketCreatedAt(listing, '2025-03-28T16:30:00Z');
    const clock = manualClock('2025-03-28T16:30:10Z');
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock });
    // Monday 09:00 CEST is 07:00Z, an hour earlier in UTC than the Friday before.
    expect(await engine.checkTicket(listing.listingId, ticketId)).toEqual({ sent: ['after_hours'], nextCheckAt: new Date('2025-03-31T07:00:00Z') });
    clock.set('2025-03-31T06:59:00Z');
    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual([]);
    clock.set('2025-03-31T07:00:00Z');
    expect((await engine.checkTicket(listing.listingId, ticketId)).sent).toEqual(['inactivity:15']);
  });
});

describe('scheduling', () => {
  it('the sweep finds due tickets from Postgres alone, and leaves ones not yet due', async () => {
    const listing = await configuredListing();
    const ticketId = await ticketCreatedAt(listing, TUESDAY_10_LOCAL);
    const clock = manualClock('2025-01-07T09:06:00Z');
    const engine = createAutomationEngine({ db: ctx.db, jobs: recordingJobs().jobs, clock });

    // Never checked and no job ever scheduled (as after an embedded restart): the sweep finds it.
    await engine.sweep();
    expect(await sendsOf(listing.listingId, ticketId)).toEqual([{ key: 'inactivity:5', outcome: 'sent' }]);
    const check = async () =>
      (await ctx.db.query<{ next_check_at: Date | null }>('SELECT next_check_at FROM automation_checks WHERE listing_id = $1 AND ticket_id = $2', [listing.listingId, ticketId])).rows[0];
    expect((await check())?.next_check_at).toEqual(new Date('2025-01-07T09:15:00Z'));

    clock.set('2025-01-07T09:10:00Z');
    await engine.sweep();
    expect(await sendsOf(listing.listingId, ticketId)).toHaveLength(1);
    clock.set('2025-01-07T09:15:00Z');
    await engine.sweep();
    expect((await sendsOf(listing.listingId, ticketId)).map((send) => send.key)).toEqual(['inactivity:15', 'inactivity:5']);
    expect((await check())?.next_check_at).toBeNull();

    // A listing-wide sweep re-checks every waiting ticket of that listing only.
    const result = await engine.sweep({ listingId: listing.listingId });
    expect(result).toEqual({ checked: 1, sent: 0 });
  });

  it('reacts to relayed events: checks new tickets, re-sweeps on presence changes, and ignores its own events', async () => {
    const listing = await configuredListing({ csrOnline: false });
    const ticketId = await ticketCreatedAt(listing, TUESDAY_10_LOCAL);
    const { jobs, enqueued } = recordingJobs();
    const engine = createAutomationEngine({ db: ctx.db, jobs, clock: manualClock('2025-01-07T09:00:30Z') });
    await engine.checkTicket(listing.listingId, ticketId);
    await ctx.request(listing.csr.key, 'PUT', '/v1/csrs/me/presence', { presence: 'online' });

    const events = await readEvents(ctx.db, { listingId: listing.listingId, limit: 1000 });
    expect(events.map((event) => event.name)).toEqual(expect.arrayContaining(['message.created', 'automated_message.sent', 'csr.presence_changed']));
    enqueued.length = 0;
    await engine.publish(events);
    const created = events.find((event) => event.name === 'ticket.created')!;
    const presence = events.find((event) => event.name === 'csr.presence_changed')!;
    expect(enqueued).toContainEqual({ name: 'automated.check-ticket', payload: { listingId: listing.listingId, ticketId }, options: { jobId: `automated-event-${created.id}` } });
    expect(enqueued).toContainEqual({ name: 'automated.sweep', payload: { listingId: listing.listingId }, options: { jobId: `automated-event-${presence.id}` } });
    // Its own message.created and automated_message.sent schedule nothing (loop guard).
    const own = new Set(events.filter((event) => event.actor.role === 'automation').map((event) => `automated-event-${event.id}`));
    expect(own.size).toBe(2);
    expect(enqueued.filter((job) => own.has(job.options.jobId!))).toEqual([]);
  });

  it('runs end to end in-process: outbox relay → event → job → message', async () => {
    const listing = await configuredListing();
    const clock = manualClock('2025-01-11T10:00:00Z');
    // Bound late, as in the runtime: the in-process runner is built from the engine's handlers.
    const engine = createAutomationEngine({ db: ctx.db, jobs: { enqueue: (name, payload, options) => inProcess.enqueue(name, payload, options) }, clock });
    const inProcess = createInProcessJobs({ ...noopHandlers(), ...createAutomationJobs(engine) }, silent);
    try {
      const ticketId = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body.id as string;
      // The creation instant decides "after hours": put it on the Saturday the clock shows.
      await ctx.db.query('UPDATE tickets SET created_at = $3 WHERE listing_id = $1 AND id = $2', [listing.listingId, ticketId, '2025-01-11T10:00:00Z']);
      await createOutboxRelay({ db: ctx.db, publisher: engine })({});
      await waitFor(async () => (await threadOf(listing.listingId, ticketId)).length === 1);
      expect((await threadOf(listing.listingId, ticketId))[0]).toMatchObject({ sender_role: 'system', text: texts.afterHours });
    } finally {
      await inProcess.close();
    }
  });

  it('runs through BullMQ on Redis: a queued check sends, and the follow-up is a delayed job', async () => {
    const listing = await configuredListing();
    const ticketId = await ticketCreatedAt(listing, TUESDAY_10_LOCAL);
    const queueName = `test-automation-${randomBytes(4).toString('hex')}`;
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const producer = createBullProducer(connection, queueName);
    const engine = createAutomationEngine({ db: ctx.db, jobs: producer, clock: manualClock('2025-01-07T09:06:00Z') });
    const consumer = createBullConsumer(connection, { ...noopHandlers(), ...createAutomationJobs(engine) }, silent, { queueName });
    const queue = new Queue(queueName, { connection });
    try {
      await consumer.start();
      await producer.enqueue('automated.check-ticket', { listingId: listing.listingId, ticketId });
      await waitFor(async () => (await sendsOf(listing.listingId, ticketId)).length === 1);
      expect(await sendsOf(listing.listingId, ticketId)).toEqual([{ key: 'inactivity:5', outcome: 'sent' }]);
      const followUpId = `automated-check-${ticketId}-${Date.parse('2025-01-07T09:15:00Z')}`;
      await waitFor(async () => (await queue.getDelayed()).some((job) => job.id === followUpId));
      const followUp = (await queue.getDelayed()).find((job) => job.id === followUpId)!;
      expect(followUp.name).toBe('automated.check-ticket');
      expect(followUp.data).toEqual({ listingId: listing.listingId, ticketId });
      expect(followUp.opts.delay).toBe(9 * MINUTE);
      // The repeating sweep is scheduled with the catalog.
      expect((await queue.getJobSchedulers()).map((scheduler) => scheduler.key)).toContain('repeat:automated.sweep');
    } finally {
      await consumer.close();
      await producer.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });
});

/** Every catalog job as a no-op, so a consumer can run with just the handlers under test. */
function noopHandlers(): JobHandlers {
  return Object.fromEntries(Object.keys(jobPayloads).map((name) => [name, async () => undefined])) as unknown as JobHandlers;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
