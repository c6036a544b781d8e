import { messageKinds, senderRoles } from '../messages/index.ts';
import { weekdays } from '../schedule/index.ts';
import {
  DEFAULT_BUSINESS_HOURS,
  defineFeature,
  openByDefault,
  type AnalyzedMessage,
  type CalendarParts,
  type Feature,
  type FeatureCalendar,
  type FeatureContext,
  type SparseFeatureDefinition,
} from './feature.ts';
import { INTENT_LEXICON, NGRAM_BUCKETS, intents, ngramCounts } from './text.ts';

/**
 * The dense features, each defined once. SQL forms are window aggregates over the base columns of
 * features.sql.ts (role, kind, channel, ts_ms, txt, len, has_attachment, prev_role, prev_ts_ms,
 * prev_channel, voice_before, source_channel), evaluated over the conversation's messages so far.
 *
 * Conventions: counts are integers; means and times are floats, null while undefined (no message
 * of that role yet, no timestamps); times are seconds.
 */

/** Channels that get their own count column; any other is counted under "other". */
export const KNOWN_CHANNELS = ['chat', 'sms', 'voice', 'email', 'ivr', 'twitter'] as const;
const VOICE_CHANNELS: ReadonlySet<string> = new Set(['ivr', 'voice']);
const MULTIMEDIA_KINDS: ReadonlySet<string> = new Set(['voice', 'image', 'video', 'file']);
const knownChannels: ReadonlySet<string> = new Set(KNOWN_CHANNELS);

const sqlString = (value: string) => `'${value.replace(/'/g, "''")}'`;

function counter(name: string, description: string, test: (message: AnalyzedMessage) => boolean, sqlWhere: string | undefined): Feature {
  return defineFeature<number>({
    name,
    description,
    type: 'int',
    version: 1,
    nullable: false,
    initState: () => 0,
    update: (count, message) => (test(message) ? count + 1 : count),
    value: (count) => count,
    ...(sqlWhere ? { sql: `count(*) FILTER (WHERE ${sqlWhere}) OVER upto` } : {}),
  });
}

interface SumState {
  sum: number;
  count: number;
}
function lengthFeatures(role: string): Feature[] {
  return [
    defineFeature<SumState>({
      name: `chars_total_${role}`,
      description: `Characters (Unicode code points) of text, or of the transcript for voice, over ${role} messages`,
      type: 'int',
      version: 1,
      nullable: false,
      initState: () => ({ sum: 0, count: 0 }),
      update: (state, message) => {
        if (message.role === role) state.sum += message.chars;
        return state;
      },
      value: (state) => state.sum,
      sql: `coalesce(sum(len) FILTER (WHERE role = ${sqlString(role)}) OVER upto, 0)`,
    }),
    defineFeature<SumState>({
      name: `chars_mean_${role}`,
      description: `Mean characters per ${role} message; null before the first`,
      type: 'float',
      version: 1,
      nullable: true,
      initState: () => ({ sum: 0, count: 0 }),
      update: (state, message) => {
        if (message.role === role) {
          state.sum += message.chars;
          state.count++;
        }
        return state;
      },
      value: (state) => (state.count === 0 ? null : state.sum / state.count),
      sql: `avg(len) FILTER (WHERE role = ${sqlString(role)}) OVER upto`,
    }),
  ];
}

interface ToneState {
  first: number;
  last: number;
  min: number;
  sum: number;
  count: number;
}
function toneFeature(name: string, description: string, value: (state: ToneState) => number): Feature {
  return defineFeature<ToneState>({
    name,
    description,
    type: 'float',
    version: 1,
    nullable: true,
    initState: () => ({ first: 0, last: 0, min: 0, sum: 0, count: 0 }),
    update: (state, message) => {
      if (message.role !== 'customer') return state;
      if (state.count === 0) {
        state.first = message.tone;
        state.min = message.tone;
      } else if (message.tone < state.min) state.min = message.tone;
      state.last = message.tone;
      state.sum += message.tone;
      state.count++;
      return state;
    },
    value: (state) => (state.count === 0 ? null : value(state)),
  });
}

