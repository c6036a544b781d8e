import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import { AppError, isUniqueViolation, newId, type Clock, type Database } from '../platform/index.ts';
import { isBusinessOpen, localDate, nextOpening } from './business-hours.ts';
import {
  addHolidayBody,
  putScheduleBody,
  type AddHolidayInput,
  type AvailabilityView,
  type HolidayView,
  type PutScheduleInput,
  type ScheduleView,
} from './schedule.schemas.ts';
import {
  deleteHoliday,
  deleteSchedule,
  findSchedule,
  insertHoliday,
  listHolidays,
  loadCalendar,
  loadStaffing,
  lockListingTimezone,
  setListingTimezone,
  upsertSchedule,
} from './schedule.store.ts';

export interface ScheduleServiceDeps {
  db: Database;
  clock: Clock;
}

/** Business hours of a listing (weekly schedule, holidays) and its live availability. */
export function createScheduleService({ db, clock }: ScheduleServiceDeps) {
  async function view(listingId: string): Promise<ScheduleView> {
    const row = await findSchedule(db, listingId);
    if (!row) throw new AppError('not_found', `Listing ${listingId} not found`);
    return { timezone: row.timezone, weekly: row.weekly, updatedAt: row.updated_at };
  }

  async function timezoneOf(listingId: string): Promise<string> {
    return (await view(listingId)).timezone;
  }

  return {
    getSchedule: view,

    /** Replaces the weekly hours (and, when given, the listing's time zone). */
    async putSchedule(listingId: string, rawInput: PutScheduleInput, actor?: Actor): Promise<ScheduleView> {
      const input = putScheduleBody.parse(rawInput);
      await db.transaction(async (tx) => {
        const currentZone = await lockListingTimezone(tx, listingId);
        if (currentZone === undefined) throw new AppError('not_found', `Listing ${listingId} not found`);
        const timezone = input.timezone ?? currentZone;
        if (timezone !== currentZone) {
          await setListingTimezone(tx, listingId, timezone);
          await appendEvent(tx, {
            listingId,
            name: EventNames.listingUpdated,
            aggregateType: 'listing',
            aggregateId: listingId,
            payload: { timezone },
            ...(actor ? { actor } : {}),
          });
        }
        await upsertSchedule(tx, listingId, input.weekly);
        await appendEvent(tx, {
          listingId,
          name: EventNames.listingScheduleUpdated,
          aggregateType: 'listing',
          aggregateId: listingId,
          payload: { timezone, weekly: input.weekly },
          ...(actor ? { actor } : {}),
        });
      });
      return view(listingId);
    },

    /** Removes the weekly hours: the listing is open around the clock again, holidays aside. */
    async clearSchedule(listingId: string, actor?: Actor): Promise<ScheduleView> {
      await db.transaction(async (tx) => {
        const zone = await lockListingTimezone(tx, listingId);
        if (zone === undefined) throw new AppError('not_found', `Listing ${listingId} not found`);
        if (!(await deleteSchedule(tx, listingId))) return;
        await appendEvent(tx, {
          listingId,
          name: EventNames.listingScheduleUpdated,
          aggregateType: 'listing',
          aggregateId: listingId,
          payload: { timezone: zone, weekly: null },
          ...(actor ? { actor } : {}),
        });
      });
      return view(listingId);
    },

    async listHolidays(listingId: string, query: { from?: string | undefined } = {}): Promise<HolidayView[]> {
      const from = query.from ?? localDate(await timezoneOf(listingId), clock.now());
      return listHolidays(db, listingId, from);
    },

    /** Adds a future holiday (today counts: closing the rest of today is a real need). */
    async addHoliday(listingId: string, rawInput: AddHolidayInput, actor?: Actor): Promise<HolidayView> {
      const input = addHolidayBody.parse(rawInput);
      const today = localDate(await timezoneOf(listingId), clock.now());
      if (input.date < today) throw new AppError('unprocessable', `${input.date} has passed (today is ${today} in the listing's time zone)`);
      try {
        return await db.transaction(async (tx) => {
          const holiday = await insertHoliday(tx, { id: newId(), listingId, date: input.date, name: input.name });
          await appendEvent(tx, {
            listingId,
            name: EventNames.listingHolidayAdded,
            aggregateType: 'listing',
            aggregateId: listingId,
            payload: { holidayId: holiday.id, date: holiday.date, name: holiday.name },
            ...(actor ? { actor } : {}),
          });
          return holiday;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('holiday_exists', `${input.date} is already a holiday`);
        throw error;
      }
    },

    async removeHoliday(listingId: string, id: string, actor?: Actor): Promise<void> {
      await db.transaction(async (tx) => {
        const removed = await deleteHoliday(tx, listingId, id);
        if (!removed) throw new AppError('not_found', `Holiday ${id} not found`);
        await appendEvent(tx, {
          listingId,
          name: EventNames.listingHolidayRemoved,
          aggregateType: 'listing',
          aggregateId: listingId,
          payload: { holidayId: id, date: removed.date },
          ...(actor ? { actor } : {}),
        });
      });
    },

    /** What a chat widget needs to decide whether and how to offer live chat right now. */
    async availability(listingId: string): Promise<AvailabilityView> {
      const at = clock.now();
      const calendar = await loadCalendar(db, listingId, at);
      if (!calendar) throw new AppError('not_found', `Listing ${listingId} not found`);
      const staffing = await loadStaffing(db, listingId);
      const open = isBusinessOpen(calendar.schedule, calendar.holidays, at);
      return {
        listingId,
        at,
        timezone: calendar.schedule.timezone,
        open,
        nextOpeningAt: open ? null : nextOpening(calendar.schedule, calendar.holidays, at),
        ...staffing,
      };
    },
  };
}

export type ScheduleService = ReturnType<typeof createScheduleService>;
