import { DuckDBTimestampTZValue, LIST, VARCHAR, listValue, type DuckDBAppender } from '@duckdb/node-api';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import { createTimeSlice, type TimeSlice } from '../platform/index.ts';
import type { InteractionRecord, LabelValue } from './interaction.schemas.ts';

/**
 * Named DuckDB queries for the interaction tables (migration 001_interactions.sql). Writes go
 * through the Appender inside the caller's transaction; every query is scoped by listing.
 */

export interface StoredInteraction {
  record: InteractionRecord;
  hash: string;
  source: string;
  format: string;
  index: number;
  line: number | undefined;
}

export interface QuarantineEntry {
  source: string;
  format: string | undefined;
  index: number;
  line: number | undefined;
  offset: number | undefined;
  reason: string;
  detail: string;
  excerpt: string;
}

export interface QuarantineRow {
  listingId: string;
  source: string;
  sourceFormat: string | null;
  recordIndex: number;
  line: number | null;
  byteOffset: number | null;
  reason: string;
  detail: string;
  excerpt: string;
  runId: string;
  quarantinedAt: Date;
}

export interface Checkpoint {
  fingerprint: string;
  format: string;
  redact: boolean;
  nextIndex: number;
  nextLine: number;
  nextOffset: number;
  completed: boolean;
}

export interface RunTotals {
  records: number;
  accepted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  messages: number;
}

function appendText(appender: DuckDBAppender, value: string | undefined | null) {
  if (value === undefined || value === null) appender.appendNull();
  else appender.appendVarchar(value);
}

/**
 * Rows reach DuckDB as one JSON array per table and statement (`from_json` into typed structs,
 * then `INSERT … SELECT`), not through the Appender: an appended value is one synchronous native
 * call on the event loop (~12 per message, plus the flush), while a statement runs on DuckDB's
 * own threads. In the embedded layout the live source shares the api's event loop, where its
 * appending was the largest part of ~33 µs per outbox event. Timestamps travel as their ISO 8601
 * text and are cast by DuckDB (which reads a zone offset); JSON columns as their JSON text, kept
 * as written.
 */
type ColumnType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'TINYINT' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMPTZ' | 'JSON' | 'VARCHAR[]';

/** `{ column: type }` in the table's order, except the columns every row of a statement shares. */
type RowShape = Readonly<Record<string, ColumnType>>;

/** Timestamps and JSON arrive as text and are cast after `from_json`. */
const castAfterRead = (type: ColumnType) => type === 'TIMESTAMPTZ' || type === 'JSON';
/** How `from_json` reads a column. */
const jsonType = (type: ColumnType) => (castAfterRead(type) ? 'VARCHAR' : type === 'VARCHAR[]' ? ['VARCHAR'] : type);

/**
 * `INSERT INTO table (shared…, shape…) SELECT $shared…, r.column… FROM unnest(from_json($rows))`.
 * `shared` maps the columns every row has in common to a parameter name.
 */
function insertStatement(table: string, shared: Readonly<Record<string, string>>, shape: RowShape): string {
  const spec = JSON.stringify([Object.fromEntries(Object.entries(shape).map(([column, type]) => [column, jsonType(type)]))]);
  const columns = [...Object.keys(shared), ...Object.keys(shape)];
  const values = [
    ...Object.values(shared).map((parameter) => `$${parameter}`),
    ...Object.entries(shape).map(([column, type]) => (castAfterRead(type) ? `r.${column}::${type}` : `r.${column}`)),
  ];
  return `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${values.join(', ')} FROM (SELECT unnest(from_json($rows, '${spec}')) AS r)`;
}

