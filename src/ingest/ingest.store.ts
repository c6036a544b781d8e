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
// The Appender's own VARCHAR → TIMESTAMPTZ conversion ignores a zone offset (it read
// 10:00+05:30 as 10:00 UTC), so the instant is computed here: Date.parse for the whole seconds
// (validation guaranteed an ISO 8601 date-time with a zone) plus the fraction to the microsecond,
// as DuckDB's CAST reads it.
export function isoToMicros(value: string): bigint {
  const fraction = /\.(\d+)/.exec(value);
  const whole = fraction ? value.slice(0, fraction.index) + value.slice(fraction.index + fraction[0].length) : value;
  const micros = fraction ? BigInt(fraction[1]!.padEnd(6, '0').slice(0, 6)) : 0n;
  return BigInt(Date.parse(whole)) * 1000n + micros;
}
function appendTs(appender: DuckDBAppender, value: string | undefined) {
  if (value === undefined) appender.appendNull();
  else appender.appendTimestampTZ(new DuckDBTimestampTZValue(isoToMicros(value)));
}
function appendBool(appender: DuckDBAppender, value: boolean | undefined) {
  if (value === undefined) appender.appendNull();
  else appender.appendBoolean(value);
}
function appendInt(appender: DuckDBAppender, value: number | undefined) {
  if (value === undefined) appender.appendNull();
  else appender.appendInteger(value);
}
function appendJson(appender: DuckDBAppender, value: unknown) {
  if (value === undefined) appender.appendNull();
  else appender.appendVarchar(JSON.stringify(value));
}

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
    tables?: { interactions: string; messages: string; labels: string; events: string };
    /** The caller's time slice when the append continues its own synchronous work. */
    slice?: TimeSlice;
  },
): Promise<number> {
  if (items.length === 0) return 0;
  const tables = context.tables ?? { interactions: 'interactions', messages: 'messages', labels: 'labels', events: 'interaction_events' };
  const interactions = await db.appender(tables.interactions);
  const messages = await db.appender(tables.messages);
  const labels = await db.appender(tables.labels);
  const events = await db.appender(tables.events);
  const now = new DuckDBTimestampTZValue(BigInt(context.now.getTime()) * 1000n);
  let messageCount = 0;
  const label = (interactionId: string, seq: number | undefined, kind: string, name: string, value: LabelValue | undefined) => {
    if (value === undefined) return;
    const { num, text } = labelColumns(value);
    labels.appendVarchar(listingId);
    labels.appendVarchar(interactionId);
    appendInt(labels, seq);
    labels.appendVarchar(kind);
    labels.appendVarchar(name);
    if (num === undefined) labels.appendNull();
    else labels.appendDouble(num);
    appendText(labels, text);
    labels.endRow();
  };
  try {
    // Appending is synchronous native work: in a process that also serves requests (the live
    // source in embedded mode) a long batch must let them in between.
    const slice = context.slice ?? createTimeSlice();
    for (const { record, hash, source, format, index, line } of items) {
      if (slice.due()) await slice.pause();
      const outcome = record.outcome;
      const storedMessages = context.storedMessages?.get(record.id) ?? 0;
      interactions.appendVarchar(listingId);
      interactions.appendVarchar(record.id);
      appendText(interactions, record.customerId);
      if (record.csrIds === undefined) interactions.appendNull();
      else interactions.appendList(record.csrIds, LIST(VARCHAR));
      appendJson(interactions, record.externalIds);
      appendText(interactions, record.brand);
      appendText(interactions, record.queue);
      appendText(interactions, record.source?.channel);
      appendText(interactions, record.source?.app);
      appendTs(interactions, record.createdAt);
      appendTs(interactions, record.firstAssignedAt);
      appendTs(interactions, record.firstCsrReplyAt);
      appendTs(interactions, record.endedAt);
      appendText(interactions, record.status);
      appendBool(interactions, outcome?.resolved ?? (record.status === 'resolved' ? true : undefined));
      appendBool(interactions, outcome?.abandoned ?? (record.status === 'abandoned' ? true : undefined));
      if (outcome?.satisfaction === undefined) interactions.appendNull();
      else interactions.appendTinyInt(outcome.satisfaction);
      appendBool(interactions, outcome?.converted);
      appendText(interactions, outcome?.conversion);
      interactions.appendInteger(storedMessages + record.messages.length);
      interactions.appendInteger(record.events?.length ?? 0);
      interactions.appendBoolean(context.redacted);
      interactions.appendVarchar(hash);
      interactions.appendVarchar(source);
      interactions.appendVarchar(format);
      interactions.appendBigInt(BigInt(index));
      if (line === undefined) interactions.appendNull();
      else interactions.appendBigInt(BigInt(line));
      interactions.appendVarchar(context.runId);
      interactions.appendTimestampTZ(now);
      interactions.endRow();

      for (const [position, message] of record.messages.entries()) {
        const seq = storedMessages + position + 1;
        messages.appendVarchar(listingId);
        messages.appendVarchar(record.id);
        messages.appendInteger(seq);
        messages.appendVarchar(message.role);
        messages.appendVarchar(message.kind);
        appendText(messages, message.channel);
        appendTs(messages, message.ts);
        appendText(messages, message.text);
        appendText(messages, message.transcript);
        appendText(messages, message.id);
        appendText(messages, message.csrId);
        appendJson(messages, message.attachment);
        appendJson(messages, message.meta);
        messages.endRow();
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
        events.appendVarchar(listingId);
        events.appendVarchar(record.id);
        events.appendInteger(position + 1);
        events.appendVarchar(event.type);
        appendTs(events, event.ts);
        appendInt(events, event.seq);
        appendText(events, event.name);
        appendText(events, event.from);
        appendText(events, event.to);
        appendText(events, event.csrId);
        appendJson(events, event.data);
        events.endRow();
      }
    }
    for (const appender of [interactions, messages, labels, events]) appender.flushSync();
  } finally {
    for (const appender of [interactions, messages, labels, events]) appender.closeSync();
  }
  return messageCount;
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
