import { csvBoolean, csvHeader, csvNumber, normalizeTimestamp, splitCsvFields, type CsvField } from '../csv.ts';
import { FormatProblem, readCsvRecords, type RawRecord } from '../readers.ts';
import { decodeRaw, type Adapter, type AdapterContext, type Candidate, type QuarantineReason } from './adapter.ts';

/**
 * CSV tables (src/ingest/csv.ts has the column spec): the messages table is the source; the
 * interactions table, when given, is read alongside it and joined by id.
 *
 * Streaming: the rows of one interaction must be contiguous in the messages table (any order
 * of interactions; `seq` orders rows within one). The interactions table is read only as far as
 * needed to find the next id, keeping the rows it passes over until their messages come; tables
 * written in the same order (as `npm run generate` and a `GROUP BY`/`ORDER BY id` export do) hold
 * one row in memory, other orders hold the rows passed over. Interaction rows without messages
 * become records without messages, after the last message group.
 *
 * Nothing half-loaded: a malformed row (wrong field count, broken quoting, invalid UTF-8,
 * oversize) quarantines its whole interaction (the group it belongs to; a row whose id cannot be
 * read counts as part of the group being read), and so does a malformed interactions row.
 */

export interface Row {
  fields: CsvField[];
  line: number;
  text: string;
}
interface RowProblem {
  reason: QuarantineReason;
  detail: string;
  excerpt: string;
}
type ParsedRow = { ok: true; raw: RawRecord; row: Row; id: string | undefined } | { ok: false; raw: RawRecord; problem: RowProblem; id: string | undefined };

interface Table {
  name: string;
  columns: Map<string, number>;
  idIndex: number;
  rows: AsyncIterator<ParsedRow>;
}

async function openTable(
  chunks: AsyncIterable<Buffer>,
  options: { name: 'messages' | 'interactions'; idColumn: string; required: string[]; maxBytes: number; failed: () => Error | undefined },
): Promise<Table | undefined> {
  const records = readCsvRecords(chunks, { maxBytes: options.maxBytes, failed: options.failed })[Symbol.asyncIterator]();
  let header: RawRecord | undefined;
  for (;;) {
    const next = await records.next();
    if (next.done) return undefined;
    if (next.value.bytes.length > 0 || next.value.oversize) {
      header = next.value;
      break;
    }
  }
  const decoded = decodeRaw(header, { maxRecordBytes: options.maxBytes, failed: options.failed });
  if (!decoded.ok) throw new FormatProblem(`${options.name} table: the header row cannot be read (${decoded.detail})`, 'malformed_line');
  const split = splitCsvFields(decoded.text);
  if (!split.ok) throw new FormatProblem(`${options.name} table: header row: ${split.detail}`, 'malformed_line');
  const parsed = csvHeader(split.fields, options.required);
  if (!parsed.ok) {
    const names = split.fields.map((field) => (field ?? '').trim().toLowerCase());
    const hint =
      options.name === 'messages' && names.includes('id') && !names.includes('interaction_id')
        ? ' (this looks like an interactions table: pass it with --interactions, next to its messages table)'
        : '';
    throw new FormatProblem(`${options.name} table: ${parsed.detail}${hint}`, 'malformed_line');
  }
  const { columns } = parsed;
  const idIndex = columns.get(options.idColumn)!;
  const context = { maxRecordBytes: options.maxBytes, failed: options.failed };
  async function* rows(): AsyncGenerator<ParsedRow> {
    for (;;) {
      const next = await records.next();
      if (next.done) return;
      const raw = next.value;
      if (raw.bytes.length === 0 && !raw.oversize && !raw.truncated) continue;
      const where = `${options.name} table line ${raw.line}`;
      const text = decodeRaw(raw, context);
      if (!text.ok) {
        yield { ok: false, raw, problem: { reason: text.reason, detail: `${where}: ${text.detail}`, excerpt: text.excerpt }, id: leadingId(text.excerpt, idIndex) };
        continue;
      }
      const fields = splitCsvFields(text.text);
      if (!fields.ok) {
        yield { ok: false, raw, problem: { reason: 'malformed_line', detail: `${where}: ${fields.detail}`, excerpt: text.text }, id: leadingId(text.text, idIndex) };
        continue;
      }
      const id = fields.fields[idIndex] ?? undefined;
      if (fields.fields.length !== columns.size) {
        const detail = `${where}: ${fields.fields.length} fields, the header has ${columns.size}`;
        yield { ok: false, raw, problem: { reason: 'malformed_line', detail, excerpt: text.text }, id };
        continue;
      }
      yield { ok: true, raw, row: { fields: fields.fields, line: raw.line, text: text.text }, id };
    }
  }
  return { name: options.name, columns, idIndex, rows: rows() };
}