const INTERACTION_ROW = {
  id: 'VARCHAR',
  customer_id: 'VARCHAR',
  csr_ids: 'VARCHAR[]',
  external_ids: 'JSON',
  brand: 'VARCHAR',
  queue: 'VARCHAR',
  source_channel: 'VARCHAR',
  source_app: 'VARCHAR',
  created_at: 'TIMESTAMPTZ',
  first_assigned_at: 'TIMESTAMPTZ',
  first_csr_reply_at: 'TIMESTAMPTZ',
  ended_at: 'TIMESTAMPTZ',
  status: 'VARCHAR',
  resolved: 'BOOLEAN',
  abandoned: 'BOOLEAN',
  satisfaction: 'TINYINT',
  converted: 'BOOLEAN',
  conversion: 'VARCHAR',
  message_count: 'INTEGER',
  event_count: 'INTEGER',
  content_hash: 'VARCHAR',
  source: 'VARCHAR',
  source_format: 'VARCHAR',
  source_index: 'BIGINT',
  source_line: 'BIGINT',
} as const satisfies RowShape;
const MESSAGE_ROW = {
  interaction_id: 'VARCHAR',
  seq: 'INTEGER',
  role: 'VARCHAR',
  kind: 'VARCHAR',
  channel: 'VARCHAR',
  ts: 'TIMESTAMPTZ',
  text: 'VARCHAR',
  transcript: 'VARCHAR',
  external_id: 'VARCHAR',
  csr_id: 'VARCHAR',
  attachment: 'JSON',
  meta: 'JSON',
} as const satisfies RowShape;
const LABEL_ROW = { interaction_id: 'VARCHAR', seq: 'INTEGER', kind: 'VARCHAR', name: 'VARCHAR', value_num: 'DOUBLE', value_text: 'VARCHAR' } as const satisfies RowShape;
const EVENT_ROW = {
  interaction_id: 'VARCHAR',
  position: 'INTEGER',
  type: 'VARCHAR',
  ts: 'TIMESTAMPTZ',
  seq: 'INTEGER',
  name: 'VARCHAR',
  from_channel: 'VARCHAR',
  to_channel: 'VARCHAR',
  csr_id: 'VARCHAR',
  data: 'JSON',
} as const satisfies RowShape;

/** A row of a shape: every column present (`null` for none), so `from_json` never guesses. */
type Row<Shape extends RowShape> = { [Column in keyof Shape]: unknown };

const jsonText = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/** Content hashes of the given interactions that exist, by id. */
export async function findContentHashes(db: AnalyticsDb, listingId: string, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.all<{ id: string; content_hash: string }>(
    'SELECT id, content_hash FROM interactions WHERE listing_id = $listing AND id IN (SELECT unnest($ids))',
    { listing: listingId, ids: listValue(ids) },
    { ids: LIST(VARCHAR) },
  );
  return new Map(rows.map((row) => [row.id, row.content_hash]));
}

/**
 * Removes interactions and all their rows (messages, labels, events). `keepMessages` keeps the
 * message rows and their per-turn labels, for a writer that appends to a conversation.
 */
export async function deleteInteractions(db: AnalyticsDb, listingId: string, ids: string[], options: { keepMessages?: boolean } = {}): Promise<void> {
  if (ids.length === 0) return;
  const params = { listing: listingId, ids: listValue(ids) };
  const types = { ids: LIST(VARCHAR) };
  const scope = 'listing_id = $listing AND interaction_id IN (SELECT unnest($ids))';
  if (options.keepMessages) {
    await db.run(`DELETE FROM labels WHERE ${scope} AND seq IS NULL`, params, types);
  } else {
    await db.run(`DELETE FROM messages WHERE ${scope}`, params, types);
    await db.run(`DELETE FROM labels WHERE ${scope}`, params, types);
  }
  await db.run(`DELETE FROM interaction_events WHERE ${scope}`, params, types);
  await db.run('DELETE FROM interactions WHERE listing_id = $listing AND id IN (SELECT unnest($ids))', params, types);
}

function labelColumns(value: LabelValue): { num: number | undefined; text: string | undefined } {
  if (typeof value === 'boolean') return { num: value ? 1 : 0, text: String(value) };
  if (typeof value === 'number') return { num: value, text: undefined };
  return { num: undefined, text: value };
}

/** Tables the interaction rows are written to (the stored ones, or the staging copies). */
export interface InteractionTables {
  interactions: string;
  messages: string;
  labels: string;
  events: string;
}
const STORED_TABLES: InteractionTables = { interactions: 'interactions', messages: 'messages', labels: 'labels', events: 'interaction_events' };