interface GapState {
  prevRole: string | null;
  prevTs: number | null;
  sum: number;
  count: number;
}
/** Mean seconds between a message of `from` roles and the `to` message that directly follows it. */
function gapFeature(name: string, description: string, to: string, from: ReadonlySet<string>, sqlFrom: string): Feature {
  return defineFeature<GapState>({
    name,
    description,
    type: 'float',
    version: 1,
    nullable: true,
    initState: () => ({ prevRole: null, prevTs: null, sum: 0, count: 0 }),
    update: (state, message) => {
      if (message.role === to && state.prevRole !== null && from.has(state.prevRole) && state.prevTs !== null && message.tsMs !== null) {
        state.sum += (message.tsMs - state.prevTs) / 1000;
        state.count++;
      }
      state.prevRole = message.role;
      state.prevTs = message.tsMs;
      return state;
    },
    value: (state) => (state.count === 0 ? null : state.sum / state.count),
    sql: `avg((ts_ms - prev_ts_ms) / 1000) FILTER (WHERE role = ${sqlString(to)} AND prev_role IN (${sqlFrom})) OVER upto`,
  });
}

interface SpanState {
  first: number | null;
  last: number | null;
}
function spanUpdate(state: SpanState, message: AnalyzedMessage): SpanState {
  if (message.tsMs !== null) {
    if (state.first === null) state.first = message.tsMs;
    state.last = message.tsMs;
  }
  return state;
}
/** A calendar part of the conversation start (its first timestamped message), fixed once known. */
function startFeature(
  name: string,
  description: string,
  type: 'int' | 'category',
  part: (calendar: CalendarParts) => number | string,
  sql: (calendar: FeatureCalendar) => string,
): Feature {
  return defineFeature<{ known: boolean; value: number | string | null }>({
    name,
    description,
    type,
    version: 1,
    nullable: true,
    initState: () => ({ known: false, value: null }),
    update: (state, message, context) => {
      if (!state.known && message.tsMs !== null) {
        state.known = true;
        state.value = part(context.calendar(message.tsMs));
      }
      return state;
    },
    value: (state) => state.value,
    sql,
  });
}

/** Meteorological seasons of the northern hemisphere, by month. */
export function seasonOf(month: number): 'winter' | 'spring' | 'summer' | 'autumn' {
  if (month === 12 || month <= 2) return 'winter';
  if (month <= 5) return 'spring';
  if (month <= 8) return 'summer';
  return 'autumn';
}

// The start instant as a wall-clock time in the listing's zone (a naive TIMESTAMP): make_timestamp
// reads the epoch as UTC, timezone() converts it exactly.
const START_UTC = 'make_timestamp(CAST(first_value(ts_ms IGNORE NULLS) OVER upto AS BIGINT) * 1000)';
function startLocal(calendar: FeatureCalendar): string {
  return calendar.timeZone === 'UTC' ? START_UTC : `timezone(${sqlString(calendar.timeZone)}, timezone('UTC', ${START_UTC}))`;
}

/** SQL true when the listing is open at the wall-clock time `local`, as business-hours.ts decides. */
function openSql(calendar: FeatureCalendar, local: string): string {
  const seconds = (clock: string) => Number(clock.slice(0, 2)) * 3600 + Number(clock.slice(3, 5)) * 60;
  const weekly = calendar.weekly ?? DEFAULT_BUSINESS_HOURS;
  const second = `(hour(${local}) * 3600 + minute(${local}) * 60 + second(${local}))`;
  const days = weekdays
    .map((day, index) => {
      const intervals = weekly[day].map((interval) => `(${second} >= ${seconds(interval.open)} AND ${second} < ${seconds(interval.close)})`);
      return `WHEN ${index + 1} THEN ${intervals.length > 0 ? intervals.join(' OR ') : 'false'}`;
    })
    .join(' ');
  const holiday = calendar.holidays.length > 0 ? `strftime(${local}, '%Y-%m-%d') NOT IN (${calendar.holidays.map(sqlString).join(', ')}) AND ` : '';
  return `(${holiday}CASE isodow(${local}) ${days} END)`;
}

