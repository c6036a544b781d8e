import type { AnalyticsDb } from '../analytics-store/index.ts';
import { listingIdSchema } from '../listings/index.ts';
import { messageKinds, senderRoles } from '../messages/index.ts';
import { sourceChannels } from '../tickets/index.ts';
import { conversionKinds, interactionEventTypes, interactionStatuses, recordPatterns } from './interaction.schemas.ts';
import { stageTables } from './staging.store.ts';
import { EARLIEST, FUTURE_SLACK_MS, SKEW_MS } from './validate.ts';

/**
 * The validation gate and the redaction of the SQL fast path, shared by every format it reads.
 *
 * A format reader first lays its chunk out in an intermediate form, where each field is the JSON
 * text DuckDB's JSON functions give for it (NULL: absent):
 *
 *   lw_ir_rec  (a table) one row per record: idx, line, off, pre_ok, id_j, listing_j, customer_j,
 *              csr_ids_j, external_ids_j, brand_j, queue_j, source_present, source_keys_ok,
 *              source_channel_j, source_app_j, created_j, assigned_j, replied_j, ended_j,
 *              status_j, outcome_present, outcome_keys_ok, resolved_j, abandoned_j,
 *              satisfaction_j, converted_j, conversion_j, outcome_labels_j, messages_ok,
 *              n_messages, events_j
 *   messages   (a query, given to `validate`) one row per message: idx, seq, keys_ok, role_j,
 *              text_j, ts_j, channel_j, kind_j, id_j, csr_id_j, transcript_j, attachment_j,
 *              labels_j, meta_j
 *
 * `pre_ok` and `keys_ok` are the reader's: the record is an object of known members, each once,
 * none null. `validate()` applies the rules of interaction.schemas.ts and validate.ts to the rest
 * and marks each record `ok`; `stage()` writes the ok ones into the staging tables, redacted,
 * exactly as the JS path would have (same columns, same text), and `keptMessages()` is their
 * messages, read in place by the merge.
 *
 * The rules are deliberately one-sided: a record they accept is one the zod schema and
 * validateInteraction accept, with the same values; a record they do not accept (including
 * everything merely unusual) goes to the JS path, which decides with the schema itself and writes
 * the quarantine row in the schema's own words. So the SQL never has to explain a rejection, and
 * it only has to be exact for the common shapes.
 *
 * Reading JSON text directly: DuckDB writes that text itself (it re-serialises what it parsed),
 * so a string is `"…"` with every control character escaped and nothing else escaped but `"` and
 * `\`. A string whose text has no backslash therefore has no control character, and its text is
 * exactly what JSON.stringify writes for it; rules that need either accept only such strings.
 * Byte lengths bound zod's UTF-16 lengths from above, so `strlen(text) - 2 <= n` implies max(n).
 */

const sqlString = (value: string) => `'${value.replace(/'/g, "''")}'`;
/** SQL true when a field's JSON text is one of these strings (an IN list: cheaper than a list lookup). */
const oneOf = (j: string, values: readonly string[]) => `coalesce(${j} IN (${values.map((value) => sqlString(JSON.stringify(value))).join(', ')}), false)`;
const re2 = (pattern: RegExp) => pattern.source.replace(/^\^/, '').replace(/\$$/, '').replace(/\\u([0-9a-fA-F]{4})/g, '\\x{$1}');

// Stricter than zod's pattern (fractions up to microseconds; the leap-year rule left to the cast,
// which refuses 2023-02-29): what both accept, DuckDB and Date.parse read as the same instant.
const TIMESTAMP =
  '[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])';
// Numbers whose text DuckDB and JSON.stringify write alike.
const PLAIN_INT = '-?(?:0|[1-9][0-9]{0,14})';

export const MESSAGE_KEYS = ['role', 'text', 'ts', 'channel', 'kind', 'id', 'csrId', 'transcript', 'attachment', 'labels', 'meta'];
export const RECORD_KEYS = [
  'id',
  'listingId',
  'customerId',
  'csrIds',
  'externalIds',
  'brand',
  'queue',
  'source',
  'createdAt',
  'firstAssignedAt',
  'firstCsrReplyAt',
  'endedAt',
  'status',
  'outcome',
  'messages',
  'events',
];
export const SOURCE_KEYS = ['channel', 'app'];
export const OUTCOME_KEYS = ['resolved', 'abandoned', 'satisfaction', 'converted', 'conversion', 'labels'];
const EVENT_KEYS = ['type', 'ts', 'seq', 'name', 'from', 'to', 'csrId', 'data'];
const ATTACHMENT_KEYS = ['name', 'mimeType', 'sizeBytes', 'url', 'durationSeconds'];

