import type { Queryable } from '../platform/index.ts';
import type { Schedule, WeeklyHours } from './business-hours.ts';
import type { HolidayView, ScheduleView } from './schedule.schemas.ts';

export interface ScheduleRow {
  timezone: string;
  weekly: ScheduleView['weekly'];
  updated_at: Date | null;
}

/** The listing's time zone with its weekly hours (null when none are set); undefined: no listing. */
export async function findSchedule(db: Queryable, listingId: string): Promise<ScheduleRow | undefined> {
  const { rows } = await db.query<ScheduleRow>(
    `SELECT l.timezone, s.weekly, s.updated_at
       FROM listings l LEFT JOIN listing_schedules s ON s.listing_id = l.id
      WHERE l.id = $1`,
    [listingId],
  );
  return rows[0];
}

export async function upsertSchedule(db: Queryable, listingId: string, weekly: WeeklyHours): Promise<void> {
  await db.query(
    `INSERT INTO listing_schedules (listing_id, weekly) VALUES ($1, $2::jsonb)
     ON CONFLICT (listing_id) DO UPDATE SET weekly = EXCLUDED.weekly, updated_at = now()`,
    [listingId, JSON.stringify(weekly)],
  );
}

export async function deleteSchedule(db: Queryable, listingId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM listing_schedules WHERE listing_id = $1', [listingId]);
  return rowCount > 0;
}

/** Locks the listing row, so concurrent schedule writes apply one after the other. */
export async function lockListingTimezone(db: Queryable, listingId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ timezone: string }>('SELECT timezone FROM listings WHERE id = $1 FOR UPDATE', [listingId]);
  return rows[0]?.timezone;
}

export async function setListingTimezone(db: Queryable, listingId: string, timezone: string): Promise<void> {
  await db.query('UPDATE listings SET timezone = $2, updated_at = now() WHERE id = $1', [listingId, timezone]);
}

interface HolidayRow {
  id: string;
  date: string;
  name: string;
  created_at: Date;
}

const toHolidayView = (row: HolidayRow): HolidayView => ({ id: row.id, date: row.date, name: row.name, createdAt: row.created_at });

// `day::text` keeps dates as the plain "YYYY-MM-DD" they are; the drivers would turn a `date` into
// a Date at some machine's local midnight.
const HOLIDAY_COLUMNS = 'id, day::text AS date, name, created_at';

/** Holidays on or after a local date, in date order. */
export async function listHolidays(db: Queryable, listingId: string, fromDate: string): Promise<HolidayView[]> {
  const { rows } = await db.query<HolidayRow>(
    `SELECT ${HOLIDAY_COLUMNS} FROM listing_holidays WHERE listing_id = $1 AND day >= $2::date ORDER BY day`,
    [listingId, fromDate],
  );
  return rows.map(toHolidayView);
}

export async function insertHoliday(db: Queryable, holiday: { id: string; listingId: string; date: string; name: string }): Promise<HolidayView> {
  const { rows } = await db.query<HolidayRow>(
    `INSERT INTO listing_holidays (id, listing_id, day, name) VALUES ($1, $2, $3::date, $4) RETURNING ${HOLIDAY_COLUMNS}`,
    [holiday.id, holiday.listingId, holiday.date, holiday.name],
  );
  return toHolidayView(rows[0]!);
}

export async function deleteHoliday(db: Queryable, listingId: string, id: string): Promise<HolidayView | undefined> {
  const { rows } = await db.query<HolidayRow>(
    `DELETE FROM listing_holidays WHERE listing_id = $1 AND id = $2 RETURNING ${HOLIDAY_COLUMNS}`,
    [listingId, id],
  );
  return rows[0] && toHolidayView(rows[0]);
}

/** What business-hours arithmetic needs about a listing. */
export interface BusinessCalendar {
  schedule: Schedule;
  holidays: Array<{ date: string }>;
}

/**
 * The listing's calendar with the holidays from `since` on. The date filter starts a day before
 * `since` in UTC, which covers its local date in any zone (offsets stay within ±14 h).
 */
export async function loadCalendar(db: Queryable, listingId: string, since: Date): Promise<BusinessCalendar | undefined> {
  const schedule = await findSchedule(db, listingId);
  if (!schedule) return undefined;
  const { rows } = await db.query<{ date: string }>(
    `SELECT day::text AS date FROM listing_holidays WHERE listing_id = $1 AND day >= $2::date - 1 ORDER BY day`,
    [listingId, since.toISOString().slice(0, 10)],
  );
  return { schedule: { timezone: schedule.timezone, weekly: schedule.weekly }, holidays: rows };
}

export interface Staffing {
  onlineCsrs: number;
  freeCapacity: number;
  waitingTickets: number;
}

/** Who is online, how many more tickets they can take, and how many tickets wait. */
export async function loadStaffing(db: Queryable, listingId: string): Promise<Staffing> {
  const { rows } = await db.query<{ online_csrs: number; free_capacity: number; waiting_tickets: number }>(
    `SELECT
       (SELECT count(*)::int FROM csrs WHERE listing_id = $1 AND presence = 'online') AS online_csrs,
       (SELECT COALESCE(sum(GREATEST(c.capacity - (SELECT count(*) FROM tickets t
                                                    WHERE t.listing_id = c.listing_id AND t.csr_id = c.id
                                                      AND t.status = 'assigned'), 0)), 0)::int
          FROM csrs c WHERE c.listing_id = $1 AND c.presence = 'online') AS free_capacity,
       (SELECT count(*)::int FROM tickets WHERE listing_id = $1 AND status = 'waiting') AS waiting_tickets`,
    [listingId],
  );
  const row = rows[0];
  return { onlineCsrs: row?.online_csrs ?? 0, freeCapacity: row?.free_capacity ?? 0, waitingTickets: row?.waiting_tickets ?? 0 };
}

export async function countOnlineCsrs(db: Queryable, listingId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM csrs WHERE listing_id = $1 AND presence = 'online'`, [listingId]);
  return rows[0]?.n ?? 0;
}