/** Appends interactions with their messages, labels and events; returns the message count. */
export async function appendInteractions(
  db: AnalyticsDb,
  listingId: string,
  items: StoredInteraction[],
  context: {
    runId: string;
    redacted: boolean;
    now: Date;
    /** Messages an interaction already has in the table: its records' messages continue after them. */
    storedMessages?: ReadonlyMap<string, number>;
    /** Tables to append to (the staging copies); the stored tables by default. */
    tables?: InteractionTables;
    /** The caller's time slice when the append continues its own synchronous work. */
    slice?: TimeSlice;
  },
): Promise<number> {
  if (items.length === 0) return 0;
  const tables = context.tables ?? STORED_TABLES;
  const interactions: Row<typeof INTERACTION_ROW>[] = [];
  const messages: Row<typeof MESSAGE_ROW>[] = [];
  const labels: Row<typeof LABEL_ROW>[] = [];
  const events: Row<typeof EVENT_ROW>[] = [];
  let messageCount = 0;
  const label = (interactionId: string, seq: number | undefined, kind: string, name: string, value: LabelValue | undefined) => {
    if (value === undefined) return;
    const { num, text } = labelColumns(value);
    labels.push({ interaction_id: interactionId, seq: seq ?? null, kind, name, value_num: num ?? null, value_text: text ?? null });
  };
  // Building the rows is synchronous: in a process that also serves requests (the live source in
  // embedded mode) a long batch must let them in between.
  const slice = context.slice ?? createTimeSlice();
  for (const { record, hash, source, format, index, line } of items) {
    if (slice.due()) await slice.pause();
    const outcome = record.outcome;
    const storedMessages = context.storedMessages?.get(record.id) ?? 0;
    interactions.push({
      id: record.id,
      customer_id: record.customerId ?? null,
      csr_ids: record.csrIds ?? null,
      external_ids: jsonText(record.externalIds),
      brand: record.brand ?? null,
      queue: record.queue ?? null,
      source_channel: record.source?.channel ?? null,
      source_app: record.source?.app ?? null,
      created_at: record.createdAt ?? null,
      first_assigned_at: record.firstAssignedAt ?? null,
      first_csr_reply_at: record.firstCsrReplyAt ?? null,
      ended_at: record.endedAt ?? null,
      status: record.status ?? null,
      resolved: outcome?.resolved ?? (record.status === 'resolved' ? true : null),
      abandoned: outcome?.abandoned ?? (record.status === 'abandoned' ? true : null),
      satisfaction: outcome?.satisfaction ?? null,
      converted: outcome?.converted ?? null,
      conversion: outcome?.conversion ?? null,
      message_count: storedMessages + record.messages.length,
      event_count: record.events?.length ?? 0,
      content_hash: hash,
      source,
      source_format: format,
      source_index: index,
      source_line: line ?? null,
    });

    for (const [position, message] of record.messages.entries()) {
      const seq = storedMessages + position + 1;
      messages.push({
        interaction_id: record.id,
        seq,
        role: message.role,
        kind: message.kind,
        channel: message.channel ?? null,
        ts: message.ts ?? null,
        text: message.text ?? null,
        transcript: message.transcript ?? null,
        external_id: message.id ?? null,
        csr_id: message.csrId ?? null,
        attachment: jsonText(message.attachment),
        meta: jsonText(message.meta),
      });
      for (const [name, value] of Object.entries(message.labels ?? {})) label(record.id, seq, 'turn', name, value);
    }
    messageCount += record.messages.length;

    if (outcome) {
      label(record.id, undefined, 'outcome', 'resolved', outcome.resolved);
      label(record.id, undefined, 'outcome', 'abandoned', outcome.abandoned);
      label(record.id, undefined, 'outcome', 'satisfaction', outcome.satisfaction);
      label(record.id, undefined, 'outcome', 'converted', outcome.converted);
      label(record.id, undefined, 'outcome', 'conversion', outcome.conversion);
      for (const [name, value] of Object.entries(outcome.labels ?? {})) label(record.id, undefined, 'custom', name, value);
    }

    for (const [position, event] of (record.events ?? []).entries()) {
      events.push({
        interaction_id: record.id,
        position: position + 1,
        type: event.type,
        ts: event.ts ?? null,
        seq: event.seq ?? null,
        name: event.name ?? null,
        from_channel: event.from ?? null,
        to_channel: event.to ?? null,
        csr_id: event.csrId ?? null,
        data: jsonText(event.data),
      });
    }
  }
  const listing = { listing_id: 'listing' };
  const headerColumns = { ...listing, redacted: 'redacted', run_id: 'run', ingested_at: 'now' };
  const headerValues = { listing: listingId, redacted: context.redacted, run: context.runId, now: context.now.toISOString() };
  await insertRows(db, insertStatement(tables.interactions, headerColumns, INTERACTION_ROW), interactions, headerValues, slice);
  await insertRows(db, insertStatement(tables.messages, listing, MESSAGE_ROW), messages, { listing: listingId }, slice);
  await insertRows(db, insertStatement(tables.labels, listing, LABEL_ROW), labels, { listing: listingId }, slice);
  await insertRows(db, insertStatement(tables.events, listing, EVENT_ROW), events, { listing: listingId }, slice);
  return messageCount;
}

