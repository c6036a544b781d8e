import type { InteractionInput } from './interaction.schemas.ts';

/**
 * The CSV form of interaction records: a messages table (one row per message) and an optional
 * interactions table (one row per conversation), joined by id. Both have a header row; column
 * order is free, names are case-insensitive. RFC 4180 quoting: fields containing `,`, `"` or a
 * line break are quoted, `"` doubled inside. An unquoted empty field is "absent"; a quoted empty
 * field (`""`) is the empty string. Nested values (attachment, labels, meta, events, ids) are
 * JSON in one field. Timestamps are ISO 8601 with a zone; `2024-01-05 10:00:00+00` (how DuckDB
 * and Postgres print TIMESTAMPTZ) is accepted too. Unknown message columns are kept in the
 * message's `meta`, unknown interaction columns as custom outcome labels.
 */

export const csvMessageColumns = [
  'interaction_id', // required; rows of one interaction must be contiguous
  'seq', // 1-based position; when given, orders the rows of an interaction
  'role', // required: customer | csr | bot | system
  'kind', // text (default) | voice | image | video | file | offer | payment_request | form
  'channel',
  'ts',
  'text',
  'transcript',
  'message_id',
  'csr_id',
  'attachment', // JSON object: name, mimeType, sizeBytes, url, durationSeconds
  'labels', // JSON object: per-turn labels
  'meta', // JSON object
] as const;

export const csvInteractionColumns = [
  'id', // required
  'customer_id',
  'csr_ids', // JSON array of strings
  'external_ids', // JSON object of strings
  'brand',
  'queue',
  'source_channel',
  'source_app',
  'created_at',
  'first_assigned_at',
  'first_csr_reply_at',
  'ended_at',
  'status',
  'resolved',
  'abandoned',
  'satisfaction',
  'converted',
  'conversion',
  'labels', // JSON object: custom outcome labels
  'events', // JSON array of interaction events
] as const;

export type CsvField = string | null;

/** Splits one CSV record (already cut at its end, without the line break) into fields. */
export function splitCsvFields(text: string): { ok: true; fields: CsvField[] } | { ok: false; detail: string } {
  const fields: CsvField[] = [];
  const length = text.length;
  let position = 0;
  for (;;) {
    if (text.charCodeAt(position) === 0x22) {
      let value = '';
      let from = position + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) return { ok: false, detail: `field ${fields.length + 1}: unterminated quoted field` };
        value += text.slice(from, quote);
        if (text.charCodeAt(quote + 1) === 0x22) {
          value += '"';
          from = quote + 2;
          continue;
        }
        position = quote + 1;
        break;
      }
      if (position < length && text.charCodeAt(position) !== 0x2c) {
        return { ok: false, detail: `field ${fields.length + 1}: unexpected text after a closing quote` };
      }
      fields.push(value);
    } else {
      let comma = text.indexOf(',', position);
      if (comma < 0) comma = length;
      const value = text.slice(position, comma);
      if (value.includes('"')) return { ok: false, detail: `field ${fields.length + 1}: a quote inside an unquoted field` };
      fields.push(value === '' ? null : value);
      position = comma;
    }
    if (position >= length) return { ok: true, fields };
    position++; // the comma
    if (position === length) {
      fields.push(null);
      return { ok: true, fields };
    }
  }
}

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One CSV record (no line break) from fields; undefined/null are written as absent. */
export function formatCsvRow(fields: ReadonlyArray<string | null | undefined>): string {
  let line = '';
  for (let index = 0; index < fields.length; index++) {
    if (index > 0) line += ',';
    const value = fields[index];
    if (value === undefined || value === null) continue;
    line += value === '' || NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
  }
  return line;
}

const json = (value: unknown) => (value === undefined ? undefined : JSON.stringify(value));
const text = (value: string | number | boolean | undefined) => (value === undefined ? undefined : String(value));

/** A canonical record as rows of the two tables, in the documented column order. */
export function interactionToCsvRows(record: InteractionInput): { interaction: Array<string | undefined>; messages: Array<Array<string | undefined>> } {
  const outcome = record.outcome;
  const interaction = [
    record.id,
    record.customerId,
    json(record.csrIds),
    json(record.externalIds),
    record.brand,
    record.queue,
    record.source?.channel,
    record.source?.app,
    record.createdAt,
    record.firstAssignedAt,
    record.firstCsrReplyAt,
    record.endedAt,
    record.status,
    text(outcome?.resolved),
    text(outcome?.abandoned),
    text(outcome?.satisfaction),
    text(outcome?.converted),
    outcome?.conversion,
    json(outcome?.labels),
    json(record.events),
  ];
  const messages = record.messages.map((message, position) => [
    record.id,
    String(position + 1),
    message.role,
    message.kind,
    message.channel,
    message.ts,
    message.text,
    message.transcript,
    message.id,
    message.csrId,
    json(message.attachment),
    json(message.labels),
    json(message.meta),
  ]);
  return { interaction, messages };
}

/** A header row: column name → index; duplicates and missing required columns are errors. */
export function csvHeader(fields: CsvField[], required: readonly string[]): { ok: true; columns: Map<string, number> } | { ok: false; detail: string } {
  const columns = new Map<string, number>();
  for (const [index, field] of fields.entries()) {
    const name = (field ?? '').replace(/^\uFEFF/, '').trim().toLowerCase();
    if (name === '') return { ok: false, detail: `header column ${index + 1} has no name` };
    if (columns.has(name)) return { ok: false, detail: `header names column "${name}" twice` };
    columns.set(name, index);
  }
  const missing = required.filter((name) => !columns.has(name));
  if (missing.length > 0) return { ok: false, detail: `the header lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` };
  return { ok: true, columns };
}

const SQL_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)$/;

/** ISO 8601 as is; `2024-01-05 10:00:00+00` (SQL style) becomes `2024-01-05T10:00:00+00:00`. */
export function normalizeTimestamp(value: string): string {
  const match = SQL_TIMESTAMP.exec(value);
  if (!match) return value;
  const [, date, time, zone] = match as unknown as [string, string, string, string];
  const offset = zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  return `${date}T${time}${offset}`;
}

const TRUE = new Set(['true', 't', '1', 'yes', 'y']);
const FALSE = new Set(['false', 'f', '0', 'no', 'n']);

/** true/false/t/f/1/0/yes/no; anything else stays a string (and fails the schema, with its path). */
export function csvBoolean(value: string): boolean | string {
  const lower = value.trim().toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  return value;
}

/** A number when it looks like one; otherwise the string (the schema says what was expected). */
export function csvNumber(value: string): number | string {
  return /^\s*-?\d+(?:\.\d+)?\s*$/.test(value) ? Number(value) : value;
}
