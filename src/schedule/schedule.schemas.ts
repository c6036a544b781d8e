import { z } from 'zod';
import { timezoneSchema } from '../listings/index.ts';
import { parseClockTime, weekdays, type Weekday } from './business-hours.ts';
import { apiSchemas } from '../platform/index.ts';

const CLOCK_TIME = /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/;
const clockTime = z.string().regex(CLOCK_TIME, 'a local time "HH:MM" from 00:00 to 24:00');
// Zod runs refinements even when a field's own format check failed; that failure is reported
// already, so these comparisons treat a malformed time as not comparable.
const seconds = (value: string): number => (CLOCK_TIME.test(value) ? parseClockTime(value) : Number.NaN);

export const openIntervalSchema = z
  .object({ open: clockTime, close: clockTime.describe('Exclusive; "24:00" closes at midnight') })
  .strict()
  .refine((interval) => !(seconds(interval.open) >= seconds(interval.close)), {
    message: 'open must be before close (split intervals that cross midnight over two days)',
    path: ['close'],
  });

const dayHours = z
  .array(openIntervalSchema)
  .max(12)
  .default([])
  .superRefine((intervals, context) => {
    const sorted = [...intervals].sort((a, b) => seconds(a.open) - seconds(b.open));
    for (let index = 1; index < sorted.length; index++) {
      if (seconds(sorted[index]!.open) < seconds(sorted[index - 1]!.close)) {
        context.addIssue({ code: 'custom', message: `intervals overlap at ${sorted[index]!.open}` });
      }
    }
  });

const dayShape = <T extends z.ZodType>(schema: T) =>
  Object.fromEntries(weekdays.map((day) => [day, schema])) as Record<Weekday, T>;

export const weeklyHoursSchema = z
  .object(dayShape(dayHours))
  .strict()
  .describe('Open intervals per weekday in local time; an omitted or empty day is closed');

export const putScheduleBody = z
  .object({
    timezone: timezoneSchema.optional().describe("Sets the listing's IANA time zone; the current one is kept when omitted"),
    weekly: weeklyHoursSchema,
  })
  .strict();

const intervalView = z.object({ open: z.string(), close: z.string() });

export const scheduleView = z
  .object({
    timezone: z.string(),
    weekly: z.object(dayShape(z.array(intervalView))).nullable().describe('null: no schedule, open around the clock except on holidays'),
    updatedAt: z.date().nullable(),
  })
  .register(apiSchemas, { id: 'Schedule' });

const isoDate = z.iso.date().describe('A local date, YYYY-MM-DD');

export const addHolidayBody = z.object({ date: isoDate, name: z.string().trim().min(1).max(200) }).strict();

export const listHolidaysQuery = z
  .object({ from: isoDate.optional().describe("First date to list; defaults to today in the listing's time zone") })
  .strict();

export const holidayView = z.object({ id: z.string(), date: z.string(), name: z.string(), createdAt: z.date() }).register(apiSchemas, { id: 'Holiday' });

export const availabilityView = z
  .object({
    listingId: z.string(),
    at: z.date().describe('The instant this answer describes'),
    timezone: z.string(),
    open: z.boolean().describe('Inside business hours now'),
    nextOpeningAt: z.date().nullable().describe('When business hours next begin; null while open, or when no hours are configured'),
    onlineCsrs: z.number(),
    freeCapacity: z.number().describe('Tickets the online CSRs can still take'),
    waitingTickets: z.number(),
  })
  .register(apiSchemas, { id: 'Availability' });

export type PutScheduleInput = z.output<typeof putScheduleBody>;
export type ScheduleView = z.output<typeof scheduleView>;
export type AddHolidayInput = z.output<typeof addHolidayBody>;
export type HolidayView = z.output<typeof holidayView>;
export type AvailabilityView = z.output<typeof availabilityView>;
