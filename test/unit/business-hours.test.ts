import { describe, expect, it } from 'vitest';
import { isBusinessOpen, localDate, nextOpening, type Schedule, type WeeklyHours } from '../../src/schedule/index.ts';

const closedWeek: WeeklyHours = { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] };
const weekdaysNineToFiveThirty: WeeklyHours = {
  ...closedWeek,
  mon: [{ open: '09:00', close: '17:30' }],
  tue: [{ open: '09:00', close: '12:00' }, { open: '13:00', close: '17:30' }],
  wed: [{ open: '09:00', close: '17:30' }],
  thu: [{ open: '09:00', close: '17:30' }],
  fri: [{ open: '09:00', close: '17:30' }],
};
const berlin = (weekly: WeeklyHours | null): Schedule => ({ timezone: 'Europe/Berlin', weekly });
const at = (iso: string) => new Date(iso);

describe('isBusinessOpen', () => {
  it('reads the weekly hours on the local wall clock, close exclusive', () => {
    const schedule = berlin(weekdaysNineToFiveThirty);
    // Monday 2025-01-06, CET = UTC+1.
    expect(isBusinessOpen(schedule, [], at('2025-01-06T07:59:59Z'))).toBe(false);
    expect(isBusinessOpen(schedule, [], at('2025-01-06T08:00:00Z'))).toBe(true);
    expect(isBusinessOpen(schedule, [], at('2025-01-06T16:29:59Z'))).toBe(true);
    expect(isBusinessOpen(schedule, [], at('2025-01-06T16:30:00Z'))).toBe(false);
    // Tuesday lunch break.
    expect(isBusinessOpen(schedule, [], at('2025-01-07T11:30:00Z'))).toBe(false);
    expect(isBusinessOpen(schedule, [], at('2025-01-07T12:00:00Z'))).toBe(true);
    // Saturday.
    expect(isBusinessOpen(schedule, [], at('2025-01-11T12:00:00Z'))).toBe(false);
  });

  it('treats no weekly hours as always open, except on holidays', () => {
    expect(isBusinessOpen(berlin(null), [], at('2025-01-11T03:00:00Z'))).toBe(true);
    expect(isBusinessOpen(berlin(null), [{ date: '2025-01-11' }], at('2025-01-11T03:00:00Z'))).toBe(false);
    expect(isBusinessOpen(berlin(closedWeek), [], at('2025-01-06T12:00:00Z'))).toBe(false);
  });

  it('closes the whole local day of a holiday, in the listing zone rather than UTC', () => {
    const schedule = berlin(weekdaysNineToFiveThirty);
    const christmas = [{ date: '2025-12-25' }];
    expect(isBusinessOpen(schedule, christmas, at('2025-12-25T10:00:00Z'))).toBe(false);
    expect(isBusinessOpen(schedule, christmas, at('2025-12-26T10:00:00Z'))).toBe(true);
    // 23:30 on the 24th in Los Angeles is already the 25th in UTC: still open there.
    const la: Schedule = { timezone: 'America/Los_Angeles', weekly: { ...closedWeek, wed: [{ open: '20:00', close: '24:00' }] } };
    expect(isBusinessOpen(la, christmas, at('2025-12-25T07:30:00Z'))).toBe(true);
    expect(localDate('America/Los_Angeles', at('2025-12-25T07:30:00Z'))).toBe('2025-12-24');
  });

  it('honours a 24:00 close and back-to-back intervals across midnight', () => {
    const schedule = berlin({ ...closedWeek, fri: [{ open: '22:00', close: '24:00' }], sat: [{ open: '00:00', close: '02:00' }] });
    expect(isBusinessOpen(schedule, [], at('2025-01-10T22:59:59Z'))).toBe(true); // Fri 23:59:59
    expect(isBusinessOpen(schedule, [], at('2025-01-10T23:00:00Z'))).toBe(true); // Sat 00:00
    expect(isBusinessOpen(schedule, [], at('2025-01-11T01:00:00Z'))).toBe(false); // Sat 02:00
  });
});

