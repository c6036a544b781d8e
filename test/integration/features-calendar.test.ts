import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directAdminClient } from '../../src/cli/admin-client.ts';
import {
  buildFeatures,
  createOnlineFeatures,
  listConversations,
  readMessages,
  sqlPrefixFeatures,
  type FeatureCalendar,
  type FeatureValue,
} from '../../src/features/index.ts';
import { IBM_DEV, createAnalyticsFixture, type AnalyticsFixture } from '../support/analytics.ts';
import { newId } from '../../src/platform/index.ts';
import { createTestContext, type TestContext } from '../support/context.ts';

// The calendar features (start hour, weekday, season, after hours) in a listing's own time zone,
// weekly hours and holidays: online, materialised and SQL agree on every prefix, and
// `features build` takes the calendar from the ticket database.

let fx: AnalyticsFixture;
let ctx: TestContext;
beforeAll(async () => {
  fx = await createAnalyticsFixture();
  ctx = await createTestContext();
  await fx.ingest({ paths: [IBM_DEV], listingId: 'ibm' });
});
afterAll(async () => {
  await fx.close();
  await ctx.close();
});

const CALENDAR_FEATURES = ['start_hour', 'start_weekday', 'start_season', 'after_hours'];
const split = {
  mon: [
    { open: '09:00', close: '12:00' },
    { open: '13:00', close: '17:30' },
  ],
  tue: [{ open: '09:00', close: '17:30' }],
  wed: [{ open: '09:00', close: '17:30' }],
  thu: [{ open: '09:00', close: '17:30' }],
  fri: [{ open: '09:00', close: '24:00' }],
  sat: [{ open: '10:00', close: '14:00' }],
  sun: [],
} satisfies NonNullable<FeatureCalendar['weekly']>;