function flagFeature(name: string, description: string, test: (message: AnalyzedMessage, context: FeatureContext) => boolean, sql?: string): Feature {
  return defineFeature<boolean>({
    name,
    description,
    type: 'bool',
    version: 1,
    nullable: false,
    initState: () => false,
    update: (seen, message, context) => seen || test(message, context),
    value: (seen) => seen,
    ...(sql ? { sql } : {}),
  });
}

function firstSeqFeature(name: string, description: string, test: (message: AnalyzedMessage) => boolean, sql?: string): Feature {
  return defineFeature<number | null>({
    name,
    description,
    type: 'int',
    version: 1,
    nullable: true,
    initState: () => null,
    update: (seq, message) => (seq === null && test(message) ? message.seq : seq),
    value: (seq) => seq,
    ...(sql ? { sql } : {}),
  });
}

export const denseFeatures: readonly Feature[] = [
  counter('message_count', 'Messages so far', () => true, 'true'),
  ...senderRoles.map((role) => counter(`message_count_${role}`, `Messages sent by ${role === 'csr' ? 'a CSR' : `the ${role}`}`, (m) => m.role === role, `role = ${sqlString(role)}`)),
  ...messageKinds.map((kind) => counter(`message_count_kind_${kind}`, `Messages of kind ${kind}`, (m) => m.kind === kind, `kind = ${sqlString(kind)}`)),
  ...KNOWN_CHANNELS.map((channel) => counter(`message_count_channel_${channel}`, `Messages on channel ${channel}`, (m) => m.channel === channel, `channel = ${sqlString(channel)}`)),
  counter(
    'message_count_channel_other',
    `Messages on a channel other than ${KNOWN_CHANNELS.join(', ')}`,
    (m) => m.channel !== null && !knownChannels.has(m.channel),
    `channel IS NOT NULL AND channel NOT IN (${KNOWN_CHANNELS.map(sqlString).join(', ')})`,
  ),
  counter('message_count_channel_none', 'Messages without a channel', (m) => m.channel === null, 'channel IS NULL'),
  ...senderRoles.flatMap((role) => lengthFeatures(role)),
  defineFeature<{ prev: string | null; changes: number }>({
    name: 'speaker_changes',
    description: 'Turns: messages whose sender role differs from the previous message\'s',
    type: 'int',
    version: 1,
    nullable: false,
    initState: () => ({ prev: null, changes: 0 }),
    update: (state, message) => {
      if (state.prev !== null && state.prev !== message.role) state.changes++;
      state.prev = message.role;
      return state;
    },
    value: (state) => state.changes,
    sql: 'count(*) FILTER (WHERE prev_role IS NOT NULL AND role <> prev_role) OVER upto',
  }),
  counter('question_count_customer', 'Customer messages containing "?"', (m) => m.role === 'customer' && m.question, "role = 'customer' AND contains(txt, '?')"),
  counter('question_count_csr', 'CSR messages containing "?"', (m) => m.role === 'csr' && m.question, "role = 'csr' AND contains(txt, '?')"),
  counter('exclamation_count_customer', 'Customer messages containing "!"', (m) => m.role === 'customer' && m.exclamation, "role = 'customer' AND contains(txt, '!')"),
  counter('exclamation_count_csr', 'CSR messages containing "!"', (m) => m.role === 'csr' && m.exclamation, "role = 'csr' AND contains(txt, '!')"),
  defineFeature<number>({
    name: 'caps_words_customer',
    description: 'Words of 3+ letters written all in capitals in customer messages (shouting)',
    type: 'int',
    version: 1,
    nullable: false,
    initState: () => 0,
    update: (count, message) => (message.role === 'customer' ? count + message.capsWords : count),
    value: (count) => count,
  }),
  defineFeature<number>({
    name: 'words_customer',
    description: 'Words in customer messages (denominator for rates of the markers)',
    type: 'int',
    version: 1,
    nullable: false,
    initState: () => 0,
    update: (count, message) => (message.role === 'customer' ? count + message.words.length : count),
    value: (count) => count,
  }),
  toneFeature('tone_last', 'Tone of the latest customer message: AFINN-165 score with negation, per word (text.ts scoreTone)', (s) => s.last),
  toneFeature('tone_min', 'Lowest customer-message tone so far', (s) => s.min),
  toneFeature('tone_mean', 'Mean customer-message tone so far', (s) => s.sum / s.count),
  toneFeature('tone_trend', 'Tone of the latest customer message minus that of the first', (s) => s.last - s.first),
  defineFeature<{ first: number | null; replied: boolean; wait: number | null }>({
    name: 'wait_first_csr_s',
    description:
      'Seconds from the first timestamped message to the first CSR message; null before a CSR replies or when either has no timestamp',
    type: 'float',
    version: 1,
    nullable: true,
    initState: () => ({ first: null, replied: false, wait: null }),
    update: (state, message) => {
      if (state.first === null && message.tsMs !== null) state.first = message.tsMs;
      if (!state.replied && message.role === 'csr') {
        state.replied = true;
        state.wait = message.tsMs !== null && state.first !== null ? (message.tsMs - state.first) / 1000 : null;
      }
      return state;
    },
    value: (state) => state.wait,
    sql: "(arg_min_null(ts_ms, seq) FILTER (WHERE role = 'csr') OVER upto - first_value(ts_ms IGNORE NULLS) OVER upto) / 1000",
  }),
  gapFeature(
    'csr_gap_mean_s',
    'Mean seconds from a customer message to the CSR message right after it (pairs with both timestamps); null when none',
    'csr',
    new Set(['customer']),
    "'customer'",
  ),
  gapFeature(
    'customer_gap_mean_s',
    'Mean seconds from a CSR or bot message to the customer message right after it (pairs with both timestamps); null when none',
    'customer',
    new Set(['csr', 'bot']),
    "'csr', 'bot'",
  ),
  defineFeature<SpanState>({
    name: 'duration_s',
    description: 'Seconds from the first to the latest timestamped message; null without timestamps',
    type: 'float',
    version: 1,
    nullable: true,
    initState: () => ({ first: null, last: null }),
    update: spanUpdate,
    value: (state) => (state.first === null || state.last === null ? null : (state.last - state.first) / 1000),
    sql: '(last_value(ts_ms IGNORE NULLS) OVER upto - first_value(ts_ms IGNORE NULLS) OVER upto) / 1000',
  }),
  startFeature('start_hour', 'Hour (0–23) of the first timestamped message, in the listing time zone (UTC by default)', 'int', (c) => c.hour, (cal) => `hour(${startLocal(cal)})`),
  startFeature('start_weekday', 'ISO weekday (1 Monday … 7 Sunday) of the first timestamped message', 'int', (c) => c.weekday, (cal) => `isodow(${startLocal(cal)})`),
  startFeature(
    'start_season',
    'Meteorological season (northern hemisphere) of the first timestamped message: winter (Dec–Feb), spring, summer, autumn',
    'category',
    (c) => seasonOf(c.month),
    (cal) => {
      const start = startLocal(cal);
      return `CASE WHEN month(${start}) IN (12, 1, 2) THEN 'winter' WHEN month(${start}) <= 5 THEN 'spring' WHEN month(${start}) <= 8 THEN 'summer' WHEN month(${start}) <= 11 THEN 'autumn' END`;
    },
  ),
  defineFeature<string | null>({
    name: 'source_channel',
    description: 'How the conversation began (interaction source.channel: app, website, social, ivr, email, sms, livechat, bot)',
    type: 'category',
    version: 1,
    nullable: true,
    initState: () => null,
    update: (_state, _message, context) => context.sourceChannel,
    value: (channel) => channel,
    sql: 'any_value(source_channel) OVER upto',
  }),
  defineFeature<{ prev: string | null; changes: number }>({
    name: 'channel_changes',
    description: 'Messages on a different channel from the previous message that had one',
    type: 'int',
    version: 1,
    nullable: false,
    initState: () => ({ prev: null, changes: 0 }),
    update: (state, message) => {
      if (message.channel !== null) {
        if (state.prev !== null && state.prev !== message.channel) state.changes++;
        state.prev = message.channel;
      }
      return state;
    },
    value: (state) => state.changes,
    sql: 'count(*) FILTER (WHERE channel IS NOT NULL AND prev_channel IS NOT NULL AND channel <> prev_channel) OVER upto',
  }),
  defineFeature<{ voice: boolean; converted: boolean }>({
    name: 'ivr_converted',
    description: 'A call (source channel ivr, or a message on channel ivr or voice) continued on another channel (chat, sms, …)',
    type: 'bool',
    version: 1,
    nullable: false,
    initState: () => ({ voice: false, converted: false }),
    update: (state, message, context) => {
      if (context.sourceChannel === 'ivr') state.voice = true;
      if (message.channel !== null) {
        if (VOICE_CHANNELS.has(message.channel)) state.voice = true;
        else if (state.voice) state.converted = true;
      }
      return state;
    },
    value: (state) => state.converted,
    sql: "coalesce(bool_or(channel IS NOT NULL AND channel NOT IN ('ivr', 'voice') AND (voice_before OR source_channel = 'ivr')) OVER upto, false)",
  }),
  counter(
    'multimedia_count',
    'Messages of kind voice, image, video or file, or carrying an attachment',
    (m) => MULTIMEDIA_KINDS.has(m.kind) || m.hasAttachment,
    "kind IN ('voice', 'image', 'video', 'file') OR has_attachment",
  ),
  ...intents.map((intent, index) =>
    flagFeature(
      `intent_${intent}`,
      `A customer message contains one of: ${INTENT_LEXICON[intent].map((entry) => `"${entry}"`).join(', ')}`,
      (m) => m.role === 'customer' && (m.intents & (1 << index)) !== 0,
    ),
  ),
  firstSeqFeature(
    'csr_first_question_seq',
    'Position (1-based message index) of the first CSR message containing "?"; null before one',
    (m) => m.role === 'csr' && m.question,
    "min(seq) FILTER (WHERE role = 'csr' AND contains(txt, '?')) OVER upto",
  ),
  firstSeqFeature(
    'csr_first_diagnostic_seq',
    'Position of the first CSR message asking a diagnostic question: a question sentence that is not a greeting or closing formula (text.ts COURTESY_QUESTIONS); null before one',
    (m) => m.role === 'csr' && m.diagnosticQuestion,
  ),
  // Appended last, so that the positions of the features before it stay as they were.
  defineFeature<{ known: boolean; value: boolean | null }>({
    name: 'after_hours',
    description:
      "The first timestamped message came outside the listing's business hours: its weekly schedule and holidays (the ticket core's), in its time zone; a listing without weekly hours is taken to open Monday–Friday 08:00–18:00 local time, holidays still closed. Null before a timestamped message",
    type: 'bool',
    version: 1,
    nullable: true,
    initState: () => ({ known: false, value: null }),
    update: (state, message, context) => {
      if (!state.known && message.tsMs !== null) {
        state.known = true;
        state.value = !(context.isOpen ? context.isOpen(message.tsMs) : openByDefault(context.calendar(message.tsMs)));
      }
      return state;
    },
    value: (state) => state.value,
    sql: (calendar) => `NOT ${openSql(calendar, startLocal(calendar))}`,
  }),
];

export const ngramFeature: SparseFeatureDefinition = {
  name: 'word_ngrams',
  description: `Hashed word unigrams and bigrams of all messages (lower-cased words; bigrams within a message), FNV-1a 32-bit into ${NGRAM_BUCKETS} buckets (2^18): a sparse map bucket → count`,
  type: 'sparse',
  version: 1,
  buckets: NGRAM_BUCKETS,
  delta: (message) => ngramCounts(message.words),
};