const MACROS = [
  `lw_str(j) AS (j->>'$')`,
  `lw_is_str(j) AS coalesce(starts_with(j, '"'), false)`,
  `lw_plain_str(j) AS (lw_is_str(j) AND NOT contains(j, '\\'))`,
  `lw_is_num(j) AS coalesce(regexp_full_match(j, '-?[0-9][0-9.eE+-]*') AND isfinite(TRY_CAST(j AS DOUBLE)), false)`,
  `lw_is_int(j) AS (lw_is_num(j) AND coalesce(TRY_CAST(j AS DOUBLE) = floor(TRY_CAST(j AS DOUBLE)) AND abs(TRY_CAST(j AS DOUBLE)) <= 9007199254740991, false))`,
  `lw_plain_int(j) AS coalesce(regexp_full_match(j, '${PLAIN_INT}'), false)`,
  `lw_is_bool(j) AS coalesce(j IN ('true', 'false'), false)`,
  `lw_text(j, n) AS (lw_is_str(j) AND strlen(j) - 2 <= n)`,
  // identifier: 1–200 characters, no control characters (U+007F is not escaped in JSON text).
  `lw_ident(j) AS (lw_plain_str(j) AND strlen(j) BETWEEN 3 AND 202 AND NOT contains(j, chr(127)))`,
  `lw_channel(j) AS coalesce(j IN ('"chat"', '"sms"', '"voice"', '"email"', '"ivr"', '"twitter"') OR regexp_full_match(j, '"${re2(recordPatterns.channel)}"'), false)`,
  `lw_ts(j) AS CASE WHEN regexp_full_match(j, '"${TIMESTAMP}"') THEN TRY_CAST(lw_str(j) AS TIMESTAMPTZ) END`,
  `lw_ts_ok(j) AS (lw_ts(j) IS NOT NULL)`,
  `lw_ts_ms(j) AS epoch_ms(lw_ts(j))`,
  // JSON that DuckDB's parser reads but JSON.parse refuses. NaN and infinities need no check:
  // no rule accepts them where a number, a string or a plain JSON value is expected.
  `lw_trailing_comma(s) AS regexp_matches(s, ',\\s*[\\]}]')`,
  // A necessary condition for redactText to change anything (redaction.ts): '@' for e-mail
  // addresses, 7+ digits for phone, card and account numbers, two capitals and two digits for an
  // IBAN. Texts without it are stored as they are, without a call into JS.
  `lw_maybe_pii(s) AS (contains(s, '@') OR regexp_matches(s, '[A-Z]{2}[0-9]{2}|(?:[0-9][^0-9]*){7}'))`,
  `lw_pseudonymized(s, listing) AS CASE WHEN lw_maybe_pii(s) THEN lw_pseudonym(s, listing) ELSE s END`,
  `lw_map(j) AS CASE WHEN starts_with(j, '{') THEN TRY(json_transform(j, '"MAP(VARCHAR, JSON)"')) END`,
  // A flat object (meta, event data; m: lw_map of its text) whose JSON text JSON.stringify writes
  // as it is, with nothing to redact: distinct plain names (not integer-like, which JS orders
  // first, nor __proto__), values plain strings without PII, plain integers or booleans. Others go
  // through lw_json.
  `lw_flat_map(m) AS coalesce(list_bool_and(list_transform(map_entries(m), e ->
     regexp_full_match(e.key, '[A-Za-z_][A-Za-z0-9_.-]{0,63}') AND e.key <> '__proto__'
     AND (lw_plain_int(e.value) OR lw_is_bool(e.value) OR (lw_plain_str(e.value) AND NOT lw_maybe_pii(e.value)))))
     AND len(map_keys(m)) = len(list_distinct(map_keys(m))), cardinality(m) = 0)`,
];