async function compare(listingId: string, calendar: FeatureCalendar) {
  await buildFeatures(fx.db, { listingId, calendar });
  const materialised = await fx.db.all<Record<string, FeatureValue>>(
    `SELECT ${CALENDAR_FEATURES.join(', ')} FROM features_prefix WHERE listing_id = $l ORDER BY interaction_id, seq`,
    { l: listingId },
  );
  const fromSql = await sqlPrefixFeatures(fx.db, listingId, calendar);
  const conversations = await listConversations(fx.db, listingId);
  const messages = await readMessages(fx.db, listingId, conversations.map((c) => c.id));
  const mismatches: string[] = [];
  const seen = new Map<string, number>();
  let row = 0;
  let cursor = 0;
  for (const conversation of conversations) {
    const online = createOnlineFeatures({ sourceChannel: conversation.sourceChannel, calendar });
    while (cursor < messages.length && messages[cursor]!.interactionId === conversation.id) {
      online.push(messages[cursor++]!);
      const values = online.snapshot();
      for (const name of CALENDAR_FEATURES) {
        const expected = values[name] ?? null;
        if (materialised[row]![name] !== expected || fromSql[row]![name] !== expected) {
          if (mismatches.length < 10) mismatches.push(`${conversation.id} ${name}: online ${String(expected)}, stored ${String(materialised[row]![name])}, SQL ${String(fromSql[row]![name])}`);
        }
      }
      const key = `after_hours=${String(values.after_hours)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      row++;
    }
  }
  return { mismatches, seen, rows: row };
}

describe('calendar features', () => {
  it('agree online, materialised and in SQL in a listing zone with split weekly hours and holidays', async () => {
    // Holidays on days the IBM threads were written (2017).
    const days = await fx.db.all<{ day: string }>(
      "SELECT DISTINCT strftime(timezone('America/New_York', ts), '%Y-%m-%d') AS day FROM messages WHERE listing_id = 'ibm' AND ts IS NOT NULL ORDER BY 1 LIMIT 3",
    );
    const calendar: FeatureCalendar = { timeZone: 'America/New_York', weekly: split, holidays: days.map((d) => d.day) };
    const result = await compare('ibm', calendar);
    expect(result.mismatches).toEqual([]);
    expect(result.seen.get('after_hours=true')).toBeGreaterThan(0);
    expect(result.seen.get('after_hours=false')).toBeGreaterThan(0);
    // The default hours and another zone agree too.
    expect((await compare('ibm', { timeZone: 'Asia/Kolkata', weekly: null, holidays: [] })).mismatches).toEqual([]);
  });

  it('takes the zone, weekly hours and holidays from the ticket database', async () => {
    const { listingId } = await ctx.seedListing();
    await ctx.services.schedule.putSchedule(listingId, { timezone: 'Europe/Berlin', weekly: split });
    // Holidays are added for today or later through the API; history needs a past one.
    await ctx.db.query("INSERT INTO listing_holidays (id, listing_id, day, name) VALUES ($1, $2, '2024-12-24', 'Christmas Eve')", [newId(), listingId]);
    const calendar = await directAdminClient(ctx.services).listingCalendar(listingId);
    expect(calendar).toEqual({ timeZone: 'Europe/Berlin', weekly: split, holidays: ['2024-12-24'] });
    expect(await directAdminClient(ctx.services).listingCalendar('no-such-listing')).toBeUndefined();

    const lines = [
      // Monday 2024-12-23 08:30 UTC = 09:30 in Berlin: open.
      { id: 'open', messages: [{ role: 'customer', text: 'hi', ts: '2024-12-23T08:30:00Z' }] },
      // Monday 11:30 UTC = 12:30 in Berlin: the lunch break.
      { id: 'lunch', messages: [{ role: 'customer', text: 'hi', ts: '2024-12-23T11:30:00Z' }] },
      // Tuesday 2024-12-24, 10:00 in Berlin: a holiday.
      { id: 'holiday', messages: [{ role: 'customer', text: 'hi', ts: '2024-12-24T09:00:00Z' }] },
      // Friday 23:30 in Berlin (open until midnight); Saturday 15:00 in Berlin (closed).
      { id: 'late', messages: [{ role: 'customer', text: 'hi', ts: '2024-12-27T22:30:00Z' }] },
      { id: 'weekend', messages: [{ role: 'customer', text: 'hi', ts: '2024-12-28T14:00:00Z' }] },
    ];
    const file = path.join(fx.dir, 'berlin.jsonl');
    await writeFile(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    await fx.ingest({ paths: [file], listingId });
    const summary = await buildFeatures(fx.db, { listingId, calendar: calendar! });
    expect(summary).toMatchObject({ timeZone: 'Europe/Berlin', schedule: 'listing', holidays: 1 });
    const rows = await fx.db.all<{ interaction_id: string; after_hours: boolean; start_hour: number }>(
      'SELECT interaction_id, after_hours, start_hour FROM features_conversation WHERE listing_id = $l ORDER BY interaction_id',
      { l: listingId },
    );
    expect(rows).toEqual([
      { interaction_id: 'holiday', after_hours: true, start_hour: 10 },
      { interaction_id: 'late', after_hours: false, start_hour: 23 },
      { interaction_id: 'lunch', after_hours: true, start_hour: 12 },
      { interaction_id: 'open', after_hours: false, start_hour: 9 },
      { interaction_id: 'weekend', after_hours: true, start_hour: 15 },
    ]);
    expect((await compare(listingId, calendar!)).mismatches).toEqual([]);

    // Without weekly hours: Monday–Friday 08:00–18:00 local time, holidays still closed.
    await ctx.services.schedule.clearSchedule(listingId);
    const cleared = (await directAdminClient(ctx.services).listingCalendar(listingId))!;
    expect(cleared.weekly).toBeNull();
    expect(await buildFeatures(fx.db, { listingId, calendar: cleared })).toMatchObject({ schedule: 'default' });
    const defaults = await fx.db.all<{ interaction_id: string; after_hours: boolean }>(
      'SELECT interaction_id, after_hours FROM features_conversation WHERE listing_id = $l ORDER BY interaction_id',
      { l: listingId },
    );
    expect(defaults).toEqual([
      { interaction_id: 'holiday', after_hours: true },
      { interaction_id: 'late', after_hours: true },
      { interaction_id: 'lunch', after_hours: false },
      { interaction_id: 'open', after_hours: false },
      { interaction_id: 'weekend', after_hours: true },
    ]);
  });
});
