import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduleService } from '../../src/schedule/index.ts';
import { createTestContext, type TestContext } from '../support/context.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const closedWeek = { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] };
const eventNames = async (listingId: string) =>
  (await ctx.db.query<{ name: string }>('SELECT name FROM events WHERE listing_id = $1 ORDER BY id', [listingId])).rows.map((row) => row.name);
const fixedClock = (iso: string) => ({ now: () => new Date(iso) });

describe('weekly schedule', () => {
  it('starts unset (always open), takes a schedule with a time zone, and clears again', async () => {
    const { listingId, managerKey, botKey } = await ctx.seedListing();
    const initial = await ctx.request(botKey, 'GET', '/v1/listing/schedule');
    expect(initial.status).toBe(200);
    expect(initial.body).toEqual({ timezone: 'UTC', weekly: null, updatedAt: null });

    const put = await ctx.request(managerKey, 'PUT', '/v1/listing/schedule', {
      timezone: 'Europe/Berlin',
      weekly: { mon: [{ open: '09:00', close: '17:30' }], tue: [{ open: '13:00', close: '24:00' }, { open: '09:00', close: '12:00' }] },
    });
    expect(put.status).toBe(200);
    expect(put.body.timezone).toBe('Europe/Berlin');
    expect(put.body.weekly.mon).toEqual([{ open: '09:00', close: '17:30' }]);
    expect(put.body.weekly.sun).toEqual([]);
    expect(put.body.updatedAt).not.toBeNull();
    // The time zone is the listing's own.
    expect((await ctx.request(managerKey, 'GET', '/v1/listing')).body.timezone).toBe('Europe/Berlin');

    // Omitting the zone keeps it.
    const again = await ctx.request(managerKey, 'PUT', '/v1/listing/schedule', { weekly: { fri: [{ open: '08:00', close: '12:00' }] } });
    expect(again.body.timezone).toBe('Europe/Berlin');
    expect(again.body.weekly.mon).toEqual([]);

    const cleared = await ctx.request(managerKey, 'DELETE', '/v1/listing/schedule');
    expect(cleared.status).toBe(200);
    expect(cleared.body.weekly).toBeNull();
    expect(await eventNames(listingId)).toEqual(
      expect.arrayContaining(['listing.updated', 'listing.schedule_updated']),
    );
  });

  it('rejects malformed, reversed and overlapping intervals and unknown zones with 400, changing nothing', async () => {
    const { managerKey } = await ctx.seedListing();
    const bad = [
      { weekly: { mon: [{ open: '9:00', close: '17:00' }] } },
      { weekly: { mon: [{ open: '17:00', close: '09:00' }] } },
      { weekly: { mon: [{ open: '09:00', close: '12:00' }, { open: '11:00', close: '13:00' }] } },
      { weekly: { mon: [{ open: '24:00', close: '24:00' }] } },
      { weekly: { funday: [] } },
      { timezone: 'Mars/Olympus', weekly: {} },
    ];
    for (const body of bad) {
      const response = await ctx.request(managerKey, 'PUT', '/v1/listing/schedule', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect((await ctx.request(managerKey, 'GET', '/v1/listing/schedule')).body.weekly).toBeNull();
  });

  it('lets managers and admins (with x-listing-id) write, and no one else', async () => {
    const { listingId, botKey, developerKey } = await ctx.seedListing();
    const csr = await ctx.seedCsr(listingId);
    const body = { weekly: closedWeek };
    for (const key of [botKey, developerKey, csr.key]) {
      const response = await ctx.request(key, 'PUT', '/v1/listing/schedule', body);
      expect(response.status).toBe(403);
    }
    const admin = await ctx.request(ctx.adminKey, 'PUT', '/v1/listing/schedule', body, { 'x-listing-id': listingId });
    expect(admin.status).toBe(200);
    expect((await ctx.request(csr.key, 'GET', '/v1/listing/schedule')).body.weekly.mon).toEqual([]);
  });
});

describe('holidays', () => {
  it('adds future holidays, lists upcoming ones in date order, refuses past or duplicate dates, and removes', async () => {
    const { listingId, managerKey, botKey } = await ctx.seedListing();
    const year = new Date().getUTCFullYear() + 1;
    const newYear = await ctx.request(managerKey, 'POST', '/v1/listing/holidays', { date: `${year + 1}-01-01`, name: 'New Year' });
    expect(newYear.status).toBe(201);
    expect(newYear.body).toMatchObject({ date: `${year + 1}-01-01`, name: 'New Year' });
    const christmas = await ctx.request(managerKey, 'POST', '/v1/listing/holidays', { date: `${year}-12-25`, name: 'Christmas' });
    expect(christmas.status).toBe(201);

    const listed = await ctx.request(botKey, 'GET', '/v1/listing/holidays');
    expect(listed.body.items.map((holiday: { date: string }) => holiday.date)).toEqual([`${year}-12-25`, `${year + 1}-01-01`]);
    const fromNextYear = await ctx.request(botKey, 'GET', `/v1/listing/holidays?from=${year + 1}-01-01`);
    expect(fromNextYear.body.items).toHaveLength(1);

    const duplicate = await ctx.request(managerKey, 'POST', '/v1/listing/holidays', { date: `${year}-12-25`, name: 'Again' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('holiday_exists');
    const past = await ctx.request(managerKey, 'POST', '/v1/listing/holidays', { date: '2001-05-01', name: 'Long gone' });
    expect(past.status).toBe(422);
    const notADate = await ctx.request(managerKey, 'POST', '/v1/listing/holidays', { date: `${year}-02-30`, name: 'Nope' });
    expect(notADate.status).toBe(400);
    expect((await ctx.request(botKey, 'POST', '/v1/listing/holidays', { date: `${year}-06-01`, name: 'Bot' })).status).toBe(403);

    const removed = await ctx.request(managerKey, 'DELETE', `/v1/listing/holidays/${christmas.body.id}`);
    expect(removed.status).toBe(204);
    expect((await ctx.request(managerKey, 'DELETE', `/v1/listing/holidays/${christmas.body.id}`)).status).toBe(404);
    expect((await ctx.request(botKey, 'GET', '/v1/listing/holidays')).body.items).toHaveLength(1);
    expect(await eventNames(listingId)).toEqual(expect.arrayContaining(['listing.holiday_added', 'listing.holiday_removed']));
  });

  it("keeps tenants apart: another listing's holiday is not found", async () => {
    const a = await ctx.seedListing();
    const b = await ctx.seedListing();
    const year = new Date().getUTCFullYear() + 1;
    const holiday = (await ctx.request(a.managerKey, 'POST', '/v1/listing/holidays', { date: `${year}-07-04`, name: 'Independence Day' })).body;
    expect((await ctx.request(b.managerKey, 'DELETE', `/v1/listing/holidays/${holiday.id}`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'GET', '/v1/listing/holidays')).body.items).toEqual([]);
  });
});

describe('automated messages', () => {
  const full = {
    welcome: { text: 'Hi {name}, how can we help you today?' },
    inactivity: [
      { afterMinutes: 10, text: 'Still with us? Someone will be right there.' },
      { afterMinutes: 3, text: 'Thanks for your patience.' },
    ],
    offline: { text: 'No one is online right now; we will answer as soon as someone is.' },
    afterHours: { text: 'We are closed; we will reply when we open.' },
  };

  it('replaces the whole set at once and reads it back', async () => {
    const { listingId, managerKey, botKey } = await ctx.seedListing();
    const empty = await ctx.request(botKey, 'GET', '/v1/listing/automated-messages');
    expect(empty.body).toEqual({ welcome: null, inactivity: [], offline: null, afterHours: null, updatedAt: null });

    const put = await ctx.request(managerKey, 'PUT', '/v1/listing/automated-messages', full);
    expect(put.status).toBe(200);
    expect(put.body.inactivity.map((message: { afterMinutes: number }) => message.afterMinutes)).toEqual([3, 10]);
    expect(put.body.offline).toEqual(full.offline);

    const trimmed = await ctx.request(managerKey, 'PUT', '/v1/listing/automated-messages', { ...full, inactivity: [], offline: null });
    expect(trimmed.body).toMatchObject({ inactivity: [], offline: null, afterHours: full.afterHours, welcome: full.welcome });
    expect(await eventNames(listingId)).toContain('automated_messages.updated');
  });

  it('treats a partial or inconsistent body as invalid, as a whole', async () => {
    const { managerKey, botKey } = await ctx.seedListing();
    await ctx.request(managerKey, 'PUT', '/v1/listing/automated-messages', full);
    const missing = await ctx.request(managerKey, 'PUT', '/v1/listing/automated-messages', { welcome: null, inactivity: [] });
    expect(missing.status).toBe(400);
    const twice = await ctx.request(managerKey, 'PUT', '/v1/listing/automated-messages', {
      ...full,
      inactivity: [
        { afterMinutes: 5, text: 'a' },
        { afterMinutes: 5, text: 'b' },
      ],
    });
    expect(twice.status).toBe(400);
    expect(twice.body.errors[0].path).toContain('inactivity.1.afterMinutes');
    expect((await ctx.request(botKey, 'PUT', '/v1/listing/automated-messages', full)).status).toBe(403);
    expect((await ctx.request(botKey, 'GET', '/v1/listing/automated-messages')).body.inactivity).toHaveLength(2);
  });

  it('serves the welcome text before any ticket, with the name filled in or left out cleanly', async () => {
    const { managerKey, botKey } = await ctx.seedListing();
    expect((await ctx.request(botKey, 'GET', '/v1/listing/welcome')).body).toEqual({ text: null });
    await ctx.request(managerKey, 'PUT', '/v1/listing/automated-messages', full);
    expect((await ctx.request(botKey, 'GET', '/v1/listing/welcome?name=Ada')).body).toEqual({ text: 'Hi Ada, how can we help you today?' });
    expect((await ctx.request(botKey, 'GET', '/v1/listing/welcome')).body).toEqual({ text: 'Hi, how can we help you today?' });
    expect((await ctx.request(botKey, 'GET', `/v1/listing/welcome?name=${encodeURIComponent('$& $1')}`)).body.text).toBe('Hi $& $1, how can we help you today?');
  });
});

describe('availability', () => {
  it('counts online CSRs, their free capacity and the waiting queue, with business hours', async () => {
    const { listingId, managerKey, botKey } = await ctx.seedListing();
    const alice = await ctx.seedCsr(listingId, { capacity: 2 });
    await ctx.seedCsr(listingId, { capacity: 3 });
    await ctx.seedCsr(listingId, { presence: 'away', capacity: 9 });
    for (let index = 0; index < 3; index++) {
      await ctx.request(botKey, 'POST', '/v1/tickets', { customer: { identities: [{ kind: 'external', value: `avail-${listingId}-${index}` }] }, source: { app: 'web', channel: 'website' } });
    }
    await ctx.request(alice.key, 'POST', '/v1/tickets/pull');

    const always = await ctx.request(botKey, 'GET', '/v1/listing/availability');
    expect(always.status).toBe(200);
    expect(always.body).toMatchObject({ listingId, open: true, nextOpeningAt: null, onlineCsrs: 2, freeCapacity: 4, waitingTickets: 2, timezone: 'UTC' });

    await ctx.request(managerKey, 'PUT', '/v1/listing/schedule', { weekly: closedWeek });
    const never = await ctx.request(botKey, 'GET', '/v1/listing/availability');
    expect(never.body).toMatchObject({ open: false, nextOpeningAt: null });
  });

  it('names the next opening in the listing time zone', async () => {
    const { listingId, managerKey } = await ctx.seedListing();
    await ctx.request(managerKey, 'PUT', '/v1/listing/schedule', {
      timezone: 'Europe/Berlin',
      weekly: { ...closedWeek, mon: [{ open: '09:00', close: '17:00' }] },
    });
    // Saturday 29 March 2025, the day before the clocks go forward: Monday 09:00 is CEST.
    const schedule = createScheduleService({ db: ctx.db, clock: fixedClock('2025-03-29T12:00:00Z') });
    const view = await schedule.availability(listingId);
    expect(view.open).toBe(false);
    expect(view.nextOpeningAt).toEqual(new Date('2025-03-31T07:00:00Z'));
    const during = await createScheduleService({ db: ctx.db, clock: fixedClock('2025-03-31T07:30:00Z') }).availability(listingId);
    expect(during).toMatchObject({ open: true, nextOpeningAt: null });
  });
});

describe('canned responses', () => {
  it('creates, reads, lists, replaces with versions, and deletes', async () => {
    const { listingId, managerKey, developerKey, botKey } = await ctx.seedListing();
    const csr = await ctx.seedCsr(listingId);
    const created = await ctx.request(managerKey, 'POST', '/v1/canned-responses', { title: 'Refund policy', text: 'Refunds take 5 days.', shortcut: 'Refund', tags: ['billing', 'billing'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ version: 1, shortcut: 'refund', tags: ['billing'], listingId });
    const id = created.body.id;

    expect((await ctx.request(csr.key, 'GET', `/v1/canned-responses/${id}`)).body.title).toBe('Refund policy');
    await ctx.request(developerKey, 'POST', '/v1/canned-responses', { title: 'Greeting', text: 'Hello! 100% happy to help.' });

    // A PUT is a full snapshot: the shortcut left out is gone, and a new version is kept.
    const replaced = await ctx.request(developerKey, 'PUT', `/v1/canned-responses/${id}`, { title: 'Refund policy', text: 'Refunds take 3 days.', tags: ['billing', 'refunds'], baseVersion: 1 });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ version: 2, shortcut: null, text: 'Refunds take 3 days.' });
    const same = await ctx.request(developerKey, 'PUT', `/v1/canned-responses/${id}`, { title: 'Refund policy', text: 'Refunds take 3 days.', tags: ['billing', 'refunds'] });
    expect(same.body.version).toBe(2);
    const stale = await ctx.request(managerKey, 'PUT', `/v1/canned-responses/${id}`, { title: 'x', text: 'y', baseVersion: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('canned_version_conflict');

    const versions = await ctx.request(csr.key, 'GET', `/v1/canned-responses/${id}/versions`);
    expect(versions.body.items.map((version: { version: number; text: string }) => [version.version, version.text])).toEqual([
      [1, 'Refunds take 5 days.'],
      [2, 'Refunds take 3 days.'],
    ]);
    expect(versions.body.items[1].changedBy).toMatchObject({ role: 'developer' });

    expect((await ctx.request(botKey, 'GET', '/v1/canned-responses')).body.items.map((item: { title: string }) => item.title)).toEqual(['Greeting', 'Refund policy']);
    expect((await ctx.request(botKey, 'GET', '/v1/canned-responses?q=3%20days')).body.items).toHaveLength(1);
    expect((await ctx.request(botKey, 'GET', '/v1/canned-responses?q=100%25')).body.items.map((item: { title: string }) => item.title)).toEqual(['Greeting']);
    expect((await ctx.request(botKey, 'GET', '/v1/canned-responses?tag=refunds')).body.items).toHaveLength(1);

    expect((await ctx.request(managerKey, 'DELETE', `/v1/canned-responses/${id}`)).status).toBe(204);
    expect((await ctx.request(botKey, 'GET', `/v1/canned-responses/${id}`)).status).toBe(404);
    expect((await ctx.request(managerKey, 'PUT', `/v1/canned-responses/${id}`, { title: 'x', text: 'y' })).status).toBe(404);
    expect((await ctx.request(botKey, 'GET', '/v1/canned-responses')).body.items).toHaveLength(1);
    expect(await eventNames(listingId)).toEqual(expect.arrayContaining(['canned_response.created', 'canned_response.updated', 'canned_response.deleted']));
  });

  it('keeps shortcuts unique among live responses, and lets a deleted one’s shortcut be reused', async () => {
    const { managerKey } = await ctx.seedListing();
    const first = (await ctx.request(managerKey, 'POST', '/v1/canned-responses', { title: 'A', text: 'a', shortcut: 'hello' })).body;
    const clash = await ctx.request(managerKey, 'POST', '/v1/canned-responses', { title: 'B', text: 'b', shortcut: 'hello' });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('canned_shortcut_taken');
    await ctx.request(managerKey, 'DELETE', `/v1/canned-responses/${first.id}`);
    expect((await ctx.request(managerKey, 'POST', '/v1/canned-responses', { title: 'B', text: 'b', shortcut: 'hello' })).status).toBe(201);
  });

  it('lets only managers and developers write, and hides other tenants’ content', async () => {
    const a = await ctx.seedListing();
    const b = await ctx.seedListing();
    const csr = await ctx.seedCsr(a.listingId);
    for (const key of [a.botKey, csr.key]) {
      expect((await ctx.request(key, 'POST', '/v1/canned-responses', { title: 'x', text: 'y' })).status).toBe(403);
    }
    const mine = (await ctx.request(a.managerKey, 'POST', '/v1/canned-responses', { title: 'Mine', text: 'secret' })).body;
    expect((await ctx.request(b.managerKey, 'GET', `/v1/canned-responses/${mine.id}`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'GET', `/v1/canned-responses/${mine.id}/versions`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'PUT', `/v1/canned-responses/${mine.id}`, { title: 'x', text: 'y' })).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'DELETE', `/v1/canned-responses/${mine.id}`)).status).toBe(404);
    expect((await ctx.request(b.botKey, 'GET', '/v1/canned-responses')).body.items).toEqual([]);
    expect((await ctx.request(a.managerKey, 'POST', '/v1/canned-responses', { title: '', text: 'y', extra: 1 })).status).toBe(400);
  });
});