/**
 * SQL that is true when a MAP of an object's members (`lw_map`, or json_transform to
 * MAP(VARCHAR, JSON)) has only `allowed` names, none twice, none null, so that `m['name']` is
 * each member's JSON text: a repeated or unknown name adds an entry that no allowed name's
 * lookup counts, and a null member is a NULL lookup (countOk's reasoning). Much cheaper than
 * checking the list of keys and testing each name's presence in it (two lists per row and member).
 */
export function membersOk(map: string, allowed: readonly string[]): string {
  return countOk(`cardinality(${map})`, allowed.map((name) => `${map}['${name}']`));
}

/**
 * SQL that is true when an object had exactly the members found: `count` (its number of member
 * names, repeats included) equals the number of `fields` that came out non-NULL. A member not in
 * the structure, a repeated one, a null one or one of the wrong kind for a typed field makes the
 * two differ.
 */
export function countOk(count: string, fields: readonly string[]): string {
  return `coalesce(${count} = ${fields.map((field) => `(${field} IS NOT NULL)::INTEGER`).join(' + ')}, false)`;
}

const prepared = new WeakSet<object>();

/** Runs `sql` with the named parameters it uses (DuckDB refuses unused ones). */
async function run(db: AnalyticsDb, sql: string, params: Record<string, string | boolean> = {}): Promise<void> {
  await db.run(sql, Object.fromEntries(Object.entries(params).filter(([name]) => new RegExp(`\\$${name}\\b`).test(sql))));
}

export async function ensureRuleMacros(db: AnalyticsDb): Promise<void> {
  if (prepared.has(db.connection)) return;
  for (const macro of MACROS) await db.run(`CREATE OR REPLACE TEMP MACRO ${macro}`);
  prepared.add(db.connection);
}

const ROLES = senderRoles;
const KINDS = messageKinds;
const SOURCES = sourceChannels;
const STATUSES = interactionStatuses;
const CONVERSIONS = conversionKinds;
const EVENT_TYPES = interactionEventTypes;

/** A JSON text's number (NULL unless it is one; its text starts with a digit or a minus). */
function numberOf(j: string): string {
  return `CASE WHEN regexp_matches(${j}, '^-?[0-9]') THEN TRY_CAST(${j} AS DOUBLE) END`;
}

/** A label's value columns from its JSON text: booleans 1/0 and 'true'/'false', numbers, strings. */
function labelValues(j: string, num: string): string {
  return `CASE WHEN ${j} IN ('true', 'false') THEN (${j} = 'true')::INTEGER::DOUBLE ELSE ${num} END AS value_num,
    CASE WHEN ${j} IN ('true', 'false') THEN CAST(${j} AS VARCHAR) WHEN lw_is_str(${j}) THEN lw_str(${j}) END AS value_text,
    coalesce(lw_is_str(${j}) AND lw_maybe_pii(lw_str(${j})), false) AS value_pii`;
}

/** The outcome's own fields, stored as labels of kind 'outcome' (in the JS path's order). */
const OUTCOME_FIELDS = [
  ['resolved', 'resolved_j'],
  ['abandoned', 'abandoned_j'],
  ['satisfaction', 'satisfaction_j'],
  ['converted', 'converted_j'],
  ['conversion', 'conversion_j'],
] as const;

const ATTACHMENT_SPEC = JSON.stringify(Object.fromEntries(ATTACHMENT_KEYS.map((key) => [key, 'JSON'])));

export interface RuleContext {
  listingId: string;
  now: Date;
}

/**
 * Marks each record of the intermediate form ok or not (`lw_v_rec.ok`), with the tables that
 * `stage()` reads: lw_v_msg, lw_v_evt, lw_v_lab.
 */
