import { randomUUID } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import { AppError } from '../platform/index.ts';
import { openByteSource } from './byte-source.ts';
import { csvHeader, csvInteractionColumns, csvMessageColumns, splitCsvFields, type CsvField } from './csv.ts';
import { readCsvRecords, readLines } from './readers.ts';

/**
 * CSV tables (csv.ts) for the SQL fast path: DuckDB's own CSV reader (`read_csv`, all columns
 * VARCHAR, an unquoted empty field NULL and `""` the empty string, as csv.ts defines them)
 * stages both tables whole (within DuckDB's memory limit, spilling to its temp directory), and
 * the records are then laid out chunk by chunk in the intermediate form of fast-rules.ts.
 *
 * DuckDB's reader is used only where it reads exactly as csv.adapter.ts does; `planCsv` checks
 * that and otherwise returns undefined, and the caller reads the file on the JS path:
 *
 * - known columns only, each once, the required ones present (unknown columns go to meta/labels);
 * - DuckDB reads the file without error (a malformed row, invalid UTF-8, a truncated gzip);
 * - one physical line per row and no blank line (so a row's line is its number + 1);
 * - every row has an interaction_id, and the rows of an interaction are contiguous;
 * - the interactions table has each id once;
 * - every field is split as csv.ts splits it (DuckDB accepts `ab"c`; csv.ts does not), checked by
 *   one pass over the bytes.
 *
 * Records the rules do not accept go back to the JS path with their rows re-read from the file.
 */

export interface CsvPlan {
  /** csv: rows are re-read from the file when needed; parquet: rows are only what DuckDB returns. */
  kind: 'csv' | 'parquet';
  /** A row's line is its number plus this (the CSV header is line 1; a Parquet row's "line" is its number). */
  lineBase: number;
  messages: CsvTable;
  interactions: CsvTable | undefined;
  /** Message groups (records with messages), in order of their first row. */
  groups: number;
  /** Rows of the interactions table whose id has no messages: records after the groups. */
  leftovers: number;
  /** Where the messages table ends (the place of the leftover records). */
  end: { line: number; offset: number };
}

export interface CsvTable {
  path: string;
  /** Column names in file order. */
  columns: string[];
  index: Map<string, number>;
  rows: number;
  /** Byte offset of every LINE_STEP-th line (plain files), for re-reading rows. */
  lineOffsets: number[] | undefined;
}

const LINE_STEP = 1024;
// csv.ts normalizeTimestamp's pattern (SQL-style timestamps).
const SQL_TIMESTAMP = '(\\d{4}-\\d{2}-\\d{2})[ T](\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?)(Z|[+-]\\d{2}(?::?\\d{2})?)';

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

async function readHeader(path: string, required: string[], known: readonly string[]): Promise<{ columns: string[]; index: Map<string, number> } | undefined> {
  const source = await openByteSource(path);
  for await (const raw of readCsvRecords(source.chunks, { maxBytes: 1024 * 1024, failed: source.error })) {
    if (raw.oversize || raw.truncated) return undefined;
    if (raw.bytes.length === 0) return undefined;
    const split = splitCsvFields(raw.bytes.toString('utf8'));
    if (!split.ok) return undefined;
    const header = csvHeader(split.fields, required);
    if (!header.ok) return undefined;
    const columns = [...header.columns.keys()];
    if (columns.some((name) => !known.includes(name))) return undefined;
    return { columns, index: header.columns };
  }
  return undefined;
}