/** The id field of a damaged row, when the fields up to it can still be split. */
function leadingId(text: string, idIndex: number): string | undefined {
  const whole = splitCsvFields(text);
  if (whole.ok) return whole.fields[idIndex] ?? undefined;
  const quote = text.indexOf('"');
  if (quote < 0) return undefined;
  const prefix = splitCsvFields(text.slice(0, quote));
  // The id field must be complete: followed by at least one more field.
  return prefix.ok && prefix.fields.length > idIndex + 1 ? (prefix.fields[idIndex] ?? undefined) : undefined;
}

const messageColumns: Record<string, string> = {
  role: 'role',
  kind: 'kind',
  channel: 'channel',
  text: 'text',
  transcript: 'transcript',
  message_id: 'id',
  csr_id: 'csrId',
};
const interactionTextColumns: Record<string, string> = {
  customer_id: 'customerId',
  brand: 'brand',
  queue: 'queue',
  status: 'status',
};
const interactionTimeColumns: Record<string, string> = {
  created_at: 'createdAt',
  first_assigned_at: 'firstAssignedAt',
  first_csr_reply_at: 'firstCsrReplyAt',
  ended_at: 'endedAt',
};
const knownMessageColumns = new Set(['interaction_id', 'seq', 'ts', 'attachment', 'labels', 'meta', ...Object.keys(messageColumns)]);
const knownInteractionColumns = new Set([
  'id',
  'csr_ids',
  'external_ids',
  'source_channel',
  'source_app',
  'resolved',
  'abandoned',
  'satisfaction',
  'converted',
  'conversion',
  'labels',
  'events',
  ...Object.keys(interactionTextColumns),
  ...Object.keys(interactionTimeColumns),
]);

class RowError extends Error {}

function jsonColumn(value: string, column: string, line: number): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new RowError(`line ${line}, column ${column}: not valid JSON`);
  }
}

function toMessage(row: Row, columns: Map<string, number>): { message: Record<string, unknown>; seq: number | string | undefined } {
  const message: Record<string, unknown> = {};
  let meta: Record<string, unknown> | undefined;
  let seq: number | string | undefined;
  for (const [name, index] of columns) {
    const value = row.fields[index];
    if (value === null || value === undefined) continue;
    const key = messageColumns[name];
    if (key) message[key] = value;
    else if (name === 'seq') seq = csvNumber(value);
    else if (name === 'ts') message.ts = normalizeTimestamp(value);
    else if (name === 'attachment' || name === 'labels') message[name] = jsonColumn(value, name, row.line);
    else if (name === 'meta') meta = { ...(jsonColumn(value, name, row.line) as Record<string, unknown>), ...meta };
    else if (!knownMessageColumns.has(name)) (meta ??= {})[name] = value;
  }
  if (meta) message.meta = meta;
  return { message, seq };
}

