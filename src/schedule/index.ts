export {
  weekdays,
  isBusinessOpen,
  nextOpening,
  localDate,
  parseClockTime,
  type Weekday,
  type OpenInterval,
  type WeeklyHours,
  type Schedule,
  type HolidayDate,
} from './business-hours.ts';
export { createScheduleService, type ScheduleService } from './schedule.service.ts';
export { loadCalendar, countOnlineCsrs, type BusinessCalendar } from './schedule.store.ts';
export {
  putScheduleBody,
  scheduleView,
  addHolidayBody,
  listHolidaysQuery,
  holidayView,
  availabilityView,
  weeklyHoursSchema,
  type PutScheduleInput,
  type ScheduleView,
  type AddHolidayInput,
  type HolidayView,
  type AvailabilityView,
} from './schedule.schemas.ts';