/**
 * Rows per INSERT statement. Serialising the rows is synchronous (~1 µs per row): the live
 * source's batches of tens of thousands of messages go in several statements, with the time
 * slice's pauses between them, so a batch does not hold a serving process's event loop.
 */
const ROWS_PER_STATEMENT = 5_000;

async function insertRows(db: AnalyticsDb, sql: string, rows: unknown[], shared: Record<string, string | boolean>, slice: TimeSlice): Promise<void> {
  for (let from = 0; from < rows.length; from += ROWS_PER_STATEMENT) {
    if (slice.due()) await slice.pause();
    await db.run(sql, { ...shared, rows: wellFormedJson(JSON.stringify(rows.slice(from, from + ROWS_PER_STATEMENT))) });
  }
}

/** A `\uD8xx`–`\uDFxx` escape that is not itself escaped (preceded by an even run of backslashes). */
const LONE_SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u[dD][89a-fA-F][0-9a-fA-F]{2}/g;

/**
 * JSON.stringify writes a lone UTF-16 surrogate as a `\uD800`-style escape, which DuckDB's JSON
 * reader rejects; the text becomes U+FFFD instead, as any other conversion to UTF-8 makes it
 * (the Appender did the same). Surrogate pairs are written as the characters themselves.
 */
export function wellFormedJson(json: string): string {
  return json.includes('\\ud') || json.includes('\\uD') ? json.replace(LONE_SURROGATE_ESCAPE, '$1\\ufffd') : json;
}