/** Stages one table with DuckDB's reader; false when it cannot read it exactly. */
async function stageTable(db: AnalyticsDb, table: string, path: string, columns: string[]): Promise<boolean> {
  const spec = `{${columns.map((name) => `${quote(name)}: 'VARCHAR'`).join(', ')}}`;
  try {
    await db.run(
      `CREATE OR REPLACE TABLE ${table} AS
       SELECT ordinality AS r, * FROM read_csv(${quote(path)}, header = true, columns = ${spec}, auto_detect = false, delim = ',',
         quote = '"', escape = '"', allow_quoted_nulls = false, strict_mode = true) WITH ORDINALITY`,
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * One pass over a table's bytes that says whether csv.ts would read each row as DuckDB does, and
 * counts the lines: a quote may only open a field or close it (or be doubled inside it), no quoted
 * field spans lines, and no line is blank. Also records every LINE_STEP-th line's byte offset (plain
 * files), to re-read rows later.
 */
async function scanTable(path: string): Promise<{ lines: number; bytes: number; offsets: number[] | undefined } | undefined> {
  const source = await openByteSource(path);
  const offsets: number[] | undefined = source.compressed ? undefined : [0];
  const FIELD_START = 0;
  const UNQUOTED = 1;
  const QUOTED = 2;
  const AFTER_QUOTE = 3;
  let state = FIELD_START;
  let lineStart = true;
  let lines = 0;
  let bytes = 0;
  let last = -1;
  for await (const chunk of source.chunks) {
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index]!;
      if (byte === 10) {
        // A line break inside a quoted field, or a blank line (a lone CR counts as blank).
        if (state === QUOTED || lineStart) return undefined;
        lines++;
        if (offsets && lines % LINE_STEP === 0) offsets.push(bytes + index + 1);
        state = FIELD_START;
        lineStart = true;
        continue;
      }
      if (byte === 13 && state !== QUOTED) {
        // Only as the CR of a CRLF.
        if (chunk[index + 1] !== 10 && index + 1 < chunk.length) return undefined;
        continue;
      }
      lineStart = false;
      if (state === FIELD_START) state = byte === 0x22 ? QUOTED : byte === 0x2c ? FIELD_START : UNQUOTED;
      else if (state === UNQUOTED) {
        if (byte === 0x22) return undefined;
        if (byte === 0x2c) state = FIELD_START;
      } else if (state === QUOTED) {
        if (byte === 0x22) state = AFTER_QUOTE;
      } else if (byte === 0x22) state = QUOTED;
      else if (byte === 0x2c) state = FIELD_START;
      else return undefined;
    }
    bytes += chunk.length;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  if (source.error() || state === QUOTED) return undefined;
  return { lines: lines + (bytes > 0 && last !== 10 ? 1 : 0), bytes, offsets };
}

/** The raw text and byte offset of the given lines (1-based) of a table. */
export async function readRawLines(table: CsvTable, wanted: number[]): Promise<Map<number, { text: string; offset: number }>> {
  const result = new Map<number, { text: string; offset: number }>();
  if (wanted.length === 0) return result;
  const sorted = [...new Set(wanted)].sort((a, b) => a - b);
  if (table.lineOffsets) {
    // Plain file: read from the indexed line before each run of wanted lines.
    const handle = await open(table.path, 'r');
    try {
      let at = 0;
      while (at < sorted.length) {
        const first = sorted[at]!;
        const step = Math.floor((first - 1) / LINE_STEP);
        let line = step * LINE_STEP + 1;
        let offset = table.lineOffsets[step] ?? 0;
        const stream = handle.createReadStream({ start: offset, autoClose: false, highWaterMark: 64 * 1024 });
        for await (const raw of readLines(stream, { maxBytes: 16 * 1024 * 1024, startOffset: offset, startLine: line })) {
          line = raw.line;
          offset = raw.offset;
          if (line === sorted[at]) {
            result.set(line, { text: raw.bytes.toString('utf8'), offset });
            at++;
            if (at >= sorted.length || sorted[at]! - line > LINE_STEP) break;
          }
        }
        stream.destroy();
      }
    } finally {
      await handle.close();
    }
    return result;
  }
  const source = await openByteSource(table.path);
  let at = 0;
  for await (const raw of readLines(source.chunks, { maxBytes: 16 * 1024 * 1024 })) {
    if (raw.line === sorted[at]) {
      result.set(raw.line, { text: raw.bytes.toString('utf8'), offset: raw.offset });
      at++;
      if (at >= sorted.length) break;
    }
  }
  return result;
}

/**
 * Stages the tables and checks that the fast path reads them exactly; undefined means: read
 * them on the JS path.
 */
export async function planCsv(db: AnalyticsDb, messagesPath: string, interactionsPath: string | undefined): Promise<CsvPlan | undefined> {
  await attachScratch(db);
  const messageHeader = await readHeader(messagesPath, ['interaction_id', 'role'], csvMessageColumns);
  if (!messageHeader) return undefined;
  const interactionHeader = interactionsPath ? await readHeader(interactionsPath, ['id'], csvInteractionColumns) : undefined;
  if (interactionsPath && !interactionHeader) return undefined;
  if (!(await stageTable(db, 'lw_scratch.csv_m', messagesPath, messageHeader.columns))) return undefined;
  if (interactionsPath && !(await stageTable(db, 'lw_scratch.csv_i', interactionsPath, interactionHeader!.columns))) return undefined;
  if (!interactionsPath) await db.run('CREATE OR REPLACE TABLE lw_scratch.csv_i AS SELECT NULL::BIGINT AS r, NULL::VARCHAR AS id LIMIT 0');

  const [facts] = await db.all<{ rows: number; null_ids: number; scattered: number; groups: number }>(
    `SELECT (SELECT count(*) FROM lw_scratch.csv_m)::INTEGER AS rows,
            (SELECT count(*) FROM lw_scratch.csv_m WHERE interaction_id IS NULL)::INTEGER AS null_ids,
            (SELECT count(*) FROM (SELECT interaction_id FROM lw_scratch.csv_m GROUP BY 1 HAVING max(r) - min(r) + 1 <> count(*)))::INTEGER AS scattered,
            (SELECT count(DISTINCT interaction_id) FROM lw_scratch.csv_m)::INTEGER AS groups`,
  );
  if (facts!.null_ids > 0 || facts!.scattered > 0) return undefined;
  const [interactionFacts] = await db.all<{ rows: number; null_ids: number; duplicates: number }>(
    `SELECT count(*)::INTEGER AS rows, count(*) FILTER (WHERE id IS NULL)::INTEGER AS null_ids, (count(*) - count(DISTINCT id))::INTEGER AS duplicates
     FROM lw_scratch.csv_i`,
  );
  if (interactionFacts!.null_ids > 0 || interactionFacts!.duplicates > 0) return undefined;

  // Read as csv.ts would, one physical line per row: a row's line is then its number + 1.
  const messageScan = await scanTable(messagesPath);
  if (!messageScan || messageScan.lines !== facts!.rows + 1) return undefined;
  const interactionScan = interactionsPath ? await scanTable(interactionsPath) : undefined;
  if (interactionsPath && (!interactionScan || interactionScan.lines !== interactionFacts!.rows + 1)) return undefined;

  const messages: CsvTable = { path: messagesPath, ...messageHeader, rows: facts!.rows, lineOffsets: messageScan.offsets };
  const interactions: CsvTable | undefined = interactionsPath
    ? { path: interactionsPath, ...interactionHeader!, rows: interactionFacts!.rows, lineOffsets: interactionScan!.offsets }
    : undefined;

  await db.run(
    `CREATE OR REPLACE TABLE lw_scratch.csv_g AS
     SELECT (row_number() OVER (ORDER BY first_r) - 1)::BIGINT AS gidx, * FROM (
       SELECT interaction_id AS id, min(r) AS first_r, max(r) AS last_r, count(*)::INTEGER AS n FROM lw_scratch.csv_m GROUP BY 1)`,
  );
  const [left] = await db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM lw_scratch.csv_i WHERE id NOT IN (SELECT id FROM lw_scratch.csv_g)');
  const end = facts!.rows === 0 ? { line: 1, offset: 0 } : { line: facts!.rows + 2, offset: messageScan.bytes };
  return { kind: 'csv', lineBase: 1, messages, interactions, groups: facts!.groups, leftovers: left!.n, end };
}

const column = (table: CsvTable | undefined, name: string, alias: string) => (table?.index.has(name) ? `${alias}."${name}"` : 'NULL::VARCHAR');

/**
 * Lays out records [from, to) of the plan (groups, then leftovers) in the intermediate form:
 * lw_ir_rec, and returns the query of their messages.
 */
export async function layoutCsvChunk(db: AnalyticsDb, plan: CsvPlan, from: number, to: number): Promise<string> {
  const m = (name: string) => column(plan.messages, name, 'm');
  const i = (name: string) => column(plan.interactions, name, 'i');
  // JSON columns stay as written (the rules read them with json_transform, and lw_json with
  // JSON.parse); what DuckDB's parser alone would accept (trailing commas) sends the record to
  // the JS path. meta, which may be stored as it is, is rewritten in DuckDB's canonical form.
  const bad = (value: string) => `coalesce(lw_trailing_comma(${value}), false)`;
  const canonical = (value: string) => `CASE WHEN ${value} IS NOT NULL THEN TRY(json(${value})) END`;
  // Rows of the chunk's groups: contiguous, so a range of row numbers (constants, so that DuckDB
  // skips the other row groups), with their group and their position in it.
  const [range] = await db.all<{ low: number; high: number }>(
    `SELECT coalesce(min(first_r), 0)::BIGINT AS low, coalesce(max(last_r), -1)::BIGINT AS high FROM lw_scratch.csv_g WHERE gidx >= ${from} AND gidx < ${to}`,
  );
  await db.run(
    `CREATE OR REPLACE TEMP TABLE lw_csv_rows AS
     SELECT g.gidx AS idx, (m.r - g.first_r + 1)::INTEGER AS position, lw_csv_num(${m('seq')}) AS seq_num, m.*
     FROM lw_scratch.csv_m m JOIN (SELECT * FROM lw_scratch.csv_g WHERE gidx >= ${from} AND gidx < ${to}) g ON g.id = m.interaction_id
     WHERE m.r BETWEEN ${Number(range!.low)} AND ${Number(range!.high)}`,
  );
  // seq: given on every row of a group (positive integers, each once) orders it; given on none,
  // the file order does; anything else is for the JS path to explain. in_order: the given seq
  // is the row's position already (as exports write it), so no sort is needed.
  await db.run(
    `CREATE OR REPLACE TEMP TABLE lw_csv_seq AS
     SELECT idx, count(seq) AS given, count(*) AS n,
       count(seq) = 0 OR (count(seq_num) = count(*) AND bool_and(seq_num = floor(seq_num) AND seq_num >= 1) AND count(DISTINCT seq_num) = count(*)) AS ok,
       count(seq) = 0 OR bool_and(seq_num = position) AS in_order
     FROM (SELECT idx, position, seq_num, ${m('seq')} AS seq FROM lw_csv_rows m)
     GROUP BY idx`,
  );
  const [order] = await db.all<{ sorted: boolean }>('SELECT coalesce(bool_and(in_order OR NOT ok), true) AS sorted FROM lw_csv_seq');
  const jsonColumns = ['csr_ids', 'external_ids', 'labels', 'events'];
  const badJson = jsonColumns.map((name) => bad(i(name))).join(' OR ');
  const outcomeColumns = ['resolved', 'abandoned', 'satisfaction', 'converted', 'conversion', 'labels'].filter((name) => plan.interactions?.index.has(name));
  const recordColumns = `x.idx, x.line, x.off,
       x.seq_ok AND NOT (${badJson}) AS pre_ok,
       to_json(x.id) AS id_j, NULL::JSON AS listing_j, to_json(${i('customer_id')}) AS customer_j,
       ${i('csr_ids')} AS csr_ids_j, ${i('external_ids')} AS external_ids_j,
       to_json(${i('brand')}) AS brand_j, to_json(${i('queue')}) AS queue_j,
       (${i('source_channel')} IS NOT NULL OR ${i('source_app')} IS NOT NULL) AS source_present, true AS source_keys_ok,
       to_json(${i('source_channel')}) AS source_channel_j, to_json(${i('source_app')}) AS source_app_j,
       lw_csv_ts(${i('created_at')}) AS created_j, lw_csv_ts(${i('first_assigned_at')}) AS assigned_j,
       lw_csv_ts(${i('first_csr_reply_at')}) AS replied_j, lw_csv_ts(${i('ended_at')}) AS ended_j, to_json(${i('status')}) AS status_j,
       ${outcomeColumns.length > 0 ? `coalesce(${outcomeColumns.map(i).join(', ')}) IS NOT NULL` : 'false'} AS outcome_present, true AS outcome_keys_ok,
       lw_csv_bool(${i('resolved')}) AS resolved_j, lw_csv_bool(${i('abandoned')}) AS abandoned_j, lw_csv_number(${i('satisfaction')}) AS satisfaction_j,
       lw_csv_bool(${i('converted')}) AS converted_j, to_json(${i('conversion')}) AS conversion_j, ${i('labels')} AS outcome_labels_j,
       true AS messages_ok, x.n::INTEGER AS n_messages, ${i('events')} AS events_j`;
  const parts: string[] = [];
  if (from < plan.groups) {
    parts.push(`SELECT ${recordColumns} FROM (
      SELECT g.gidx AS idx, g.first_r + ${plan.lineBase} AS line, NULL::BIGINT AS off, g.id, g.n, s.ok AS seq_ok, g.id AS gid
      FROM lw_scratch.csv_g g JOIN lw_csv_seq s ON s.idx = g.gidx WHERE g.gidx >= ${from} AND g.gidx < ${to}) x
      LEFT JOIN lw_scratch.csv_i i ON i.id = x.gid`);
  }
  if (to > plan.groups) {
    parts.push(`SELECT ${recordColumns} FROM (
      SELECT ${plan.groups} + row_number() OVER (ORDER BY i.r) - 1 AS idx, ${plan.end.line} AS line, ${plan.end.offset}::BIGINT AS off,
        i.id, 0 AS n, true AS seq_ok, i.id AS gid
      FROM lw_scratch.csv_i i WHERE i.id NOT IN (SELECT id FROM lw_scratch.csv_g)) x
      JOIN lw_scratch.csv_i i ON i.id = x.gid WHERE x.idx >= ${from} AND x.idx < ${to}`);
  }
  await db.run(`CREATE OR REPLACE TEMP TABLE lw_ir_rec AS ${parts.join(' UNION ALL ')}`);
  const jsonMessageColumns = ['attachment', 'labels', 'meta'];
  return `
    SELECT idx, ${order!.sorted ? 'position' : 'row_number() OVER (PARTITION BY idx ORDER BY CASE WHEN given > 0 THEN seq_num END, r)::INTEGER'} AS seq,
      NOT (${jsonMessageColumns.map((name) => bad(m(name))).join(' OR ')}) AND (${m('meta')} IS NULL OR ${canonical(m('meta'))} IS NOT NULL) AS keys_ok,
      to_json(${m('role')}) AS role_j, to_json(${m('text')}) AS text_j, lw_csv_ts(${m('ts')}) AS ts_j, to_json(${m('channel')}) AS channel_j,
      to_json(${m('kind')}) AS kind_j, to_json(${m('message_id')}) AS id_j, to_json(${m('csr_id')}) AS csr_id_j,
      to_json(${m('transcript')}) AS transcript_j, ${m('attachment')} AS attachment_j, ${m('labels')} AS labels_j, ${canonical(m('meta'))} AS meta_j
    FROM (SELECT m.*, s.given FROM lw_csv_rows m JOIN lw_csv_seq s ON s.idx = m.idx) m`;
}

/** The rows (fields in file order, line) of records the rules sent back, for the JS path. */
export async function csvRecordRows(
  db: AnalyticsDb,
  plan: CsvPlan,
  indexes: number[],
): Promise<Map<number, { id: string; rows: Array<{ fields: CsvField[]; line: number }>; interaction: { fields: CsvField[]; line: number } | undefined }>> {
  const result = new Map<number, { id: string; rows: Array<{ fields: CsvField[]; line: number }>; interaction: { fields: CsvField[]; line: number } | undefined }>();
  if (indexes.length === 0) return result;
  const list = indexes.join(', ');
  const messageRows = await db.all<Record<string, string | null> & { idx: bigint; r: bigint }>(`SELECT * FROM lw_csv_rows WHERE idx IN (${list}) ORDER BY r`);
  for (const row of messageRows) {
    const idx = Number(row.idx);
    const entry = result.get(idx) ?? { id: row.interaction_id!, rows: [], interaction: undefined };
    entry.rows.push({ fields: plan.messages.columns.map((name) => row[name] ?? null), line: Number(row.r) + plan.lineBase });
    result.set(idx, entry);
  }
  const interactionRows = await db.all<Record<string, string | null> & { idx: bigint; r: bigint }>(
    `SELECT x.idx, i.* FROM lw_ir_rec x JOIN lw_scratch.csv_i i ON i.id = lw_str(x.id_j) WHERE x.idx IN (${list})`,
  );
  for (const row of interactionRows) {
    const idx = Number(row.idx);
    const entry = result.get(idx) ?? { id: row.id!, rows: [], interaction: undefined };
    entry.interaction = plan.interactions ? { fields: plan.interactions.columns.map((name) => row[name] ?? null), line: Number(row.r) + plan.lineBase } : undefined;
    result.set(idx, entry);
  }
  return result;
}

/**
 * Parquet tables with the CSV tables' columns (csv.ts), read by DuckDB's read_parquet: each value
 * becomes the text the CSV field would hold (booleans true/false, numbers as written, timestamps
 * ISO 8601 in UTC to the microsecond, a naive timestamp taken as UTC, lists, structs and maps as
 * JSON), so the same rules apply. Column names match case-insensitively; an unknown column, a
 * missing required one, rows of one interaction that are not contiguous or an interaction id
 * that repeats are refused with a message, since there is no JS path to fall back on. A row's
 * "line" in quarantine rows is its 1-based row number.
 */
export async function planParquet(db: AnalyticsDb, messagesPath: string, interactionsPath: string | undefined): Promise<CsvPlan> {
  await attachScratch(db);
  const stage = async (table: string, path: string, what: string, known: readonly string[], required: string[]): Promise<CsvTable> => {
    let described: Array<{ column_name: string; column_type: string }>;
    try {
      described = await db.all(`DESCRIBE SELECT * FROM read_parquet(${quote(path)})`);
    } catch (error) {
      throw new AppError('validation_failed', `cannot read ${path} as Parquet: ${error instanceof Error ? error.message : String(error)}`);
    }
    const columns: string[] = [];
    const projections: string[] = [];
    for (const { column_name: name, column_type: type } of described) {
      const lower = name.toLowerCase();
      if (!known.includes(lower)) {
        throw new AppError('validation_failed', `the Parquet ${what} table ${path} has a column "${name}" that is not one of ${known.join(', ')}`);
      }
      if (columns.includes(lower)) throw new AppError('validation_failed', `the Parquet ${what} table ${path} names column "${lower}" twice`);
      columns.push(lower);
      const value = `"${name.replace(/"/g, '""')}"`;
      const text =
        type === 'TIMESTAMP WITH TIME ZONE'
          ? `strftime(timezone('UTC', ${value}), '%Y-%m-%dT%H:%M:%S.%fZ')`
          : /^TIMESTAMP/.test(type)
            ? `strftime(CAST(${value} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%fZ')`
            : /(\[\]|^STRUCT|^MAP|^UNION|^JSON$)/.test(type)
              ? `CAST(to_json(${value}) AS VARCHAR)`
              : `CAST(${value} AS VARCHAR)`;
      projections.push(`${text} AS "${lower}"`);
    }
    const missing = required.filter((name) => !columns.includes(name));
    if (missing.length > 0) throw new AppError('validation_failed', `the Parquet ${what} table ${path} lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
    await db.run(`CREATE OR REPLACE TABLE ${table} AS SELECT ordinality AS r, ${projections.join(', ')} FROM read_parquet(${quote(path)}) WITH ORDINALITY`);
    const [count] = await db.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${table}`);
    return { path, columns, index: new Map(columns.map((name, position) => [name, position])), rows: count!.n, lineOffsets: undefined };
  };
  const messages = await stage('lw_scratch.csv_m', messagesPath, 'messages', csvMessageColumns, ['interaction_id', 'role']);
  const interactions = interactionsPath ? await stage('lw_scratch.csv_i', interactionsPath, 'interactions', csvInteractionColumns, ['id']) : undefined;
  if (!interactionsPath) await db.run('CREATE OR REPLACE TABLE lw_scratch.csv_i AS SELECT NULL::BIGINT AS r, NULL::VARCHAR AS id LIMIT 0');
  const [facts] = await db.all<{ null_ids: number; scattered: number; groups: number; null_interaction_ids: number; duplicates: number }>(
    `SELECT (SELECT count(*) FROM lw_scratch.csv_m WHERE interaction_id IS NULL)::INTEGER AS null_ids,
            (SELECT count(*) FROM (SELECT interaction_id FROM lw_scratch.csv_m GROUP BY 1 HAVING max(r) - min(r) + 1 <> count(*)))::INTEGER AS scattered,
            (SELECT count(DISTINCT interaction_id) FROM lw_scratch.csv_m)::INTEGER AS groups,
            (SELECT count(*) FILTER (WHERE id IS NULL) FROM lw_scratch.csv_i)::INTEGER AS null_interaction_ids,
            (SELECT count(*) - count(DISTINCT id) FROM lw_scratch.csv_i)::INTEGER AS duplicates`,
  );
  if (facts!.null_ids > 0) throw new AppError('validation_failed', `${facts!.null_ids} rows of ${messagesPath} have no interaction_id`);
  if (facts!.scattered > 0) throw new AppError('validation_failed', `the rows of ${facts!.scattered} interactions in ${messagesPath} are not contiguous (sort the table by interaction, then seq)`);
  if (facts!.null_interaction_ids > 0 || facts!.duplicates > 0) throw new AppError('validation_failed', `every row of ${interactionsPath} needs an id of its own`);
  await db.run(
    `CREATE OR REPLACE TABLE lw_scratch.csv_g AS
     SELECT (row_number() OVER (ORDER BY first_r) - 1)::BIGINT AS gidx, * FROM (
       SELECT interaction_id AS id, min(r) AS first_r, max(r) AS last_r, count(*)::INTEGER AS n FROM lw_scratch.csv_m GROUP BY 1)`,
  );
  const [left] = await db.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM lw_scratch.csv_i WHERE id NOT IN (SELECT id FROM lw_scratch.csv_g)');
  return { kind: 'parquet', lineBase: 0, messages, interactions, groups: facts!.groups, leftovers: left!.n, end: { line: messages.rows + 1, offset: 0 } };
}

/** Drops what planCsv staged. */
export async function dropCsvPlan(db: AnalyticsDb): Promise<void> {
  const scratch = scratchFiles.get(db.connection);
  if (!scratch) return;
  scratchFiles.delete(db.connection);
  await db.run('DETACH DATABASE IF EXISTS lw_scratch');
  for (const suffix of ['', '.wal']) await rm(`${scratch}${suffix}`, { force: true });
}

const scratchFiles = new WeakMap<object, string>();

/**
 * The staged tables live in a scratch database of the instance, which every connection sees: a
 * file in the temp directory, deleted after the ingest. A file rather than memory: DuckDB stores
 * it compressed, where a large table in memory would spill to its temp files uncompressed.
 */
async function attachScratch(db: AnalyticsDb): Promise<void> {
  if (scratchFiles.has(db.connection)) return;
  const file = path.join(os.tmpdir(), `loopwise-scratch-${process.pid}-${randomUUID()}.duckdb`);
  await db.run(`ATTACH ${quote(file)} AS lw_scratch`);
  scratchFiles.set(db.connection, file);
}

const prepared = new WeakSet<object>();

export async function ensureCsvMacros(db: AnalyticsDb): Promise<void> {
  if (prepared.has(db.connection)) return;
  for (const macro of CSV_MACROS) await db.run(`CREATE OR REPLACE TEMP MACRO ${macro}`);
  prepared.add(db.connection);
}

/** Macros of the CSV layout (csv.ts's conversions); TEMP, so created once per connection. */
const CSV_MACROS = [
  // csvNumber: a number when it looks like one (spaces only around it: other blanks leave it a string here, and the JS path decides).
  `lw_csv_num(v) AS CASE WHEN regexp_full_match(v, '[ ]*-?[0-9]+(?:\\.[0-9]+)?[ ]*') THEN TRY_CAST(trim(v) AS DOUBLE) END`,
  `lw_csv_number(v) AS CASE WHEN lw_csv_num(v) IS NOT NULL THEN CAST(lw_csv_num(v) AS VARCHAR)::JSON ELSE to_json(v) END`,
  // csvBoolean: true/t/1/yes/y and false/f/0/no/n (trimmed, any case); others stay strings.
  `lw_csv_bool(v) AS CASE WHEN lower(trim(v)) IN ('true', 't', '1', 'yes', 'y') THEN 'true'::JSON WHEN lower(trim(v)) IN ('false', 'f', '0', 'no', 'n') THEN 'false'::JSON ELSE to_json(v) END`,
  // normalizeTimestamp: the SQL form '2024-01-05 10:00:00+00' becomes ISO 8601.
  // Only a space separator or a zone without its colon changes anything; most values are ISO already.
  `lw_csv_ts(v) AS to_json(CASE WHEN (contains(v, ' ') OR regexp_matches(v, '[+-][0-9]{2}(?:[0-9]{2})?$')) AND regexp_full_match(v, '${SQL_TIMESTAMP}')
     THEN regexp_extract(v, '${SQL_TIMESTAMP}', 1) || 'T' || regexp_extract(v, '${SQL_TIMESTAMP}', 2) || CASE
       WHEN regexp_extract(v, '${SQL_TIMESTAMP}', 3) = 'Z' THEN 'Z'
       WHEN strlen(regexp_extract(v, '${SQL_TIMESTAMP}', 3)) = 3 THEN regexp_extract(v, '${SQL_TIMESTAMP}', 3) || ':00'
       WHEN strlen(regexp_extract(v, '${SQL_TIMESTAMP}', 3)) = 5 THEN substr(regexp_extract(v, '${SQL_TIMESTAMP}', 3), 1, 3) || ':' || substr(regexp_extract(v, '${SQL_TIMESTAMP}', 3), 4, 2)
       ELSE regexp_extract(v, '${SQL_TIMESTAMP}', 3) END
     ELSE v END)`,
];