function orderBySeq(rows: Array<{ message: Record<string, unknown>; seq: number | string | undefined; line: number }>): Array<Record<string, unknown>> {
  const given = rows.filter((row) => row.seq !== undefined).length;
  if (given === 0) return rows.map((row) => row.message);
  if (given !== rows.length) throw new RowError('seq is given on some rows of this interaction and not on others');
  const seen = new Set<number>();
  for (const row of rows) {
    if (typeof row.seq !== 'number' || !Number.isInteger(row.seq) || row.seq < 1) throw new RowError(`line ${row.line}, column seq: "${row.seq}" is not a positive integer`);
    if (seen.has(row.seq)) throw new RowError(`line ${row.line}, column seq: ${row.seq} appears twice in this interaction`);
    seen.add(row.seq);
  }
  return [...rows].sort((a, b) => (a.seq as number) - (b.seq as number)).map((row) => row.message);
}

function interactionFields(row: Row, columns: Map<string, number>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  const outcome: Record<string, unknown> = {};
  let labels: Record<string, unknown> | undefined;
  let source: Record<string, unknown> | undefined;
  for (const [name, index] of columns) {
    const value = row.fields[index];
    if (value === null || value === undefined || name === 'id') continue;
    if (interactionTextColumns[name]) record[interactionTextColumns[name]] = value;
    else if (interactionTimeColumns[name]) record[interactionTimeColumns[name]] = normalizeTimestamp(value);
    else if (name === 'csr_ids') record.csrIds = jsonColumn(value, name, row.line);
    else if (name === 'external_ids') record.externalIds = jsonColumn(value, name, row.line);
    else if (name === 'events') record.events = jsonColumn(value, name, row.line);
    else if (name === 'source_channel') (source ??= {}).channel = value;
    else if (name === 'source_app') (source ??= {}).app = value;
    else if (name === 'resolved' || name === 'abandoned' || name === 'converted') outcome[name] = csvBoolean(value);
    else if (name === 'satisfaction') outcome.satisfaction = csvNumber(value);
    else if (name === 'conversion') outcome.conversion = value;
    else if (name === 'labels') labels = { ...(jsonColumn(value, name, row.line) as Record<string, unknown>), ...labels };
    else if (!knownInteractionColumns.has(name)) (labels ??= {})[name] = value;
  }
  if (labels) outcome.labels = labels;
  if (source) record.source = source;
  if (Object.keys(outcome).length > 0) record.outcome = outcome;
  return record;
}

/**
 * One interaction's record from its rows of the messages table and its row of the interactions
 * table, or why it cannot be built (a JSON column that is not JSON, inconsistent `seq`). Shared
 * with the SQL fast path, which builds here the records its rules send back.
 */
export function csvGroupRecord(
  id: string,
  rows: Row[],
  messageColumns: Map<string, number>,
  interaction: { row: Row; columns: Map<string, number> } | undefined,
): { ok: true; value: Record<string, unknown> } | { ok: false; detail: string; excerpt: string } {
  try {
    const record: Record<string, unknown> = { id, ...(interaction ? interactionFields(interaction.row, interaction.columns) : {}) };
    const parsed = rows.map((row) => ({ ...toMessage(row, messageColumns), line: row.line }));
    record.messages = orderBySeq(parsed);
    return { ok: true, value: record };
  } catch (error) {
    if (!(error instanceof RowError)) throw error;
    const excerpt = interaction && /interactions/.test(error.message) ? interaction.row.text : (rows[0]?.text ?? '');
    return { ok: false, detail: `interaction ${id}: ${error.message}`, excerpt };
  }
}

interface Group {
  id: string;
  rows: Row[];
  line: number;
  offset: number;
  problem: RowProblem | undefined;
}

/** The interactions table, read as far as the messages need. */
function createJoin(table: Table) {
  const passed = new Map<string, ParsedRow>();
  const unidentified: ParsedRow[] = [];
  let exhausted = false;
  return {
    async take(id: string): Promise<ParsedRow | undefined> {
      const hit = passed.get(id);
      if (hit) {
        passed.delete(id);
        return hit;
      }
      while (!exhausted) {
        const next = await table.rows.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const row = next.value;
        if (row.id === undefined) unidentified.push(row);
        else if (row.id === id) return row;
        else passed.set(row.id, row);
      }
      return undefined;
    },
    /** What no message group claimed: rows passed over, rows never reached, rows without an id. */
    async *rest(): AsyncGenerator<ParsedRow> {
      yield* passed.values();
      passed.clear();
      while (!exhausted) {
        const next = await table.rows.next();
        if (next.done) exhausted = true;
        else yield next.value;
      }
      yield* unidentified;
    },
  };
}

