import type { MessageKind, SenderRole } from '../messages/index.ts';
import { isBusinessOpen, type WeeklyHours } from '../schedule/index.ts';
import { capsWords, codePoints, intentBits, isDiagnosticQuestion, scoreTone, tokenize, wordsOf } from './text.ts';

/**
 * A feature is defined once: its name, meaning, type and version, an online form (a state updated
 * message by message) and, where one exists, an independent SQL form (a window aggregate over the
 * messages so far) that the batch path and the parity test use.
 */

export type FeatureType = 'int' | 'float' | 'bool' | 'category';
export type FeatureValue = number | boolean | string | null;

/** One message as the features see it (from the canonical record or the `messages` table). */
export interface FeatureMessage {
  role: SenderRole;
  kind: MessageKind;
  channel: string | null;
  /** Epoch milliseconds, or null when the source had no timestamp. */
  tsMs: number | null;
  /** `text`, else the voice transcript, else "". */
  text: string;
  hasAttachment: boolean;
}

/** A message with its text analysed once, shared by every feature. */
export interface AnalyzedMessage extends FeatureMessage {
  /** 1-based position in the conversation. */
  seq: number;
  /** Lower-cased words (no punctuation). */
  words: string[];
  /** Code points of the text (DuckDB's length()). */
  chars: number;
  /** Sentiment, AFINN with negation, per word. */
  tone: number;
  question: boolean;
  exclamation: boolean;
  capsWords: number;
  /** Bits of `intents` present in the text. */
  intents: number;
  /** A question that is not a greeting or closing formula. */
  diagnosticQuestion: boolean;
}

export interface CalendarParts {
  /** 0–23 */
  hour: number;
  /** ISO weekday: 1 Monday … 7 Sunday */
  weekday: number;
  /** 1–12 */
  month: number;
}

/** What the features may know about the conversation besides its messages. */
export interface FeatureContext {
  sourceChannel: string | null;
  /** Local calendar of an instant in the listing's time zone (UTC unless the listing has one). */
  calendar: (epochMs: number) => CalendarParts;
  /**
   * Whether the listing is open at an instant (its business hours; see FeatureCalendar). Absent:
   * DEFAULT_BUSINESS_HOURS in `calendar`'s zone, without holidays (openByDefault).
   */
  isOpen?: (epochMs: number) => boolean;
}

/** DEFAULT_BUSINESS_HOURS from calendar parts (its hours are whole, so the hour is enough). */
export function openByDefault(parts: CalendarParts): boolean {
  return parts.weekday <= 5 && parts.hour >= 8 && parts.hour < 18;
}

/**
 * A listing's calendar as the features use it: its time zone, its weekly hours and holidays
 * (the ticket core's schedule, src/schedule). A listing without weekly hours gets
 * DEFAULT_BUSINESS_HOURS for the after-hours feature (the ticket core would call it open around
 * the clock, which makes "after hours" meaningless); its holidays still close.
 */
export interface FeatureCalendar {
  timeZone: string;
  weekly: WeeklyHours | null;
  /** Closed local dates, "YYYY-MM-DD". */
  holidays: readonly string[];
}

const weekday = [{ open: '08:00', close: '18:00' }];
/** Monday to Friday, 08:00–18:00 local time. */
export const DEFAULT_BUSINESS_HOURS: WeeklyHours = { mon: weekday, tue: weekday, wed: weekday, thu: weekday, fri: weekday, sat: [], sun: [] };

export const UTC_CALENDAR: FeatureCalendar = { timeZone: 'UTC', weekly: null, holidays: [] };

/** The opening test of a calendar, as business-hours.ts computes it. */
export function openingTest(calendar: FeatureCalendar): (epochMs: number) => boolean {
  // The default hours are whole hours: the local hour and weekday decide (cheap, for live scoring).
  if (calendar.weekly === null && calendar.holidays.length === 0) {
    const parts = zonedCalendar(calendar.timeZone);
    return (epochMs) => openByDefault(parts(epochMs));
  }
  const schedule = { timezone: calendar.timeZone, weekly: calendar.weekly ?? DEFAULT_BUSINESS_HOURS };
  const holidays = calendar.holidays.map((date) => ({ date }));
  return (epochMs) => isBusinessOpen(schedule, holidays, new Date(epochMs));
}

export interface FeatureDefinition<S> {
  name: string;
  description: string;
  type: FeatureType;
  /** Bumped whenever the definition changes meaning; part of the feature-set version. */
  version: number;
  /** null before the feature is defined (e.g. no customer message yet). */
  nullable: boolean;
  initState(): S;
  /**
   * Takes the state after the previous messages and returns it after this one. Deterministic and
   * free of I/O; states are small records owned by one runner, so for speed an update may change
   * the given state in place and return it.
   */
  update(state: S, message: AnalyzedMessage, context: FeatureContext): S;
  value(state: S): FeatureValue;
  /**
   * The same feature as a DuckDB expression of window aggregates, each `OVER upto` (the
   * conversation's messages so far), over the columns of the batch base query (features.sql.ts);
   * a function of the listing's calendar for the calendar features; undefined when only the
   * online form exists.
   */
  sql?: string | ((calendar: FeatureCalendar) => string);
}

/** A definition with its state type erased, as the registry holds it. */
export type Feature = FeatureDefinition<unknown>;

export function defineFeature<S>(definition: FeatureDefinition<S>): Feature {
  return definition as unknown as Feature;
}

export function analyzeMessage(message: FeatureMessage, seq: number): AnalyzedMessage {
  const tokens = tokenize(message.text);
  const words = wordsOf(tokens);
  const question = message.text.includes('?');
  return {
    ...message,
    seq,
    words,
    chars: codePoints(message.text),
    tone: scoreTone(tokens).tone,
    question,
    exclamation: message.text.includes('!'),
    capsWords: capsWords(message.text),
    intents: intentBits(words),
    diagnosticQuestion: question && isDiagnosticQuestion(message.text),
  };
}

/** Calendar parts in a time zone; UTC uses plain Date arithmetic. */
export function zonedCalendar(timeZone = 'UTC'): (epochMs: number) => CalendarParts {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') {
    return (epochMs) => {
      const date = new Date(epochMs);
      const day = date.getUTCDay();
      return { hour: date.getUTCHours(), weekday: day === 0 ? 7 : day, month: date.getUTCMonth() + 1 };
    };
  }
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: 'numeric', weekday: 'short', month: 'numeric' });
  const weekdays: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
  return (epochMs) => {
    const parts: Partial<Record<string, string>> = {};
    for (const part of format.formatToParts(epochMs)) parts[part.type] = part.value;
    return { hour: Number(parts.hour), weekday: weekdays[parts.weekday ?? ''] ?? 0, month: Number(parts.month) };
  };
}

/**
 * A sparse feature (hashed n-grams): a map bucket → count, kept out of the dense vector. Its
 * contribution per message (`delta`) is what the batch stores; the value after a prefix is the
 * sum of the deltas so far.
 */
export interface SparseFeatureDefinition {
  name: string;
  description: string;
  type: 'sparse';
  version: number;
  buckets: number;
  delta(message: AnalyzedMessage): Map<number, number>;
}