/** Replaces the quarantine rows of one source's record range [fromIndex, toIndex]. */
export async function replaceQuarantine(
  db: AnalyticsDb,
  listingId: string,
  source: string,
  range: { fromIndex: number; toIndex: number },
  entries: QuarantineEntry[],
  context: { runId: string; now: Date },
): Promise<void> {
  await db.run('DELETE FROM quarantine WHERE listing_id = $1 AND source = $2 AND record_index BETWEEN $3 AND $4', [
    listingId,
    source,
    range.fromIndex,
    range.toIndex,
  ]);
  if (entries.length === 0) return;
  const appender = await db.appender('quarantine');
  const now = new DuckDBTimestampTZValue(BigInt(context.now.getTime()) * 1000n);
  try {
    for (const entry of entries) {
      appender.appendVarchar(listingId);
      appender.appendVarchar(entry.source);
      appendText(appender, entry.format);
      appender.appendBigInt(BigInt(entry.index));
      if (entry.line === undefined) appender.appendNull();
      else appender.appendBigInt(BigInt(entry.line));
      if (entry.offset === undefined) appender.appendNull();
      else appender.appendBigInt(BigInt(entry.offset));
      appender.appendVarchar(entry.reason);
      appender.appendVarchar(entry.detail);
      appender.appendVarchar(entry.excerpt);
      appender.appendVarchar(context.runId);
      appender.appendTimestampTZ(now);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Drops quarantine rows past the end of a source (left from a longer earlier version). */
export async function trimQuarantine(db: AnalyticsDb, listingId: string, source: string, endIndex: number): Promise<void> {
  await db.run('DELETE FROM quarantine WHERE listing_id = $1 AND source = $2 AND record_index >= $3', [listingId, source, endIndex]);
}

export async function getCheckpoint(db: AnalyticsDb, listingId: string, source: string): Promise<Checkpoint | undefined> {
  const rows = await db.all<{
    fingerprint: string;
    source_format: string;
    redact: boolean;
    next_index: bigint;
    next_line: bigint;
    next_offset: bigint;
    completed: boolean;
  }>('SELECT * FROM ingest_checkpoints WHERE listing_id = $1 AND source = $2', [listingId, source]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    fingerprint: row.fingerprint,
    format: row.source_format,
    redact: row.redact,
    nextIndex: Number(row.next_index),
    nextLine: Number(row.next_line),
    nextOffset: Number(row.next_offset),
    completed: row.completed,
  };
}

export async function saveCheckpoint(
  db: AnalyticsDb,
  listingId: string,
  source: string,
  checkpoint: Checkpoint,
  context: { runId: string; now: Date },
): Promise<void> {
  await db.run(
    `INSERT OR REPLACE INTO ingest_checkpoints
       (listing_id, source, fingerprint, source_format, redact, next_index, next_line, next_offset, completed, run_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::TIMESTAMPTZ)`,
    [
      listingId,
      source,
      checkpoint.fingerprint,
      checkpoint.format,
      checkpoint.redact,
      checkpoint.nextIndex,
      checkpoint.nextLine,
      checkpoint.nextOffset,
      checkpoint.completed,
      context.runId,
      context.now.toISOString(),
    ],
  );
}

export async function startRun(
  db: AnalyticsDb,
  run: { runId: string; listingId: string; sources: string[]; redact: boolean; now: Date },
): Promise<void> {
  await db.run(
    `INSERT INTO ingest_runs (run_id, listing_id, started_at, status, sources, redact)
     VALUES ($1, $2, $3::TIMESTAMPTZ, 'running', $4, $5)`,
    [run.runId, run.listingId, run.now.toISOString(), JSON.stringify(run.sources), run.redact],
  );
}

export async function finishRun(
  db: AnalyticsDb,
  runId: string,
  result: { status: 'completed' | 'interrupted' | 'failed'; totals: RunTotals; error?: string; now: Date },
): Promise<void> {
  const { totals } = result;
  await db.run(
    `UPDATE ingest_runs SET finished_at = $2::TIMESTAMPTZ, status = $3, records = $4, accepted = $5, updated = $6,
       unchanged = $7, quarantined = $8, messages = $9, error = $10 WHERE run_id = $1`,
    [
      runId,
      result.now.toISOString(),
      result.status,
      totals.records,
      totals.accepted,
      totals.updated,
      totals.unchanged,
      totals.quarantined,
      totals.messages,
      result.error ?? null,
    ],
  );
}

export async function listQuarantine(
  db: AnalyticsDb,
  query: { listingId: string; source?: string; reason?: string; limit?: number; offset?: number },
): Promise<QuarantineRow[]> {
  const rows = await db.all<{
    listing_id: string;
    source: string;
    source_format: string | null;
    record_index: bigint;
    line: bigint | null;
    byte_offset: bigint | null;
    reason: string;
    detail: string;
    excerpt: string;
    run_id: string;
    quarantined_at: Date;
  }>(
    `SELECT * FROM quarantine
     WHERE listing_id = $listing AND ($source IS NULL OR source = $source) AND ($reason IS NULL OR reason = $reason)
     ORDER BY source, record_index
     LIMIT $limit OFFSET $offset`,
    {
      listing: query.listingId,
      source: query.source ?? null,
      reason: query.reason ?? null,
      limit: query.limit ?? 1_000_000_000,
      offset: query.offset ?? 0,
    },
  );
  return rows.map((row) => ({
    listingId: row.listing_id,
    source: row.source,
    sourceFormat: row.source_format,
    recordIndex: Number(row.record_index),
    line: row.line === null ? null : Number(row.line),
    byteOffset: row.byte_offset === null ? null : Number(row.byte_offset),
    reason: row.reason,
    detail: row.detail,
    excerpt: row.excerpt,
    runId: row.run_id,
    quarantinedAt: row.quarantined_at,
  }));
}

export interface TableCounts {
  interactions: number;
  messages: number;
  labels: number;
  events: number;
  quarantine: number;
}

/** Row counts of one listing's tables. */
export async function countRows(db: AnalyticsDb, listingId: string): Promise<TableCounts> {
  const [row] = await db.all<TableCounts>(
    `SELECT
       (SELECT count(*) FROM interactions WHERE listing_id = $1)::INTEGER AS interactions,
       (SELECT count(*) FROM messages WHERE listing_id = $1)::INTEGER AS messages,
       (SELECT count(*) FROM labels WHERE listing_id = $1)::INTEGER AS labels,
       (SELECT count(*) FROM interaction_events WHERE listing_id = $1)::INTEGER AS events,
       (SELECT count(*) FROM quarantine WHERE listing_id = $1)::INTEGER AS quarantine`,
    [listingId],
  );
  return row!;
}
