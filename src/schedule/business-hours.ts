/**
 * Business hours in a listing's IANA time zone, as pure functions of an instant. Wall-clock
 * arithmetic goes through Intl.DateTimeFormat only, so DST is whatever the runtime's tz database
 * says: on a spring-forward day an opening time inside the skipped hour opens when the clocks
 * jump; on a fall-back day a repeated wall time opens at its first occurrence.
 */
export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

/** "HH:MM" local times; `close` is exclusive and may be "24:00". */
export interface OpenInterval {
  open: string;
  close: string;
}

export type WeeklyHours = Readonly<Record<Weekday, readonly OpenInterval[]>>;

export interface Schedule {
  timezone: string;
  /** null: no weekly hours configured, open around the clock (holidays still close). */
  weekly: WeeklyHours | null;
}

/** A closed local day, "YYYY-MM-DD" in the schedule's time zone. */
export interface HolidayDate {
  date: string;
}

const DAY_MS = 86_400_000;
/** Date.getUTCDay() order. */
const byUtcDay: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

// Building a DateTimeFormat costs far more than formatting with one; zones are few and
// formatters are immutable, so memoising them per zone is safe.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock reading at `instantMs`, expressed as if it were a UTC timestamp. */
function wallMs(timeZone: string, instantMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(instantMs)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const hour = fields.hour === 24 ? 0 : (fields.hour ?? 0);
  const wholeSeconds = Date.UTC(fields.year ?? 1970, (fields.month ?? 1) - 1, fields.day ?? 1, hour, fields.minute ?? 0, fields.second ?? 0);
  return wholeSeconds + (((instantMs % 1000) + 1000) % 1000);
}

/** Local day number (days since 1970-01-01) and second of that day. */
function localDayAndSecond(timeZone: string, instantMs: number): { day: number; second: number } {
  const wall = wallMs(timeZone, instantMs);
  const day = Math.floor(wall / DAY_MS);
  return { day, second: Math.floor((wall - day * DAY_MS) / 1000) };
}

const isoDate = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);
const weekdayOf = (day: number): Weekday => byUtcDay[new Date(day * DAY_MS).getUTCDay()]!;

export function parseClockTime(value: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(value);
  if (!match) throw new RangeError(`not an HH:MM time: ${value}`);
  return Number(match[1]) * 3600 + Number(match[2]) * 60;
}

/** The local date of an instant in a time zone, "YYYY-MM-DD". */
export function localDate(timeZone: string, instant: Date): string {
  return isoDate(localDayAndSecond(timeZone, instant.getTime()).day);
}

/**
 * Every instant whose wall clock reads `secondOfDay` on local `day`: one normally, two when the
 * clocks fall back over it. When they spring forward over it, the one instant at which the
 * wall clock first reaches or passes it (the jump itself).
 */
function instantsAtWallTime(timeZone: string, day: number, secondOfDay: number): number[] {
  const target = day * DAY_MS + secondOfDay * 1000;
  // Offsets a day either side bracket any transition near the target (zones change at most a
  // few times a year), so these candidates include every real solution.
  const candidates = [target - DAY_MS, target, target + DAY_MS].map((probe) => target - (wallMs(timeZone, probe) - probe));
  const exact = [...new Set(candidates.filter((candidate) => wallMs(timeZone, candidate) === target))].sort((a, b) => a - b);
  if (exact.length > 0) return exact;
  // A gap: the wall clock jumps from below the target to above it. Find the jump to the second.
  let low = Math.min(...candidates);
  let high = Math.max(...candidates);
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (wallMs(timeZone, middle) >= target) high = middle;
    else low = middle;
  }
  return [high];
}

const allDay: readonly OpenInterval[] = [{ open: '00:00', close: '24:00' }];

function intervalsOn(schedule: Schedule, day: number): readonly OpenInterval[] {
  return schedule.weekly ? schedule.weekly[weekdayOf(day)] : allDay;
}

function holidaySet(holidays: readonly HolidayDate[]): Set<string> {
  return new Set(holidays.map((holiday) => holiday.date));
}

function openAt(schedule: Schedule, holidays: Set<string>, instantMs: number): boolean {
  const { day, second } = localDayAndSecond(schedule.timezone, instantMs);
  if (holidays.has(isoDate(day))) return false;
  return intervalsOn(schedule, day).some((interval) => parseClockTime(interval.open) <= second && second < parseClockTime(interval.close));
}

/** Whether the listing is open at `instant`. */
export function isBusinessOpen(schedule: Schedule, holidays: readonly HolidayDate[], instant: Date): boolean {
  return openAt(schedule, holidaySet(holidays), instant.getTime());
}

/**
 * The first instant at or after `from` at which the listing is open: `from` itself when open,
 * null when it never opens (weekly hours with no interval at all).
 */
export function nextOpening(schedule: Schedule, holidays: readonly HolidayDate[], from: Date): Date | null {
  const closedDays = holidaySet(holidays);
  const fromMs = from.getTime();
  if (openAt(schedule, closedDays, fromMs)) return from;
  const { day: firstDay } = localDayAndSecond(schedule.timezone, fromMs);
  // Each week has at least one open day unless none is configured, and every holiday can
  // cancel at most one of them: this many days always reaches the next opening.
  const horizon = 7 * (closedDays.size + 2);
  for (let day = firstDay; day <= firstDay + horizon; day++) {
    if (closedDays.has(isoDate(day))) continue;
    const starts = intervalsOn(schedule, day)
      .flatMap((interval) => instantsAtWallTime(schedule.timezone, day, parseClockTime(interval.open)))
      .sort((a, b) => a - b);
    for (const start of starts) {
      // An interval can lie wholly inside a skipped hour; then its "start" is not open.
      if (start > fromMs && openAt(schedule, closedDays, start)) return new Date(start);
    }
  }
  return null;
}