describe('nextOpening', () => {
  const schedule = berlin(weekdaysNineToFiveThirty);

  it('is the instant itself while open, else the next interval start', () => {
    const open = at('2025-01-06T10:00:00Z');
    expect(nextOpening(schedule, [], open)).toEqual(open);
    expect(nextOpening(schedule, [], at('2025-01-06T06:00:00Z'))).toEqual(at('2025-01-06T08:00:00Z'));
    expect(nextOpening(schedule, [], at('2025-01-07T11:15:00Z'))).toEqual(at('2025-01-07T12:00:00Z'));
    // Friday evening → Monday 09:00.
    expect(nextOpening(schedule, [], at('2025-01-10T17:00:00Z'))).toEqual(at('2025-01-13T08:00:00Z'));
  });

  it('skips holidays, including a run of them', () => {
    const holidays = [{ date: '2025-12-24' }, { date: '2025-12-25' }, { date: '2025-12-26' }];
    // Tuesday 23 Dec after closing → Monday 29 Dec.
    expect(nextOpening(schedule, holidays, at('2025-12-23T17:00:00Z'))).toEqual(at('2025-12-29T08:00:00Z'));
    // Always open but for a holiday → local midnight after it.
    expect(nextOpening(berlin(null), [{ date: '2025-12-25' }], at('2025-12-25T12:00:00Z'))).toEqual(at('2025-12-25T23:00:00Z'));
  });

  it('is null when no day has hours', () => {
    expect(nextOpening(berlin(closedWeek), [], at('2025-01-06T10:00:00Z'))).toBeNull();
  });

  describe('DST in Europe/Berlin', () => {
    it('opens at 09:00 CEST (07:00Z) on the Sunday the clocks spring forward', () => {
      // 2025-03-30 is the last Sunday of March: 02:00 CET becomes 03:00 CEST at 01:00Z.
      const sundays = berlin({ ...closedWeek, sun: [{ open: '09:00', close: '17:00' }] });
      expect(nextOpening(sundays, [], at('2025-03-29T17:00:00Z'))).toEqual(at('2025-03-30T07:00:00Z'));
      expect(isBusinessOpen(sundays, [], at('2025-03-30T06:59:59Z'))).toBe(false);
      expect(isBusinessOpen(sundays, [], at('2025-03-30T07:00:00Z'))).toBe(true);
      // A week earlier the same wall time is an hour later in UTC.
      expect(nextOpening(sundays, [], at('2025-03-22T17:00:00Z'))).toEqual(at('2025-03-23T08:00:00Z'));
    });

    it('opens at the jump when the opening time falls in the skipped hour', () => {
      const night = berlin({ ...closedWeek, sun: [{ open: '02:30', close: '05:00' }] });
      expect(nextOpening(night, [], at('2025-03-29T20:00:00Z'))).toEqual(at('2025-03-30T01:00:00Z'));
      expect(isBusinessOpen(night, [], at('2025-03-30T00:59:59Z'))).toBe(false); // 01:59:59 CET
      expect(isBusinessOpen(night, [], at('2025-03-30T01:00:00Z'))).toBe(true); // 03:00 CEST
      // An interval wholly inside the skipped hour never opens that day.
      const lost = berlin({ ...closedWeek, sun: [{ open: '02:10', close: '02:50' }] });
      expect(nextOpening(lost, [], at('2025-03-29T20:00:00Z'))).toEqual(at('2025-04-06T00:10:00Z'));
    });

    it('opens at the first of the two 02:30s when the clocks fall back', () => {
      // 2025-10-26: 03:00 CEST becomes 02:00 CET at 01:00Z; 02:30 happens at 00:30Z and 01:30Z.
      const night = berlin({ ...closedWeek, sun: [{ open: '02:30', close: '04:00' }] });
      expect(nextOpening(night, [], at('2025-10-25T20:00:00Z'))).toEqual(at('2025-10-26T00:30:00Z'));
      expect(isBusinessOpen(night, [], at('2025-10-26T00:45:00Z'))).toBe(true); // 02:45 CEST
      expect(isBusinessOpen(night, [], at('2025-10-26T01:15:00Z'))).toBe(false); // 02:15 CET, again before 02:30
      // Closed in between, it reopens at the second 02:30.
      expect(nextOpening(night, [], at('2025-10-26T01:15:00Z'))).toEqual(at('2025-10-26T01:30:00Z'));
    });
  });

  it('works in other zones (America/New_York spring forward)', () => {
    const ny: Schedule = { timezone: 'America/New_York', weekly: { ...closedWeek, sun: [{ open: '09:00', close: '17:00' }] } };
    // 2025-03-09: EST→EDT; 09:00 EDT = 13:00Z.
    expect(nextOpening(ny, [], at('2025-03-08T23:00:00Z'))).toEqual(at('2025-03-09T13:00:00Z'));
  });
});