export async function validate(db: AnalyticsDb, context: RuleContext, messages: string): Promise<void> {
  // A record naming a listing must name this one, and a valid one (listingIdSchema).
  const params = { listing: context.listingId, listing_ok: listingIdSchema.safeParse(context.listingId).success };
  // Messages. An attachment in the common form (plain strings, integers) is checked and written
  // here; any other goes through lw_json_ok / lw_json, which apply the zod rule itself. (A CASE,
  // not an OR: DuckDB evaluates both sides of an OR, so the JS function would see every value.)
  const a = (key: string) => `a."${key}"`;
  const attachmentSimple = `(starts_with(attachment_j, '{') AND ${countOk('attachment_n', ATTACHMENT_KEYS.map(a))}
    AND (${a('name')} IS NULL OR (lw_plain_str(${a('name')}) AND strlen(${a('name')}) - 2 <= 500))
    AND (${a('mimeType')} IS NULL OR (lw_plain_str(${a('mimeType')}) AND strlen(${a('mimeType')}) - 2 <= 200))
    AND (${a('sizeBytes')} IS NULL OR (lw_plain_int(${a('sizeBytes')}) AND NOT starts_with(${a('sizeBytes')}, '-')))
    AND (${a('url')} IS NULL OR (lw_plain_str(${a('url')}) AND strlen(${a('url')}) - 2 <= 2000))
    AND (${a('durationSeconds')} IS NULL OR (lw_plain_int(${a('durationSeconds')}) AND TRY_CAST(${a('durationSeconds')} AS BIGINT) BETWEEN 0 AND 86400)))`;
  await run(
    db,
    `CREATE OR REPLACE TEMP TABLE lw_v_msg AS
     SELECT idx, seq,
       coalesce(keys_ok
         AND ${oneOf('role_j', ROLES)}
         AND (kind_j IS NULL OR ${oneOf('kind_j', KINDS)})
         AND (text_j IS NULL OR lw_text(text_j, 100000))
         AND (ts_j IS NULL OR ts IS NOT NULL)
         AND (channel_j IS NULL OR lw_channel(channel_j))
         AND (id_j IS NULL OR lw_ident(id_j))
         AND (csr_id_j IS NULL OR lw_ident(csr_id_j))
         AND (transcript_j IS NULL OR lw_text(transcript_j, 100000))
         AND coalesce(CASE WHEN attachment_simple THEN true WHEN attachment_j IS NOT NULL THEN lw_json_ok('attachment', attachment_j) END, attachment_j IS NULL)
         AND coalesce(CASE WHEN meta_simple THEN true WHEN meta_j IS NOT NULL THEN lw_json_ok('meta', meta_j) END, meta_j IS NULL)
         AND (text_j IS NOT NULL OR kind <> 'text'), false) AS ok,
       role, kind, channel, ts, epoch_ms(ts) AS ts_ms, text, transcript, external_id, csr_id, labels_j,
       coalesce(lw_maybe_pii(text), false) AS text_pii, coalesce(lw_maybe_pii(transcript), false) AS transcript_pii,
       coalesce(lw_maybe_pii(csr_id), false) AS csr_pii,
       attachment_j, coalesce(attachment_simple, false) AS attachment_simple,
       CASE WHEN attachment_simple THEN '{' || concat_ws(',',
         '"name":' || ${a('name')}, '"mimeType":' || ${a('mimeType')}, '"sizeBytes":' || ${a('sizeBytes')},
         '"url":' || ${a('url')}, '"durationSeconds":' || ${a('durationSeconds')}) || '}' END AS attachment,
       CASE WHEN attachment_simple THEN coalesce(lw_maybe_pii(${a('name')}) OR lw_maybe_pii(${a('url')}), false) END AS attachment_pii,
       meta_j, coalesce(meta_simple, false) AS meta_simple
     FROM (
       SELECT *,
         lw_str(role_j) AS role, coalesce(lw_str(kind_j), 'text') AS kind, lw_str(channel_j) AS channel,
         lw_ts(ts_j) AS ts, lw_str(text_j) AS text, lw_str(transcript_j) AS transcript,
         lw_str(id_j) AS external_id, lw_str(csr_id_j) AS csr_id,
         ${attachmentSimple} AS attachment_simple,
         CASE WHEN meta_j IS NOT NULL THEN lw_flat_map(lw_map(meta_j)) END AS meta_simple
       FROM (
         SELECT *,
           CASE WHEN attachment_j IS NOT NULL THEN TRY(json_transform(attachment_j, '${ATTACHMENT_SPEC}')) END AS a,
           CASE WHEN attachment_j IS NOT NULL THEN len(TRY(json_keys(attachment_j))) END AS attachment_n
         FROM (${messages})))`,
  );
  // Labels, one row each, with the values the stage needs: per-turn and custom ones from the
  // label sets (a set without labels keeps one row without a name), then the outcome's own
  // fields (kind 'outcome'; their rules are checked with the record).
  await run(
    db,
    `CREATE OR REPLACE TEMP TABLE lw_v_lab AS
     WITH sets AS (
       SELECT idx, seq, lw_map(labels_j) AS m FROM lw_v_msg WHERE labels_j IS NOT NULL
       UNION ALL
       SELECT idx, NULL, lw_map(outcome_labels_j) FROM lw_ir_rec WHERE outcome_labels_j IS NOT NULL
     ), entries AS (
       SELECT idx, seq,
         coalesce(cardinality(m) <= 100 AND len(map_keys(m)) = len(list_distinct(map_keys(m))), false) AS set_ok,
         unnest(CASE WHEN cardinality(m) > 0 THEN map_entries(m) ELSE [NULL] END) AS e
       FROM sets
     ), typed AS (
       SELECT idx, seq, set_ok, e.key AS name, e.value AS j, ${numberOf('e.value')} AS num FROM entries
     )
     SELECT idx, seq, CASE WHEN seq IS NULL THEN 'custom' ELSE 'turn' END AS kind, set_ok, name,
       coalesce(name IS NULL OR (regexp_full_match(name, '${re2(recordPatterns.label)}') AND (lw_text(j, 2000) OR isfinite(num) OR lw_is_bool(j))), false) AS ok,
       ${labelValues('j', 'num')}
     FROM typed
     UNION ALL
     ${OUTCOME_FIELDS.map(
       ([name, column]) => `SELECT idx, NULL, 'outcome', true, '${name}', true, ${labelValues(column, numberOf(column))} FROM lw_ir_rec WHERE ${column} IS NOT NULL`,
     ).join(' UNION ALL ')}`,
  );
  // Events: the array, then each event's fields (a record whose events are no array, or an
  // empty one, keeps one row without a position).
  await run(
    db,
    `CREATE OR REPLACE TEMP TABLE lw_v_evt AS
     WITH arrays AS (
       SELECT idx, CASE WHEN starts_with(events_j, '[') THEN TRY(json_transform(events_j, '["MAP(VARCHAR, JSON)"]')) END AS list
       FROM lw_ir_rec WHERE events_j IS NOT NULL
     ), items AS (
       SELECT idx, len(list) AS n, generate_subscripts(list, 1) AS position, unnest(list) AS m FROM arrays WHERE len(list) > 0
       UNION ALL
       SELECT idx, coalesce(len(list), -1), NULL, NULL FROM arrays WHERE list IS NULL OR len(list) = 0
     ), fields AS (
       SELECT idx, n, position, m IS NOT NULL AS is_object, ${membersOk('m', EVENT_KEYS)} AS keys_ok,
         m['type'] AS type_j, m['ts'] AS ts_j, m['seq'] AS seq_j, m['name'] AS name_j,
         m['from'] AS from_j, m['to'] AS to_j, m['csrId'] AS csr_id_j, m['data'] AS data_j
       FROM items
     ), typed AS (
       SELECT *, lw_ts(ts_j) AS ts, CASE WHEN data_j IS NOT NULL THEN lw_flat_map(lw_map(data_j)) END AS data_simple FROM fields
     )
     SELECT idx, n, position,
       coalesce(CASE WHEN position IS NULL THEN n = 0 ELSE (is_object AND keys_ok
         AND ${oneOf('type_j', EVENT_TYPES)}
         AND (ts_j IS NULL OR ts IS NOT NULL)
         AND (seq_j IS NULL OR (lw_is_int(seq_j) AND TRY_CAST(seq_j AS DOUBLE) >= 1))
         AND (name_j IS NULL OR lw_text(name_j, 200))
         AND (from_j IS NULL OR lw_channel(from_j))
         AND (to_j IS NULL OR lw_channel(to_j))
         AND (csr_id_j IS NULL OR lw_ident(csr_id_j))
         AND coalesce(CASE WHEN data_simple THEN true WHEN data_j IS NOT NULL THEN lw_json_ok('data', data_j) END, data_j IS NULL)) END, false) AS ok,
       lw_str(type_j) AS type, ts, epoch_ms(ts) AS ts_ms,
       TRY_CAST(seq_j AS DOUBLE) AS seq_num, TRY_CAST(TRY_CAST(seq_j AS DOUBLE) AS INTEGER) AS seq,
       lw_str(name_j) AS name, lw_str(from_j) AS from_channel, lw_str(to_j) AS to_channel, lw_str(csr_id_j) AS csr_id,
       data_j, coalesce(data_simple, false) AS data_simple
     FROM typed`,
  );
  const now = context.now.getTime();
  await run(
    db,
    `CREATE OR REPLACE TEMP TABLE lw_v_rec AS
     WITH msg AS (
       SELECT idx, bool_and(ok) AS ok, min(ts_ms) AS first_ms, max(ts_ms) AS last_ms FROM lw_v_msg GROUP BY idx
     ), lab AS (
       SELECT idx, bool_and(set_ok AND ok) AS ok FROM lw_v_lab WHERE kind <> 'outcome' GROUP BY idx
     ), evt AS (
       SELECT idx, bool_and(coalesce(ok, false)) AS ok, min(ts_ms) AS first_ms, max(ts_ms) AS last_ms, max(seq_num) AS max_seq, max(n) AS n
       FROM lw_v_evt GROUP BY idx
     ), csr AS (
       SELECT idx, CASE WHEN starts_with(csr_ids_j, '[') THEN TRY(json_transform(csr_ids_j, '["JSON"]')) END AS list
       FROM lw_ir_rec WHERE csr_ids_j IS NOT NULL
     ), checked AS (
       SELECT r.idx, r.line, r.off, lw_str(r.id_j) AS id,
         r.pre_ok
         AND lw_ident(r.id_j)
         AND (r.listing_j IS NULL OR (lw_is_str(r.listing_j) AND lw_str(r.listing_j) = $listing AND $listing_ok))
         AND (r.customer_j IS NULL OR lw_ident(r.customer_j))
         AND (r.csr_ids_j IS NULL OR coalesce(len(csr.list) <= 100 AND coalesce(list_bool_and(list_transform(csr.list, x -> lw_ident(x))), true), false))
         AND coalesce(CASE WHEN r.external_ids_j IS NOT NULL THEN lw_json_ok('external_ids', r.external_ids_j) END, r.external_ids_j IS NULL)
         AND (r.brand_j IS NULL OR lw_text(r.brand_j, 200))
         AND (r.queue_j IS NULL OR lw_text(r.queue_j, 200))
         AND (NOT r.source_present OR (r.source_keys_ok AND ${oneOf('r.source_channel_j', SOURCES)} AND (r.source_app_j IS NULL OR lw_text(r.source_app_j, 100))))
         AND (r.created_j IS NULL OR lw_ts_ok(r.created_j))
         AND (r.assigned_j IS NULL OR lw_ts_ok(r.assigned_j))
         AND (r.replied_j IS NULL OR lw_ts_ok(r.replied_j))
         AND (r.ended_j IS NULL OR lw_ts_ok(r.ended_j))
         AND (r.status_j IS NULL OR ${oneOf('r.status_j', STATUSES)})
         AND (NOT r.outcome_present OR (r.outcome_keys_ok
           AND (r.resolved_j IS NULL OR lw_is_bool(r.resolved_j))
           AND (r.abandoned_j IS NULL OR lw_is_bool(r.abandoned_j))
           AND (r.satisfaction_j IS NULL OR (lw_is_int(r.satisfaction_j) AND TRY_CAST(r.satisfaction_j AS DOUBLE) BETWEEN 1 AND 5))
           AND (r.converted_j IS NULL OR lw_is_bool(r.converted_j))
           AND (r.conversion_j IS NULL OR ${oneOf('r.conversion_j', CONVERSIONS)})))
         AND r.messages_ok AND r.n_messages <= 100000
         AND coalesce(msg.ok, true) AND coalesce(lab.ok, true)
         AND (r.events_j IS NULL OR (evt.ok AND evt.n <= 100000 AND coalesce(evt.max_seq <= r.n_messages, true)))
         AS shape_ok,
         lw_ts_ms(r.created_j) AS created_ms, lw_ts_ms(r.assigned_j) AS assigned_ms, lw_ts_ms(r.replied_j) AS replied_ms, lw_ts_ms(r.ended_j) AS ended_ms,
         msg.first_ms, msg.last_ms, evt.first_ms AS event_first_ms, evt.last_ms AS event_last_ms
       FROM lw_ir_rec r
       LEFT JOIN msg ON msg.idx = r.idx LEFT JOIN lab ON lab.idx = r.idx LEFT JOIN evt ON evt.idx = r.idx LEFT JOIN csr ON csr.idx = r.idx
     )
     SELECT idx, line, off, id,
       coalesce(shape_ok
         -- least/greatest skip NULLs: every timestamp present lies between 1990 and a day from now
         AND coalesce(least(created_ms, assigned_ms, replied_ms, ended_ms, first_ms, event_first_ms) >= ${EARLIEST}, true)
         AND coalesce(greatest(created_ms, assigned_ms, replied_ms, ended_ms, last_ms, event_last_ms) <= ${now + FUTURE_SLACK_MS}, true)
         AND coalesce(least(assigned_ms, replied_ms, ended_ms) >= created_ms, true)
         AND coalesce(first_ms >= created_ms - ${SKEW_MS}, true)
         AND coalesce(last_ms <= ended_ms + ${SKEW_MS}, true), false) AS ok
     FROM checked`,
    params,
  );
}