export const csvAdapter: Adapter = async function* (chunks, context: AdapterContext) {
  const maxBytes = context.maxRecordBytes;
  const messages = await openTable(chunks, { name: 'messages', idColumn: 'interaction_id', required: ['interaction_id', 'role'], maxBytes, failed: context.failed });
  const companion = context.companion;
  const interactionsTable = companion
    ? await openTable(companion.chunks, { name: 'interactions', idColumn: 'id', required: ['id'], maxBytes, failed: companion.failed })
    : undefined;
  const join = interactionsTable ? createJoin(interactionsTable) : undefined;
  let index = 0;
  let end = { line: 1, offset: 0 };

  const candidate = (
    id: string,
    rows: Row[],
    problem: RowProblem | undefined,
    interaction: ParsedRow | undefined,
    place: { line: number; offset: number },
    next: { line: number; offset: number },
  ): Candidate => {
    const at = { index, line: place.line, offset: place.offset, next: { index: index + 1, line: next.line, offset: next.offset } };
    index++;
    if (problem) return { ok: false, ...problem, detail: `interaction ${id}: ${problem.detail}`, at };
    if (interaction && !interaction.ok) return { ok: false, ...interaction.problem, detail: `interaction ${id}: ${interaction.problem.detail}`, at };
    const built = csvGroupRecord(id, rows, messages!.columns, interaction?.ok ? { row: interaction.row, columns: interactionsTable!.columns } : undefined);
    return built.ok ? { ok: true, value: built.value, at } : { ok: false, reason: 'invalid_record', detail: built.detail, excerpt: built.excerpt, at };
  };

  const finish = async (group: Group, next: { line: number; offset: number }): Promise<Candidate> => {
    const interaction = join ? await join.take(group.id) : undefined;
    return candidate(group.id, group.rows, group.problem, interaction, group, next);
  };

  if (messages) {
    let group: Group | undefined;
    for (;;) {
      const next = await messages.rows.next();
      if (next.done) break;
      const parsed = next.value;
      const place = { line: parsed.raw.line, offset: parsed.raw.offset };
      end = { line: parsed.raw.nextLine, offset: parsed.raw.end };
      if (parsed.ok && parsed.id === undefined) {
        // A readable row without an id cannot belong anywhere: its own quarantine entry.
        if (group) yield await finish(group, place);
        group = undefined;
        const at = { index, ...place, next: { index: index + 1, ...end } };
        index++;
        yield { ok: false, reason: 'invalid_record', detail: `messages table line ${parsed.raw.line}: no interaction_id`, excerpt: parsed.row.text, at };
        continue;
      }
      const id = parsed.id ?? group?.id;
      if (id === undefined) {
        const problem = parsed.ok ? undefined : parsed.problem;
        const at = { index, ...place, next: { index: index + 1, ...end } };
        index++;
        if (problem) yield { ok: false, ...problem, at };
        continue;
      }
      if (group && group.id !== id) {
        yield await finish(group, place);
        group = undefined;
      }
      group ??= { id, rows: [], ...place, problem: undefined };
      if (parsed.ok) group.rows.push(parsed.row);
      else group.problem ??= parsed.problem;
    }
    if (group) yield await finish(group, end);
  }
  if (join) {
    for await (const row of join.rest()) {
      if (row.id === undefined) {
        const problem = row.ok ? { reason: 'invalid_record' as const, detail: `interactions table line ${row.raw.line}: no id`, excerpt: row.row.text } : row.problem;
        const at = { index, ...end, next: { index: index + 1, ...end } };
        index++;
        yield { ok: false, ...problem, at };
        continue;
      }
      yield candidate(row.id, [], undefined, row, end, end);
    }
  }
};