export interface RuleOutcome {
  /** Records the rules accepted and staged. */
  staged: number;
  /** Accepted records dropped because a later record in the chunk has the same id. */
  superseded: number;
}

/**
 * Writes the ok records into the staging tables (the last of several with one id), redacted
 * when `redact`, with their place in the source. Their messages and labels are not copied: see
 * keptMessages() and keptLabels().
 */
export async function stage(db: AnalyticsDb, context: RuleContext & { redact: boolean; source: string; format: string }): Promise<RuleOutcome> {
  const params = { listing: context.listingId, redact: context.redact, source: context.source, format: context.format };
  await run(db, `CREATE OR REPLACE TEMP TABLE lw_keep AS SELECT idx, id FROM lw_v_rec WHERE ok QUALIFY idx = max(idx) OVER (PARTITION BY id)`);
  const text = (column: string) => `CASE WHEN $redact AND lw_maybe_pii(${column}) THEN lw_redact(${column}, true) ELSE ${column} END`;
  const ident = (column: string) => `CASE WHEN $redact THEN lw_pseudonymized(${column}, $listing) ELSE ${column} END`;
  const bool = (column: string) => `TRY_CAST(${column} AS BOOLEAN)`;
  await run(
    db,
    `INSERT INTO ${stageTables.interactions}
     SELECT $listing, k.id,
       ${ident('lw_str(r.customer_j)')},
       CASE WHEN r.csr_ids_j IS NOT NULL THEN list_transform(CAST(json_transform(r.csr_ids_j, '["VARCHAR"]') AS VARCHAR[]), x -> ${ident('x')}) END,
       CASE WHEN r.external_ids_j IS NOT NULL THEN lw_json('external_ids', r.external_ids_j, $listing, $redact, true) END,
       lw_str(r.brand_j), lw_str(r.queue_j), lw_str(r.source_channel_j), lw_str(r.source_app_j),
       lw_ts(r.created_j), lw_ts(r.assigned_j), lw_ts(r.replied_j), lw_ts(r.ended_j),
       lw_str(r.status_j),
       coalesce(${bool('r.resolved_j')}, CASE WHEN r.status_j = '"resolved"' THEN true END),
       coalesce(${bool('r.abandoned_j')}, CASE WHEN r.status_j = '"abandoned"' THEN true END),
       TRY_CAST(TRY_CAST(r.satisfaction_j AS DOUBLE) AS TINYINT), ${bool('r.converted_j')}, lw_str(r.conversion_j),
       r.n_messages, greatest(coalesce(e.n, 0), 0), $redact, '', $source, $format, r.idx, r.line, '', now()
     FROM lw_keep k JOIN lw_ir_rec r ON r.idx = k.idx
     LEFT JOIN (SELECT idx, max(n) AS n FROM lw_v_evt GROUP BY idx) e ON e.idx = r.idx`,
    params,
  );
  await run(
    db,
    `INSERT INTO ${stageTables.events}
     SELECT $listing, k.id, e.position, e.type, e.ts, e.seq, ${text('e.name')}, e.from_channel, e.to_channel, ${ident('e.csr_id')},
       CASE WHEN e.data_simple THEN e.data_j WHEN e.data_j IS NOT NULL THEN lw_json('data', e.data_j, $listing, $redact, true) END
     FROM lw_keep k JOIN lw_v_evt e ON e.idx = k.idx WHERE e.position IS NOT NULL`,
    params,
  );
  const [counts] = await db.all<{ ok: number; kept: number }>(
    'SELECT (SELECT count(*) FROM lw_v_rec WHERE ok)::INTEGER AS ok, (SELECT count(*) FROM lw_keep)::INTEGER AS kept',
  );
  return { staged: counts!.kept, superseded: counts!.ok - counts!.kept };
}

/**
 * The messages of the records `stage()` kept, as the rows of `messages` (redacted when `redact`),
 * as a query: they are the bulk of a chunk, so they are not copied into the staging table but
 * read from here by the merge, twice (content hash, then insert). Only the pass with `count`
 * counts redactions. Parameter: $listing.
 */
export function keptMessages(options: { redact: boolean; count: boolean }): string {
  const count = String(options.count);
  const redact = String(options.redact);
  const text = (column: string) => (options.redact ? `CASE WHEN m.${column}_pii THEN lw_redact(m.${column}, ${count}) ELSE m.${column} END` : `m.${column}`);
  // A simple attachment is written in SQL; its name and url, when they may hold PII, go through
  // lw_json like any other attachment.
  const attachment = `CASE WHEN m.attachment_simple AND NOT (${redact} AND m.attachment_pii) THEN m.attachment
    WHEN m.attachment_j IS NOT NULL THEN lw_json('attachment', m.attachment_j, $listing, ${redact}, ${count}) END`;
  const meta = `CASE WHEN m.meta_simple THEN m.meta_j WHEN m.meta_j IS NOT NULL THEN lw_json('meta', m.meta_j, $listing, ${redact}, ${count}) END`;
  return `SELECT $listing AS listing_id, k.id AS interaction_id, m.seq, m.role, m.kind, m.channel, m.ts,
      ${text('text')} AS text, ${text('transcript')} AS transcript, m.external_id,
      ${options.redact ? 'CASE WHEN m.csr_pii THEN lw_pseudonym(m.csr_id, $listing) ELSE m.csr_id END' : 'm.csr_id'} AS csr_id,
      ${attachment} AS attachment, ${meta} AS meta
    FROM lw_keep k JOIN lw_v_msg m ON m.idx = k.idx`;
}

/** The labels of the records `stage()` kept, as rows of `labels`: like keptMessages(). */
export function keptLabels(options: { redact: boolean; count: boolean }): string {
  const text = options.redact ? `CASE WHEN l.value_pii THEN lw_redact(l.value_text, ${String(options.count)}) ELSE l.value_text END` : 'l.value_text';
  return `SELECT $listing AS listing_id, k.id AS interaction_id, l.seq, l.kind, l.name, l.value_num, ${text} AS value_text
    FROM lw_keep k JOIN lw_v_lab l ON l.idx = k.idx WHERE l.name IS NOT NULL`;
}

/** Frees a committed chunk's tables (memory for the next chunk on the other connection). */
export async function dropChunkTables(db: AnalyticsDb): Promise<void> {
  for (const table of ['lw_ir_rec', 'lw_v_msg', 'lw_v_lab', 'lw_v_evt', 'lw_v_rec', 'lw_keep', 'lw_stage_diff']) await db.run(`DROP TABLE IF EXISTS ${table}`);
}

/** Records the rules did not accept, for the JS path: their index and place. */
export async function rejectedRecords(db: AnalyticsDb): Promise<Array<{ idx: number; line: number | null; off: number | null }>> {
  const rows = await db.all<{ idx: bigint; line: bigint | null; off: bigint | null }>('SELECT idx, line, off FROM lw_v_rec WHERE NOT ok ORDER BY idx');
  return rows.map((row) => ({ idx: Number(row.idx), line: row.line === null ? null : Number(row.line), off: row.off === null ? null : Number(row.off) }));
}
